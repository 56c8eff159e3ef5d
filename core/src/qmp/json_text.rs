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

/// The `query-fdsets` value appended to `out`, numbers with `itoa`: with
/// 10,000 sets this is the largest reply there is (about 43 bytes a set),
/// so it is written once, into the reply buffer the monitor keeps, rather
/// than into a string of its own that would then be copied (a fresh
/// 400 KiB block each time is a mapping of its own, page faults included).
pub(super) fn write_query_fdsets(out: &mut Vec<u8>, sets: &QuerySnapshot) {
    out.reserve(sets.text_len_hint());
    let mut num = itoa::Buffer::new();
    out.push(b'[');
    for (i, (id, fds)) in sets.sets().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(b"{\"fdset-id\": ");
        out.extend_from_slice(num.format(id).as_bytes());
        out.extend_from_slice(b", \"fds\": [");
        for (j, (fd, opaque)) in fds.enumerate() {
            if j > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(b"{\"fd\": ");
            out.extend_from_slice(num.format(fd).as_bytes());
            if let Some(o) = opaque {
                out.extend_from_slice(b", \"opaque\": ");
                append_json_string(out, o);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
}

/// A JSON string literal, escaped as serde_json escapes it, appended to
/// `s`. A string with nothing to escape (serde_json escapes `"`, `\` and
/// the control characters below U+0020, nothing else) is copied between
/// quotes as it is; any other goes through serde_json.
pub(super) fn push_json_string(s: &mut String, v: &str) {
    if needs_no_escape(v) {
        s.push('"');
        s.push_str(v);
        s.push('"');
    } else {
        s.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
}

/// [`push_json_string`] onto bytes.
fn append_json_string(out: &mut Vec<u8>, v: &str) {
    if needs_no_escape(v) {
        out.push(b'"');
        out.extend_from_slice(v.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a vector cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
    }
}

fn needs_no_escape(v: &str) -> bool {
    v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
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
            let mut bytes = b"x".to_vec();
            append_json_string(&mut bytes, &v);
            let expected = serde_json::to_string(&v).unwrap();
            prop_assert_eq!(&bytes[1..], expected.as_bytes());
            for n in [Value::from(i), Value::from(u), Value::from(f), Value::Null, Value::Bool(i < 0)] {
                let mut s = String::new();
                write_value(&mut s, &n);
                prop_assert_eq!(s, n.to_string());
            }
        }
    }

    proptest! {
        /// Spec 3 table: the `query-fdsets` value written straight into the
        /// reply bytes is the text of the same sets as a JSON value in
        /// QEMU's spacing (members in order, opaque only when given).
        #[test]
        fn query_fdsets_text_is_the_sets_as_json(
            sets in prop::collection::vec(
                (any::<u64>(), prop::collection::vec((any::<i32>(), prop::option::of("(\\PC|[\u{0}-\u{1f}\"\\\\])*")), 0..4)),
                0..6,
            ),
        ) {
            let mut snap = QuerySnapshot::new();
            let mut expected = Vec::new();
            for (id, fds) in &sets {
                snap.push_set(*id);
                let mut members = Vec::new();
                for (fd, opaque) in fds {
                    snap.push_fd(*fd, opaque.as_deref());
                    let m = Obj::new().field("fd", *fd);
                    members.push(match opaque {
                        Some(o) => m.field("opaque", o.as_str()).end(),
                        None => m.end(),
                    });
                }
                expected.push(Obj::new().field("fdset-id", *id).raw("fds", &list(members.into_iter())).end());
            }
            let mut out = b"{".to_vec();
            write_query_fdsets(&mut out, &snap);
            let text = format!("{{{}", list(expected.into_iter()));
            prop_assert_eq!(String::from_utf8(out).unwrap(), text);
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
