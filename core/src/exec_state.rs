//! The state an `exec` carries into the new program image (spec section 7):
//! sets, members, the dups the program kept open, the path settings, and the
//! monitors when the exec happens in the same process. Plain Rust: JSON text
//! in, validated values out, through typed (`serde` derive) structures, so
//! that no `serde_json::Value` tree is built for the sets. The new image
//! trusts none of it blindly: every descriptor is range-checked here and
//! checked to be open by the caller.
//!
//! The text is the same JSON as before the typed structures (version 1): an
//! object `{"version":1,"prefixes":[[bytes]],"aliases":[[[bytes],set]],
//! "log":b,"io_uring_off":b,"always_in_use":b,"sets":[{"id":N,"members":
//! [{"fd":N,"opaque":S|null,"removed":b}],"dups":[N]}],"control":{...}}`.
//! Unknown fields are refused. The writer leaves out what the reader takes
//! by default (a member's `opaque` when it has none, `removed` when false,
//! an empty `members` or `dups`), which readers of version 1 always did.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

pub const VERSION: u64 = 1;
/// Largest descriptor number accepted from a carried state.
pub const MAX_FD: i64 = (1 << 20) - 1;
/// Largest state accepted (a memfd's contents).
pub const MAX_STATE_BYTES: usize = 64 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedMember {
    #[serde(deserialize_with = "member_fd")]
    pub fd: i32,
    #[serde(
        default,
        deserialize_with = "opaque_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub opaque: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub removed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedSet {
    #[serde(deserialize_with = "set_id")]
    pub id: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<CarriedMember>,
    #[serde(
        default,
        deserialize_with = "dup_fds",
        skip_serializing_if = "Vec::is_empty"
    )]
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

/// The text as written: borrowed from the state, nothing copied.
#[derive(Serialize)]
struct WireOut<'a> {
    version: u64,
    prefixes: &'a [Vec<u8>],
    aliases: &'a [(Vec<u8>, u64)],
    log: bool,
    io_uring_off: bool,
    always_in_use: bool,
    sets: &'a [CarriedSet],
    #[serde(skip_serializing_if = "Option::is_none")]
    control: Option<&'a Value>,
}

/// The text as read; checked by [`ExecState::from_json`]. Paths may not be
/// UTF-8: they are carried as byte arrays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIn {
    version: u64,
    #[serde(default)]
    prefixes: Vec<Vec<u8>>,
    #[serde(default)]
    aliases: Vec<(Vec<u8>, u64)>,
    #[serde(default)]
    log: bool,
    #[serde(default)]
    io_uring_off: bool,
    #[serde(default = "always")]
    always_in_use: bool,
    #[serde(default)]
    sets: Vec<CarriedSet>,
    #[serde(default)]
    control: Option<Value>,
}

fn always() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A descriptor number in `0..=MAX_FD`, or the error `what` names.
fn fd_number<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<i32, D::Error> {
    match i64::deserialize(d) {
        Ok(n) if (0..=MAX_FD).contains(&n) => Ok(n as i32),
        _ => Err(D::Error::custom(format!(
            "{what} is not a descriptor number in 0..={MAX_FD}"
        ))),
    }
}

fn member_fd<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    fd_number(d, "a member fd")
}

/// A dup's number, checked as it is read.
struct DupFd(i32);

impl<'de> Deserialize<'de> for DupFd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fd_number(d, "a dup fd").map(DupFd)
    }
}

fn dup_fds<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    let v = Vec::<DupFd>::deserialize(d)?;
    Ok(v.into_iter().map(|DupFd(fd)| fd).collect())
}

fn opaque_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
        .map_err(|_| D::Error::custom("a member opaque is not a string"))
}

fn set_id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d) {
        Ok(n) if n <= i64::MAX as u64 => Ok(n),
        _ => Err(D::Error::custom("a set id is missing or out of range")),
    }
}

fn check_paths(prefixes: &[Vec<u8>], aliases: &[(Vec<u8>, u64)]) -> Result<(), String> {
    for p in prefixes {
        if !p.starts_with(b"/") || !p.ends_with(b"/") || p.len() < 2 {
            return Err("a carried prefix is not an absolute directory".into());
        }
    }
    for (path, set) in aliases {
        if *set > i32::MAX as u64 {
            return Err("an alias set number is out of range".into());
        }
        if !path.starts_with(b"/") {
            return Err("a carried alias path is not absolute".into());
        }
    }
    Ok(())
}

