//! Reply text in QEMU's JSON spacing, members in the spec's order.

use crate::registry::QuerySnapshot;
use serde_json::Value;

/// A value in QEMU's JSON spacing, `{"a": 1, "b": [1, 2]}` (serde_json's
/// compact form has no blanks); strings and numbers are serde_json's.
pub(super) fn text(v: impl Into<Value>) -> String {
    let mut s = String::new();
    write_value(&mut s, &v.into());
    s
}

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
                s.push_str(&json_string(k));
                s.push_str(": ");
                write_value(s, item);
            }
            s.push('}');
        }
        scalar => s.push_str(&scalar.to_string()),
    }
}

/// A JSON object whose members keep the order they are written in (the
/// spec's order), unlike `serde_json::Map`, which sorts them.
pub(super) struct Obj(String);

impl Obj {
    pub(super) fn new() -> Obj {
        Obj(String::from("{"))
    }
    pub(super) fn raw(mut self, key: &str, value_text: &str) -> Obj {
        if self.0.len() > 1 {
            self.0.push_str(", ");
        }
        self.0.push_str(&json_string(key));
        self.0.push_str(": ");
        self.0.push_str(value_text);
        self
    }
    pub(super) fn field(self, key: &str, value: impl Into<Value>) -> Obj {
        self.raw(key, &text(value))
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
    let mut s = String::with_capacity(16 + sets.len() * 40);
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
                s.push_str(&json_string(o));
            }
            s.push('}');
        }
        s.push_str("]}");
    }
    s.push(']');
    s
}

/// A JSON string literal, escaped by serde_json.
pub(super) fn json_string(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
