//! The state an `exec` carries into the new program image (spec section 7):
//! sets, members, the dups the program kept open, the path settings, and the
//! monitors when the exec happens in the same process. Plain Rust: JSON text
//! in, validated values out. The new image trusts none of it blindly: every
//! descriptor is range-checked here and checked to be open by the caller.

use serde_json::{Map, Value, json};

pub const VERSION: u64 = 1;
/// Largest descriptor number accepted from a carried state.
pub const MAX_FD: i64 = (1 << 20) - 1;
/// Largest state accepted (a memfd's contents).
pub const MAX_STATE_BYTES: usize = 64 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedMember {
    pub fd: i32,
    pub opaque: Option<String>,
    pub removed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedSet {
    pub id: u64,
    pub members: Vec<CarriedMember>,
    pub dups: Vec<i32>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecState {
    pub prefixes: Vec<Vec<u8>>,
    pub aliases: Vec<(Vec<u8>, u64)>,
    pub log: bool,
    /// `FDSET_IO_URING=0` (spec section 8): io_uring_setup through
    /// syscall() fails with ENOSYS in the new image too.
    pub io_uring_off: bool,
    pub always_in_use: bool,
    pub sets: Vec<CarriedSet>,
    /// The control server's own state (monitors), present only for an exec
    /// in the same process; opaque here.
    pub control: Option<Value>,
}

fn bytes_to_value(b: &[u8]) -> Value {
    // Paths may not be UTF-8: carried as byte arrays.
    Value::Array(b.iter().map(|&x| json!(x)).collect())
}

fn value_to_bytes(v: &Value, what: &str) -> Result<Vec<u8>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("{what} is not a byte array"))?;
    arr.iter()
        .map(|x| {
            x.as_u64()
                .filter(|&n| n <= 255)
                .map(|n| n as u8)
                .ok_or_else(|| format!("{what} holds a value that is not a byte"))
        })
        .collect()
}

fn get_fd(v: &Value, what: &str) -> Result<i32, String> {
    match v.as_i64() {
        Some(n) if (0..=MAX_FD).contains(&n) => Ok(n as i32),
        _ => Err(format!("{what} is not a descriptor number in 0..={MAX_FD}")),
    }
}

impl ExecState {
    pub fn to_json(&self) -> String {
        let sets: Vec<Value> = self
            .sets
            .iter()
            .map(|s| {
                let members: Vec<Value> = s
                    .members
                    .iter()
                    .map(|m| json!({"fd": m.fd, "opaque": m.opaque, "removed": m.removed}))
                    .collect();
                json!({"id": s.id, "members": members, "dups": s.dups})
            })
            .collect();
        let mut o = Map::new();
        o.insert("version".into(), json!(VERSION));
        o.insert(
            "prefixes".into(),
            Value::Array(self.prefixes.iter().map(|p| bytes_to_value(p)).collect()),
        );
        o.insert(
            "aliases".into(),
            Value::Array(
                self.aliases
                    .iter()
                    .map(|(p, n)| json!([bytes_to_value(p), n]))
                    .collect(),
            ),
        );
        o.insert("log".into(), json!(self.log));
        o.insert("io_uring_off".into(), json!(self.io_uring_off));
        o.insert("always_in_use".into(), json!(self.always_in_use));
        o.insert("sets".into(), Value::Array(sets));
        if let Some(c) = &self.control {
            o.insert("control".into(), c.clone());
        }
        Value::Object(o).to_string()
    }

