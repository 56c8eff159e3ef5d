//! Command arguments, checked as QEMU's argument visitor checks them.

use super::fast::Pairs;
use super::{QmpError, generic};
use serde_json::{Map, Value};

/// Where the arguments are: a parsed object, or the fast path's pairs.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    Map(&'a Map<String, Value>),
    Pairs(&'a Pairs<'a>),
}

/// QEMU's argument visitor: members are checked in their declared order,
/// then any member left over is unexpected.
pub(super) struct Args<'a> {
    map: Source<'a>,
    /// The members asked for so far (no command has more than this).
    known: [&'static str; MAX_KNOWN],
    count: usize,
}

const MAX_KNOWN: usize = 4;

impl<'a> Args<'a> {
    pub(super) fn new(map: Source<'a>) -> Self {
        Args {
            map,
            known: [""; MAX_KNOWN],
            count: 0,
        }
    }

    pub(super) fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        debug_assert!(self.count < MAX_KNOWN, "more arguments than MAX_KNOWN");
        if let Some(slot) = self.known.get_mut(self.count) {
            *slot = name;
            self.count += 1;
        }
        match self.map {
            Source::Map(m) => m.get(name),
            Source::Pairs(p) => p.get(name),
        }
    }

    /// A 64-bit signed integer: 2^63 and beyond, fractions and non-numbers
    /// are of the wrong type.
    pub(super) fn opt_int(&mut self, name: &'static str) -> Result<Option<i64>, QmpError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                generic(format!(
                    "Invalid parameter type for '{name}', expected: integer"
                ))
            }),
        }
    }

    pub(super) fn int(&mut self, name: &'static str) -> Result<i64, QmpError> {
        self.opt_int(name)?
            .ok_or_else(|| generic(format!("Parameter '{name}' is missing")))
    }

    pub(super) fn opt_str(&mut self, name: &'static str) -> Result<Option<String>, QmpError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(generic(format!(
                "Invalid parameter type for '{name}', expected: string"
            ))),
        }
    }

    /// `qmp_capabilities`' `enable`: a list of capabilities, none of which
    /// this monitor offers.
    /// `enable`, checked element by element as QEMU's visitor does (before
    /// the command runs); whether it asks for `oob`.
    pub(super) fn capabilities(&mut self) -> Result<bool, QmpError> {
        match self.get("enable") {
            None => Ok(false),
            Some(Value::Array(caps)) => {
                let mut oob = false;
                for (i, c) in caps.iter().enumerate() {
                    match c {
                        Value::String(c) if c == "oob" => oob = true,
                        // QEMU 7.2's own text: its visitor names a list
                        // element of an enum 'null'.
                        Value::String(c) => {
                            return Err(generic(format!(
                                "Parameter 'null' does not accept value '{c}'"
                            )));
                        }
                        _ => {
                            return Err(generic(format!(
                                "Invalid parameter type for 'enable[{i}]', expected: string"
                            )));
                        }
                    }
                }
                Ok(oob)
            }
            Some(_) => Err(generic(
                "Invalid parameter type for 'enable', expected: array",
            )),
        }
    }

    pub(super) fn done(self) -> Result<(), QmpError> {
        let known = &self.known[..self.count];
        // The first unexpected member in the map's (sorted) order; the
        // pairs' keys are distinct, so their least is that one.
        let unexpected = match self.map {
            Source::Map(m) => m.keys().map(String::as_str).find(|k| !known.contains(k)),
            Source::Pairs(p) => p.keys().filter(|k| !known.contains(k)).min(),
        };
        match unexpected {
            Some(k) => Err(generic(format!("Parameter '{k}' is unexpected"))),
            None => Ok(()),
        }
    }
}
