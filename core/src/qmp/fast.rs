//! A request parsed in one pass, without a `serde_json::Value` tree for the
//! usual shape, `{"execute": "NAME", "arguments": {...}, "id": ID}`: the
//! keys and the command name borrowed from the input (copied only when
//! they hold an escape), at most [`MAX_ARGS`] arguments in a fixed array.
//! Whatever the pass meets that the shape does not cover (an unexpected
//! member, `execute` not a string, `arguments` not an object or with more
//! members, a top level that is not an object) turns the rest of the pass
//! into the `Value` the plain parse would have made, with what was already
//! read put into it; a key met twice in an object is an error, as in the
//! plain parse ([`Strict`]): so every request is parsed once, and the
//! caller handles an [`Parsed::Other`] exactly as before. A request of the
//! usual shape is one the `Value` path runs without a member error, with
//! the same command, arguments and id, so the replies are the same bytes.

use super::strict::{Strict, duplicate, insert_once};
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Arguments a request may have on the fast path: no command takes more
/// than 2 (a request with more is an error, reported from its `Value`;
/// the array is small: it is moved with the request).
pub(super) const MAX_ARGS: usize = 2;

/// What one pass over a request made.
pub(super) enum Parsed<'a> {
    Usual(Request<'a>),
    /// Anything else, as the plain parse ([`Strict`]) makes it.
    Other(Value),
}

/// A request of the usual shape.
pub(super) struct Request<'a> {
    pub(super) execute: Cow<'a, str>,
    pub(super) arguments: Pairs<'a>,
    pub(super) id: Option<Value>,
}

/// An `arguments` object: distinct keys, each with its value, in input order.
#[derive(Default)]
pub(super) struct Pairs<'a> {
    items: [(Cow<'a, str>, Value); MAX_ARGS],
    len: usize,
}

impl<'a> Pairs<'a> {
    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.items[..self.len]
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.items[..self.len].iter().map(|(k, _)| &**k)
    }

    fn into_map(self) -> Map<String, Value> {
        let mut m = Map::new();
        for (k, v) in self.items.into_iter().take(self.len) {
            m.insert(k.into_owned(), v);
        }
        m
    }
}

/// `bytes` (one complete value, as the scanner found it) in one pass.
pub(super) fn parse(bytes: &[u8]) -> serde_json::Result<Parsed<'_>> {
    // The scanner let through valid UTF-8 only; checked once here, and
    // serde_json then does not check each string again.
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice::<Strict>(bytes).map(|v| Parsed::Other(v.0)),
    }
}

/// A string borrowed from the input when it can be, or any other value.
enum StrOr<'a> {
    Str(Cow<'a, str>),
    Value(Value),
}

/// A map key: borrowed unless it holds an escape.
struct Key<'a>(Cow<'a, str>);

/// An `arguments` member: the pairs, or any other value (an object with
/// more than [`MAX_ARGS`] members or a repeated key among them).
enum ArgsOr<'a> {
    Pairs(Pairs<'a>),
    Value(Value),
}

/// Every JSON value as `Value`'s own visitor makes it (containers are
/// handed to it); strings to `str`.
macro_rules! scalars_as_value {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(Value::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok($wrap(Value::from(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok($wrap(Value::from(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok($wrap(Value::from(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Value::Null))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Strict::deserialize(SeqAccessDeserializer::new(seq)).map(|v| $wrap(v.0))
        }
    };
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = StrOr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_as_value!(StrOr::Value);
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<StrOr<'de>, E> {
        Ok(StrOr::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrOr<'de>, E> {
        Ok(StrOr::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrOr<'de>, A::Error> {
        Strict::deserialize(MapAccessDeserializer::new(map)).map(|v| StrOr::Value(v.0))
    }
}

impl<'de> Deserialize<'de> for StrOr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor)
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(StrVisitor)? {
            StrOr::Str(s) => Ok(Key(s)),
            // serde_json's keys are strings.
            StrOr::Value(_) => Err(de::Error::custom("a key that is not a string")),
        }
    }
}

/// The rest of a map, after `m` (what was read of it) and `key`, as the
/// plain parse makes it (a repeated key: an error).
fn rest_of_map<'de, A: MapAccess<'de>>(
    mut map: A,
    mut m: Map<String, Value>,
    key: Key<'de>,
    value: Value,
) -> Result<Map<String, Value>, A::Error> {
    insert_once(&mut m, key.0.into_owned(), value)?;
    while let Some((k, Strict(v))) = map.next_entry::<String, Strict>()? {
        insert_once(&mut m, k, v)?;
    }
    Ok(m)
}

struct ArgsVisitor;

impl<'de> Visitor<'de> for ArgsVisitor {
    type Value = ArgsOr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_as_value!(ArgsOr::Value);
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ArgsOr<'de>, E> {
        Ok(ArgsOr::Value(Value::String(v.to_owned())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ArgsOr<'de>, A::Error> {
        let mut pairs = Pairs::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let Strict(value) = map.next_value::<Strict>()?;
            if pairs.get(&key.0).is_some() {
                return Err(duplicate());
            }
            if pairs.len == MAX_ARGS {
                let m = rest_of_map(map, pairs.into_map(), key, value)?;
                return Ok(ArgsOr::Value(Value::Object(m)));
            }
            pairs.items[pairs.len] = (key.0, value);
            pairs.len += 1;
        }
        Ok(ArgsOr::Pairs(pairs))
    }
}

impl<'de> Deserialize<'de> for ArgsOr<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArgsVisitor)
    }
}

/// What was read of a request's members so far.
#[derive(Default)]
struct Members<'a> {
    execute: Option<Cow<'a, str>>,
    arguments: Option<Pairs<'a>>,
    id: Option<Value>,
}

impl Members<'_> {
    fn into_map(self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(e) = self.execute {
            m.insert("execute".into(), Value::String(e.into_owned()));
        }
        if let Some(a) = self.arguments {
            m.insert("arguments".into(), Value::Object(a.into_map()));
        }
        if let Some(id) = self.id {
            m.insert("id".into(), id);
        }
        m
    }
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = Parsed<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_as_value!(Parsed::Other);
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Parsed<'de>, E> {
        Ok(Parsed::Other(Value::String(v.to_owned())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let mut r = Members::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let other = match &*key.0 {
                "execute" if r.execute.is_none() => match map.next_value::<StrOr>()? {
                    StrOr::Str(s) => {
                        r.execute = Some(s);
                        continue;
                    }
                    StrOr::Value(v) => v,
                },
                "arguments" if r.arguments.is_none() => match map.next_value::<ArgsOr>()? {
                    ArgsOr::Pairs(p) => {
                        r.arguments = Some(p);
                        continue;
                    }
                    ArgsOr::Value(v) => v,
                },
                "id" if r.id.is_none() => {
                    r.id = Some(map.next_value::<Strict>()?.0);
                    continue;
                }
                _ => map.next_value::<Strict>()?.0,
            };
            let m = rest_of_map(map, r.into_map(), key, other)?;
            return Ok(Parsed::Other(Value::Object(m)));
        }
        match r.execute {
            Some(execute) => Ok(Parsed::Usual(Request {
                execute,
                arguments: r.arguments.unwrap_or_default(),
                id: r.id,
            })),
            None => Ok(Parsed::Other(Value::Object(r.into_map()))),
        }
    }
}

impl<'de> Deserialize<'de> for Parsed<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RequestVisitor)
    }
}