/// No set named twice, no descriptor named twice, no member at 0-2 (a
/// member is the shim's: standard I/O is the program's; a dup may be
/// there). Sets with nothing in them are dropped.
fn check_sets(sets: &mut Vec<CarriedSet>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for set in sets.iter() {
        if !ids.insert(set.id) {
            return Err(format!("set {} is named twice", set.id));
        }
        for m in &set.members {
            if m.fd <= 2 {
                return Err(format!("a member fd {} is a standard I/O stream", m.fd));
            }
            if !seen.insert(m.fd) {
                return Err(format!("fd {} is named twice", m.fd));
            }
        }
        for &d in &set.dups {
            if !seen.insert(d) {
                return Err(format!("fd {d} is named twice"));
            }
        }
    }
    sets.retain(|s| !s.members.is_empty() || !s.dups.is_empty());
    Ok(())
}

impl ExecState {
    pub fn to_json(&self) -> String {
        let wire = WireOut {
            version: VERSION,
            prefixes: &self.prefixes,
            aliases: &self.aliases,
            log: self.log,
            io_uring_off: self.io_uring_off,
            always_in_use: self.always_in_use,
            sets: &self.sets,
            control: self.control.as_ref(),
        };
        // Nothing here can fail to serialize (every map key is a string);
        // were it to, the empty text is refused by the new image, which
        // then stops instead of running without its sets.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parse and check the structure: versions, types, ranges, no descriptor
    /// named twice, set ids in range. Whether the descriptors are open is
    /// for the caller to check.
    pub fn from_json(text: &[u8]) -> Result<ExecState, String> {
        if text.len() > MAX_STATE_BYTES {
            return Err("state is too large".into());
        }
        // serde would take an array for a structure too: the state is an
        // object, as it always was.
        if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(if serde_json::from_slice::<Value>(text).is_ok() {
                "state is not a JSON object".into()
            } else {
                "state is not valid JSON: it does not start with '{'".into()
            });
        }
        let mut w: WireIn = serde_json::from_slice(text).map_err(|e| {
            if e.is_data() {
                format!("state is not valid: {e}")
            } else {
                format!("state is not valid JSON: {e}")
            }
        })?;
        if w.version != VERSION {
            return Err(format!("state version is not {VERSION}"));
        }
        check_paths(&w.prefixes, &w.aliases)?;
        check_sets(&mut w.sets)?;
        Ok(ExecState {
            prefixes: w.prefixes,
            aliases: w.aliases,
            log: w.log,
            io_uring_off: w.io_uring_off,
            always_in_use: w.always_in_use,
            sets: w.sets,
            control: w.control,
        })
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
            control: Some(serde_json::json!({"x": 1})),
        }
    }

    #[test]
    fn round_trip_keeps_everything() {
        let s = sample();
        assert_eq!(ExecState::from_json(s.to_json().as_bytes()), Ok(s));
    }

    /// The text the earlier writer (a `serde_json::Value` tree) produced
    /// for the same state: the typed reader takes it unchanged; the typed
    /// writer writes the same but for the defaults it leaves out.
    #[test]
    fn the_earlier_text_reads_the_same() {
        let earlier = r#"{"aliases":[[[47,105,109,103,47,255,100,105,115,107],3]],"always_in_use":false,"control":{"x":1},"io_uring_off":true,"log":true,"prefixes":[[47,114,117,110,47,102,100,115,101,116,47]],"sets":[{"dups":[5],"id":7,"members":[{"fd":100,"opaque":"a,b","removed":false}]}],"version":1}"#;
        assert_eq!(ExecState::from_json(earlier.as_bytes()), Ok(sample()));
        let ours: Value = serde_json::from_str(&sample().to_json()).expect("json");
        let mut theirs: Value = serde_json::from_str(earlier).expect("json");
        theirs["sets"][0]["members"][0]
            .as_object_mut()
            .expect("member")
            .remove("removed");
        assert_eq!(ours, theirs);
        let plain = CarriedSet {
            id: 2,
            members: vec![CarriedMember {
                fd: 9,
                opaque: None,
                removed: true,
            }],
            dups: Vec::new(),
        };
        let text = serde_json::to_string(&plain).expect("json");
        assert_eq!(text, r#"{"id":2,"members":[{"fd":9,"removed":true}]}"#);
    }

    #[test]
    fn fields_not_in_the_format_are_refused() {
        let cases: &[(&str, &str)] = &[
            ("{\"version\":1,\"extra\":1}", "unknown field"),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"members\":[{\"fd\":4,\"mode\":1}]}]}",
                "unknown field",
            ),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"id\":2}]}",
                "duplicate field",
            ),
            ("{\"sets\":[]}", "version"),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"dups\":[-3]}]}",
                "a dup fd",
            ),
            (
                "{\"version\":1,\"sets\":[{\"id\":1,\"dups\":[\"4\"]}]}",
                "a dup fd",
            ),
            ("{\"version\":1,\"prefixes\":[[47,256,47]]}", "not valid"),
            ("  [1]", "not a JSON object"),
        ];
        for (text, why) in cases {
            let err = ExecState::from_json(text.as_bytes()).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
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
