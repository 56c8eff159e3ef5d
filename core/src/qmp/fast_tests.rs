//! The fast request path against the `Value` path it stands for: the same
//! replies, byte for byte, and the same effects on the sets, for arbitrary
//! requests of the usual shape and of every unusual one near it.

use super::*;
use crate::registry::{QuerySnapshot, SetDetail, SetView};
use proptest::prelude::*;

/// Records every call; answers depend only on the calls made so far.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
}

impl FdSetOps for Recorder {
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        self.calls.push(format!("add_fd {fd} {set:?} {opaque:?}"));
        match set {
            Some(7) => Err("refused".into()),
            s => Ok((s.unwrap_or(0), fd + 100)),
        }
    }
    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool {
        self.calls.push(format!("remove_fd {set} {fd:?}"));
        set == 0
    }
    fn query_fdsets(&mut self) -> Vec<SetView> {
        self.calls.push("query_fdsets".into());
        vec![SetView {
            id: 0,
            fds: vec![(100, Some("o".into()))],
        }]
    }
    fn query_fdset_members(&mut self) -> Vec<SetDetail> {
        self.calls.push("query_fdset_members".into());
        Vec::new()
    }
    fn query_fdsets_snapshot(&mut self, into: &mut QuerySnapshot) {
        *into = QuerySnapshot::from(self.query_fdsets().as_slice());
    }
    fn cont(&mut self) {
        self.calls.push("cont".into());
    }
    fn close_fd(&mut self, fd: RawFd) {
        self.calls.push(format!("close_fd {fd}"));
    }
}

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(items).prop_map(str::to_string)
}

/// Argument values: integers at and beyond the i64 range, `-0`, fractions,
/// strings with and without escapes, arrays, objects, literals.
fn arg_value() -> impl Strategy<Value = String> {
    pick(&[
        "0",
        "1",
        "-1",
        "-0",
        "1.0",
        "1e2",
        "7",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "2147483648",
        r#""s""#,
        r#""a\nb""#,
        r#""\u00e9""#,
        r#""é""#,
        "[]",
        r#"["oob"]"#,
        r#"["x"]"#,
        "[1]",
        "null",
        "true",
        "{}",
        r#"{"a": 1, "b": [2]}"#,
    ])
}

fn arg_key() -> impl Strategy<Value = String> {
    pick(&[
        r#""fdset-id""#,
        r#""fd""#,
        r#""opaque""#,
        r#""enable""#,
        r#""x""#,
        r#""a""#,
        r#""fdset\u002did""#,
        r#""""#,
        r#""zz""#,
    ])
}

/// `{k: v, ...}` with QEMU's spacing or none.
fn object(pairs: Vec<(String, String)>, spaced: bool) -> String {
    let (comma, colon) = if spaced { (", ", ": ") } else { (",", ":") };
    let inner: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}{colon}{v}"))
        .collect();
    format!("{{{}}}", inner.join(comma))
}

fn arguments() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (prop::collection::vec((arg_key(), arg_value()), 0..4), any::<bool>())
            .prop_map(|(p, s)| object(p, s)),
        1 => pick(&["[]", "1", r#""x""#, "null"]),
    ]
}

