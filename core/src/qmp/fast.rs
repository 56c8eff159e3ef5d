//! The usual request, `{"execute": "NAME", "arguments": {...}, "id": ID}`,
//! parsed without a `serde_json::Value` tree for its two objects: the keys
//! and the command name borrowed from the input, the few arguments in a
//! fixed array. Anything this shape does not cover exactly (an escaped key
//! or name, a repeated key, an unexpected member, `execute` not a string,
//! `arguments` not an object or with more than [`MAX_ARGS`] members, a
//! top level that is not an object) is refused here, and the caller parses
//! the request into a `Value` as before: what the fast path accepts is a
//! request the `Value` path runs without a member error, with the same
//! command, the same arguments and the same id, so the replies are the same
//! bytes.

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Arguments a request may have on the fast path: no command takes more
/// than 2, so a request with more is an error, which the `Value` path
/// reports (the array is small: it is moved with the request).
pub(super) const MAX_ARGS: usize = 2;

/// A request of the usual shape.
pub(super) struct Request<'a> {
    pub(super) execute: &'a str,
    pub(super) arguments: Pairs<'a>,
    pub(super) id: Option<Value>,
}

/// An `arguments` object: distinct keys, each with its value, in input order.
#[derive(Default)]
pub(super) struct Pairs<'a> {
    items: [(&'a str, Value); MAX_ARGS],
    len: usize,
}

impl<'a> Pairs<'a> {
    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.items[..self.len]
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.items[..self.len].iter().map(|(k, _)| *k)
    }
}

/// `bytes` as a request of the usual shape, or `None` (then the caller
/// takes the `Value` path). The bytes are one complete value as the scanner
/// found it.
pub(super) fn parse(bytes: &[u8]) -> Option<Request<'_>> {
    // The scanner let through valid UTF-8 only; checked once here, and
    // serde_json then does not check each string again.
    let text = std::str::from_utf8(bytes).ok()?;
    serde_json::from_str(text).ok()
}

/// Refuse: the caller takes the `Value` path (the text is never shown).
fn other<E: de::Error>() -> E {
    E::custom("not the usual shape")
}

impl<'de> Deserialize<'de> for Request<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RequestVisitor)
    }
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = Request<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a QMP request")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request<'de>, A::Error> {
        let mut execute = None;
        let mut arguments = None;
        let mut id = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "execute" if execute.is_none() => execute = Some(map.next_value::<&'de str>()?),
                "arguments" if arguments.is_none() => arguments = Some(map.next_value()?),
                "id" if id.is_none() => id = Some(map.next_value::<Value>()?),
                _ => return Err(other()),
            }
        }
        Ok(Request {
            execute: execute.ok_or_else(other)?,
            arguments: arguments.unwrap_or_default(),
            id,
        })
    }
}

impl<'de> Deserialize<'de> for Pairs<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsVisitor)
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("QMP arguments")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<'de>, A::Error> {
        let mut pairs = Pairs::default();
        while let Some(key) = map.next_key::<&'de str>()? {
            if pairs.len == MAX_ARGS || pairs.get(key).is_some() {
                return Err(other());
            }
            pairs.items[pairs.len] = (key, map.next_value()?);
            pairs.len += 1;
        }
        Ok(pairs)
    }
}
