//! Reply text in QEMU's JSON spacing, members in the spec's order.

use crate::registry::QuerySnapshot;
use serde_json::Value;

/// A value in QEMU's JSON spacing, `{"a": 1, "b": [1, 2]}` (serde_json's
/// compact form has no blanks); strings and numbers are serde_json's.
pub(super) fn write_value(s: &mut String, v: &Value) {
    match v {
        Value::Array(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_value(s, item);
            }
            s.push(']');
        }
        Value::Object(members) => {
            s.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                push_json_string(s, k);
                s.push_str(": ");
                write_value(s, item);
            }
            s.push('}');
        }
        Value::String(v) => push_json_string(s, v),
        // Integers as serde_json writes them (it uses itoa too); the rest
        // (fractions, literals) through its Display.
        Value::Number(n) if n.is_u64() || n.is_i64() => {
            let mut num = itoa::Buffer::new();
            match n.as_u64() {
                Some(u) => s.push_str(num.format(u)),
                None => s.push_str(num.format(n.as_i64().unwrap_or_default())),
            }
        }
        scalar => s.push_str(&scalar.to_string()),
    }
}

/// A JSON object whose members keep the order they are written in (the
/// spec's order), unlike `serde_json::Map`, which sorts them.
pub(super) struct Obj(String);

impl Obj {
    pub(super) fn new() -> Obj {
        // Room for the usual small reply without growing.
        let mut s = String::with_capacity(64);
        s.push('{');
        Obj(s)
    }
    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push_str(", ");
        }
        push_json_string(&mut self.0, key);
        self.0.push_str(": ");
    }
    pub(super) fn raw(mut self, key: &str, value_text: &str) -> Obj {
        self.key(key);
        self.0.push_str(value_text);
        self
    }
    pub(super) fn field(mut self, key: &str, value: impl Into<Value>) -> Obj {
        self.key(key);
        write_value(&mut self.0, &value.into());
        self
    }
    pub(super) fn end(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

pub(super) fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    format!("[{}]", items.join(", "))
}

/// Written straight into one string, numbers with `itoa`: with 10,000 sets
/// this is the largest reply there is (about 40 bytes a set).
pub(super) fn query_fdsets_text(sets: &QuerySnapshot) -> String {
    let mut s = String::with_capacity(sets.text_len_hint());
    let mut num = itoa::Buffer::new();
    s.push('[');
    for (i, (id, fds)) in sets.sets().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str("{\"fdset-id\": ");
        s.push_str(num.format(id));
        s.push_str(", \"fds\": [");
        for (j, (fd, opaque)) in fds.enumerate() {
            if j > 0 {
                s.push_str(", ");
            }
            s.push_str("{\"fd\": ");
            s.push_str(num.format(fd));
            if let Some(o) = opaque {
                s.push_str(", \"opaque\": ");
                push_json_string(&mut s, o);
            }
            s.push('}');
        }
        s.push_str("]}");
    }
    s.push(']');
    s
}

/// A JSON string literal, escaped as serde_json escapes it, appended to `s`. A string with nothing to escape
/// (serde_json escapes `"`, `\` and the control characters below U+0020,
/// nothing else) is copied between quotes as it is; any other goes through
/// serde_json.
pub(super) fn push_json_string(s: &mut String, v: &str) {
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        s.push('"');
        s.push_str(v);
        s.push('"');
    } else {
        s.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_string(v: &str) -> String {
        let mut s = String::new();
        push_json_string(&mut s, v);
        s
    }

    proptest! {
        /// Strings and scalars come out exactly as serde_json writes them.
        #[test]
        fn strings_and_numbers_as_serde_json_writes_them(
            v in "(\\PC|[\u{0}-\u{1f}\u{7f}\"\\\\/])*",
            i in any::<i64>(),
            u in any::<u64>(),
            f in any::<f64>(),
        ) {
            prop_assert_eq!(json_string(&v), serde_json::to_string(&v).unwrap());
            for n in [Value::from(i), Value::from(u), Value::from(f), Value::Null, Value::Bool(i < 0)] {
                let mut s = String::new();
                write_value(&mut s, &n);
                prop_assert_eq!(s, n.to_string());
            }
        }
    }

    #[test]
    fn objects_keep_qemu_spacing() {
        let v = serde_json::json!({"b": [1, -2, "x\"y"], "a": {"c\n": null}});
        let mut s = String::new();
        write_value(&mut s, &v);
        assert_eq!(s, r#"{"a": {"c\n": null}, "b": [1, -2, "x\"y"]}"#);
        assert_eq!(
            Obj::new()
                .field("fd", 3)
                .raw("x", "[]")
                .field("o", "é\u{1}")
                .end(),
            r#"{"fd": 3, "x": [], "o": "é\u0001"}"#
        );
    }
}