fn member() -> impl Strategy<Value = (String, String)> {
    let command = pick(&[
        r#""add-fd""#,
        r#""remove-fd""#,
        r#""qmp_capabilities""#,
        r#""query-fdsets""#,
        r#""cont""#,
        r#""query-version""#,
        r#""query-commands""#,
        r#""x-query-fdset-members""#,
        r#""nope""#,
        r#""add\u002dfd""#,
        r#""""#,
        "5",
        "null",
        "{}",
    ]);
    prop_oneof![
        6 => command.prop_map(|c| (r#""execute""#.to_string(), c)),
        4 => arguments().prop_map(|a| (r#""arguments""#.to_string(), a)),
        2 => arg_value().prop_map(|v| (r#""id""#.to_string(), v)),
        1 => (pick(&[r#""execut\u0065""#, r#""foo""#, r#""a""#, r#""""#, r#""ID""#]), arg_value()),
    ]
}

fn request() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => (prop::collection::vec(member(), 0..5), any::<bool>()).prop_map(|(m, s)| object(m, s)),
        1 => arg_value(),
    ]
}

/// Replies and calls of one connection fed `requests`, fast path or not.
fn run(requests: &[String], value_path_only: bool, negotiated: bool) -> (Vec<u8>, Vec<String>) {
    let mut conn = Connection::new();
    conn.value_path_only = value_path_only;
    conn.negotiated = negotiated;
    for fd in 10..13 {
        conn.queue_fd(fd);
    }
    let mut ops = Recorder::default();
    let mut out = Vec::new();
    for r in requests {
        conn.feed(r.as_bytes(), &mut ops, &mut out);
        conn.feed(b"\n", &mut ops, &mut out);
    }
    (out, ops.calls)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Spec section 3's replies do not depend on which parse ran.
    #[test]
    fn fast_path_answers_as_the_value_path(
        requests in prop::collection::vec(request(), 1..5),
        negotiated in any::<bool>(),
    ) {
        let fast = run(&requests, false, negotiated);
        let value = run(&requests, true, negotiated);
        prop_assert_eq!(String::from_utf8_lossy(&fast.0), String::from_utf8_lossy(&value.0));
        prop_assert_eq!(fast.1, value.1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// What the one pass makes of a request that is not of the usual shape
    /// is the `Value` the plain parse makes.
    #[test]
    fn other_requests_are_the_plain_parse(text in request()) {
        let plain = serde_json::from_str::<Value>(&text).unwrap();
        if let Ok(fast::Parsed::Other(v)) = fast::parse(text.as_bytes()) {
            prop_assert_eq!(v, plain);
        }
    }
}

fn usual(text: &str) -> bool {
    matches!(fast::parse(text.as_bytes()), Ok(fast::Parsed::Usual(_)))
}

/// The usual requests do take the fast path (escaped keys and names too);
/// the unusual ones come back as the `Value` the plain parse makes.
#[test]
fn which_requests_take_the_fast_path() {
    for ok in [
        r#"{"execute": "add-fd", "arguments": {"fdset-id": 0}}"#,
        r#"{"execute":"remove-fd","arguments":{"fdset-id":0,"fd":100},"id":"x"}"#,
        r#"{"id": {"a": [1]}, "execute": "nope"}"#,
        r#"{"execut\u0065": "add\u002dfd", "arguments": {"\u0061": 1}}"#,
    ] {
        assert!(usual(ok), "{ok}");
    }
    for other in [
        r#"{"execute": "cont", "foo": 1}"#,
        r#"{"arguments": {}}"#,
        r#"{"execute": 1}"#,
        r#"{"execute": "cont", "arguments": []}"#,
        r#"{"execute": "cont", "arguments": {"a": 1, "b": 2, "c": 3}}"#,
        r#"{"id": 1, "arguments": {"a": [1, {"b": null}]}, "execute": "x", "z": -0}"#,
        r#"[1, {"a": "b"}]"#,
        r#""execute""#,
        "-1.5e3",
    ] {
        match fast::parse(other.as_bytes()) {
            Ok(fast::Parsed::Other(v)) => {
                assert_eq!(v, serde_json::from_str::<Value>(other).unwrap(), "{other}")
            }
            _ => panic!("{other}: not parsed as a Value"),
        }
    }
}

/// A key twice in one object, at any depth, on either path: an error, as
/// QEMU's parser says (`JSON parse error, duplicate key`), never the last
/// value winning.
#[test]
fn a_repeated_key_is_an_error_at_any_depth() {
    for text in [
        r#"{"execute": "cont", "execute": "cont"}"#,
        r#"{"execute": "query-fdsets", "execute": "cont"}"#,
        r#"{"execute": "cont", "arguments": {"a": 1, "a": 2}}"#,
        r#"{"execute": "cont", "arguments": {"a": 1, "b": 2, "a": 3}}"#,
        r#"{"id": 1, "execute": "x", "id": 2}"#,
        r#"{"execute": "x", "id": {"a": [{"b": 1, "b": 2}]}}"#,
        r#"{"execute": "x", "arguments": {"a": {"c": 1, "c": 1}}}"#,
        r#"[{"a": 1, "a": 1}]"#,
        r#"{"z": 1, "z": 2}"#,
    ] {
        let e = match fast::parse(text.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{text}: parsed"),
        };
        assert!(e.starts_with("duplicate key"), "{text}: {e}");
        let plain = serde_json::from_str::<super::strict::Strict>(text).map(|v| v.0);
        assert!(plain.is_err(), "{text}: the plain parse took it");
    }
}
