//! A JSON value as `serde_json::Value`, except that an object with a key
//! twice is an error at any depth: QEMU's parser refuses it (`JSON parse
//! error, duplicate key`), where `Value` would keep the last, so that the
//! same line could run another command, or act on another set, than QEMU
//! would.

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

pub(super) struct Strict(pub(super) Value);

/// QEMU's word for it.
pub(super) const DUPLICATE: &str = "duplicate key";

/// The error for a key met twice in one object.
pub(super) fn duplicate<E: de::Error>() -> E {
    E::custom(DUPLICATE)
}

/// `key: value` into `m`, refused when `m` has `key` already.
pub(super) fn insert_once<E: de::Error>(
    m: &mut Map<String, Value>,
    key: String,
    value: Value,
) -> Result<(), E> {
    match m.entry(key) {
        serde_json::map::Entry::Occupied(_) => Err(duplicate()),
        serde_json::map::Entry::Vacant(v) => {
            v.insert(value);
            Ok(())
        }
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Strict(e)) = seq.next_element()? {
            v.push(e);
        }
        Ok(Strict(Value::Array(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut m = Map::new();
        while let Some((k, Strict(v))) = map.next_entry::<String, Strict>()? {
            insert_once(&mut m, k, v)?;
        }
        Ok(Strict(Value::Object(m)))
    }
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}
