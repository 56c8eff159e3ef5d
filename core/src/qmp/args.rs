//! Command arguments, checked as QEMU's argument visitor checks them.

use super::{QmpError, generic};
use serde_json::{Map, Value};

/// QEMU's argument visitor: members are checked in their declared order,
/// then any member left over is unexpected.
pub(super) struct Args<'a> {
    map: &'a Map<String, Value>,
    /// The members asked for so far (no command has more than this).
    known: [&'static str; MAX_KNOWN],
    count: usize,
}

const MAX_KNOWN: usize = 4;

impl<'a> Args<'a> {
    pub(super) fn new(map: &'a Map<String, Value>) -> Self {
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
        self.map.get(name)
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
    pub(super) fn capabilities(&mut self) -> Result<(), QmpError> {
        match self.get("enable") {
            None => Ok(()),
            Some(Value::Array(caps)) => match caps.first() {
                None => Ok(()),
                Some(Value::String(c)) if c == "oob" => {
                    Err(generic("This monitor does not support Out-Of-Band (OOB)"))
                }
                Some(Value::String(c)) => Err(generic(format!(
                    "Parameter 'enable[0]' does not accept value '{c}'"
                ))),
                Some(_) => Err(generic(
                    "Invalid parameter type for 'enable[0]', expected: string",
                )),
            },
            Some(_) => Err(generic(
                "Invalid parameter type for 'enable', expected: array",
            )),
        }
    }

    pub(super) fn done(self) -> Result<(), QmpError> {
        let known = &self.known[..self.count];
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(generic(format!("Parameter '{k}' is unexpected"))),
            None => Ok(()),
        }
    }
}