    /// Parse and check the structure: versions, types, ranges, no descriptor
    /// named twice, set ids in range. Whether the descriptors are open is
    /// for the caller to check.
    pub fn from_json(text: &[u8]) -> Result<ExecState, String> {
        if text.len() > MAX_STATE_BYTES {
            return Err("state is too large".into());
        }
        let v: Value =
            serde_json::from_slice(text).map_err(|e| format!("state is not valid JSON: {e}"))?;
        let o = v.as_object().ok_or("state is not a JSON object")?;
        if o.get("version").and_then(Value::as_u64) != Some(VERSION) {
            return Err(format!("state version is not {VERSION}"));
        }
        let mut st = ExecState {
            log: o.get("log").and_then(Value::as_bool).unwrap_or(false),
            io_uring_off: o
                .get("io_uring_off")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            always_in_use: o
                .get("always_in_use")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            control: o.get("control").cloned(),
            ..ExecState::default()
        };
        for p in o
            .get("prefixes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let p = value_to_bytes(p, "a prefix")?;
            if !p.starts_with(b"/") || !p.ends_with(b"/") || p.len() < 2 {
                return Err("a carried prefix is not an absolute directory".into());
            }
            st.prefixes.push(p);
        }
        for a in o
            .get("aliases")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let pair = a
                .as_array()
                .filter(|p| p.len() == 2)
                .ok_or("an alias is not [path, set]")?;
            let path = value_to_bytes(&pair[0], "an alias path")?;
            let set = pair[1]
                .as_u64()
                .filter(|&n| n <= i32::MAX as u64)
                .ok_or("an alias set number is out of range")?;
            if !path.starts_with(b"/") {
                return Err("a carried alias path is not absolute".into());
            }
            st.aliases.push((path, set));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut ids = std::collections::BTreeSet::new();
        for s in o
            .get("sets")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let so = s.as_object().ok_or("a set is not an object")?;
            let id = so
                .get("id")
                .and_then(Value::as_u64)
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or("a set id is missing or out of range")?;
            if !ids.insert(id) {
                return Err(format!("set {id} is named twice"));
            }
            let mut set = CarriedSet {
                id,
                members: Vec::new(),
                dups: Vec::new(),
            };
            for m in so
                .get("members")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let mo = m.as_object().ok_or("a member is not an object")?;
                let fd = get_fd(mo.get("fd").unwrap_or(&Value::Null), "a member fd")?;
                if fd <= 2 {
                    // A member is the shim's: standard I/O is the program's.
                    return Err(format!("a member fd {fd} is a standard I/O stream"));
                }
                if !seen.insert(fd) {
                    return Err(format!("fd {fd} is named twice"));
                }
                let opaque = match mo.get("opaque") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err("a member opaque is not a string".into()),
                };
                let removed = mo.get("removed").and_then(Value::as_bool).unwrap_or(false);
                set.members.push(CarriedMember {
                    fd,
                    opaque,
                    removed,
                });
            }
            for d in so
                .get("dups")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let fd = get_fd(d, "a dup fd")?;
                if !seen.insert(fd) {
                    return Err(format!("fd {fd} is named twice"));
                }
                set.dups.push(fd);
            }
            if set.members.is_empty() && set.dups.is_empty() {
                continue;
            }
            st.sets.push(set);
        }
        Ok(st)
    }

    /// Every descriptor the state names (members and dups).
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.sets
            .iter()
            .flat_map(|s| s.members.iter().map(|m| m.fd).chain(s.dups.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExecState {
        ExecState {
            prefixes: vec![b"/run/fdset/".to_vec()],
            aliases: vec![(b"/img/\xffdisk".to_vec(), 3)],
            log: true,
            io_uring_off: true,
            always_in_use: false,
            sets: vec![CarriedSet {
                id: 7,
                members: vec![CarriedMember {
                    fd: 100,
                    opaque: Some("a,b".into()),
                    removed: false,
                }],
                dups: vec![5],
            }],
            control: Some(json!({"x": 1})),
        }
    }

    #[test]
    fn round_trip_keeps_everything() {
        let s = sample();
        assert_eq!(ExecState::from_json(s.to_json().as_bytes()), Ok(s));
    }

    #[test]
    fn forged_values_are_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("[]", "not a JSON object"),
            ("{\"version\":2}", "version"),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"members\":[{\"fd\":-1}]}]}",
                "descriptor number",
            ),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"members\":[{\"fd\":1048576}]}]}",
                "descriptor number",
            ),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"members\":[{\"fd\":100}],\"dups\":[100]}]}",
                "named twice",
            ),
            ("{\"version\":1,\"sets\":[{\"id\":-1}]}", "set id"),
            (
                "{\"version\":1,\"sets\":[{\"id\":1},{\"id\":1}]}",
                "named twice",
            ),
            ("{\"version\":1,\"prefixes\":[[47]]}", "absolute directory"),
            (
                "{\"version\":1,\"aliases\":[[[47,120],4294967296]]}",
                "out of range",
            ),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"members\":[{\"fd\":4,\"opaque\":5}]}]}",
                "opaque",
            ),
            ("not json", "not valid JSON"),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"members\":[{\"fd\":1}]}]}",
                "a member fd 1 is a standard I/O stream",
            ),
        ];
        for (text, why) in cases {
            let err = ExecState::from_json(text.as_bytes()).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
