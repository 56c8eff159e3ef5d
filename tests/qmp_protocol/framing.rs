//! Malformed requests, framing, oversize input and backlog (spec section 3),
//! and the property tests on arbitrary bytes.

use super::monitor::*;
use fdset_core::qmp as qmp_protocol;
use proptest::prelude::*;
use qmp_protocol::{FdSetOps, Feed};
use serde_json::{Value, json};

// Spec 3 errors: the request itself malformed.
#[test]
fn malformed_requests() {
    let mut m = Monitor::negotiated();
    for (input, desc) in [
        ("[1, 2]", "QMP input must be a JSON object"),
        ("\"str\"", "QMP input must be a JSON object"),
        ("7\n", "QMP input must be a JSON object"),
        (
            r#"{"execute": 1}"#,
            "QMP input member 'execute' must be a string",
        ),
        (
            r#"{"execute": "cont", "foo": 1}"#,
            "QMP input member 'foo' is unexpected",
        ),
        (
            r#"{"execute": "cont", "arguments": []}"#,
            "QMP input member 'arguments' must be an object",
        ),
        (r#"{"arguments": {}}"#, "QMP input lacks member 'execute'"),
    ] {
        assert_eq!(m.one(input), generic(desc), "{input}");
    }
    // The id is echoed when the input was an object.
    assert_eq!(m.one(r#"{"execute": 1, "id": "x"}"#)["id"], "x");
}

// Spec 3: objects with or without newlines or blanks, split anywhere.
#[test]
fn framing_split_and_joined() {
    let mut m = Monitor::negotiated();
    let input = " {\"execute\":\"query-fdsets\",\"id\":1}{\"execute\":\"cont\",\"id\":2}\r\n\t{\"execute\":\"query-version\",\"id\":3}  ";
    assert_eq!(
        m.replies(input)
            .iter()
            .map(|r| r["id"].clone())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Byte by byte: only the last byte of each object produces its reply.
    let mut replies = Vec::new();
    for (i, b) in input.bytes().enumerate() {
        let (r, out) = m.feed_bytes(&[b]);
        assert_eq!(r, Feed::Open);
        if !out.is_empty() {
            replies.push((
                i,
                serde_json::from_slice::<Value>(&out).unwrap()["id"].clone(),
            ));
        }
    }
    let ends: Vec<usize> = input.match_indices('}').map(|(i, _)| i).collect();
    assert_eq!(
        replies,
        vec![
            (ends[0], json!(1)),
            (ends[1], json!(2)),
            (ends[2], json!(3))
        ]
    );
    // A number id split across reads is one number.
    assert!(m.lines(r#"{"execute":"cont","id":12"#).is_empty());
    assert_eq!(m.one("34}")["id"], 1234);
    // A top-level number waits for its end.
    assert!(m.lines("12").is_empty());
    assert_eq!(m.lines("3 ").len(), 1);
}

// Spec 3: malformed JSON gets a GenericError, and the connection keeps
// serving the next well-formed command (after the line with the error).
#[test]
fn garbage_then_newline_then_command_answers() {
    let mut m = Monitor::negotiated();
    let r = m.replies("helo}{]\n{\"execute\":\"cont\",\"id\":1}\n");
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["error"]["class"], "GenericError");
    assert!(
        r[0]["error"]["desc"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error, "),
        "{r:?}"
    );
    assert!(r[0].get("id").is_none());
    assert_eq!(r[1], json!({"return": {}, "id": 1}));
    // The error is the newline itself (inside a string): the next line counts.
    let r = m.replies("{\"execute\":\"ab\n{\"execute\":\"cont\",\"id\":2}\n");
    assert_eq!(r[1], json!({"return": {}, "id": 2}));
    // Garbage arriving before its newline: skipped, not buffered.
    assert_eq!(m.replies("\u{1}xx").len(), 1);
    assert!(m.lines(&"y".repeat(100_000)).is_empty());
    assert_eq!(m.conn.pending_input(), 0);
    assert_eq!(m.one("zz\n{\"execute\":\"cont\",\"id\":3}")["id"], 3);
    // Invalid UTF-8 inside a string.
    let (_, out) = m.feed_bytes(b"{\"execute\":\"\xff\"}\n{\"execute\":\"cont\",\"id\":4}\n");
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("{\"return\": {}, \"id\": 4}\r\n"), "{text}");
}

// Spec 3, malformed JSON: a key twice in one object, at any depth, is
// malformed, as QEMU 7.2's parser says in these words (checked against
// it); nothing runs (not the last `execute`, as a map keeping the last key
// would), and the next value, on the same line too, is answered.
#[test]
fn a_repeated_key_is_malformed_json_and_runs_nothing() {
    let mut m = Monitor::negotiated();
    let refused =
        json!({"error": {"class": "GenericError", "desc": "JSON parse error, duplicate key"}});
    for text in [
        r#"{"execute": "query-fdsets", "execute": "cont", "id": 1}"#,
        r#"{"execute": "cont", "id": 1, "id": 2}"#,
        r#"{"execute": "cont", "arguments": {}, "arguments": {}}"#,
        r#"{"execute": "remove-fd", "arguments": {"fdset-id": 1, "fdset-id": 2}}"#,
        r#"{"execute": "cont", "id": {"a": 1, "a": 2}}"#,
    ] {
        let r = m.replies(&format!(
            "{text}{{\"execute\": \"query-version\", \"id\": 5}}\n"
        ));
        assert_eq!(r.len(), 2, "{text}: {r:?}");
        assert_eq!(r[0], refused, "{text}");
        assert_eq!(r[1]["id"], 5, "{text}: the next value is answered");
    }
    assert_eq!(m.sets.conts, 0, "no cont ran");
}

// Spec 3, malformed JSON ("a clear error and loses nothing"): a value
// nested deeper than the parser takes (127 levels) is one error for the
// whole value, in QEMU's words for its own limit, however many lines it is
// written over; the next command is answered. One level less is answered.
#[test]
fn a_value_nested_too_deep_is_one_error() {
    let mut m = Monitor::negotiated();
    let deep = |levels: usize, sep: &str| {
        format!(
            "{{\"execute\": \"query-version\", \"id\": {}{sep}{}}}",
            "[".repeat(levels),
            format!("{sep}]").repeat(levels)
        )
    };
    let too_deep = generic("JSON nesting depth limit exceeded");
    for sep in ["", "\n"] {
        let r = m.replies(&format!(
            "{}\n{{\"execute\": \"query-version\", \"id\": 5}}\n",
            deep(200, sep)
        ));
        assert_eq!(r.len(), 2, "one reply for the deep value: {r:?}");
        assert_eq!(r[0], too_deep);
        assert_eq!(r[1]["id"], 5, "the next command is answered");
    }
    let r = m.replies(&format!("{}\n", deep(125, "\n")));
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0]["return"].is_object(), "{:?}", r[0]);
}

// Spec 3, malformed JSON ("a clear error and loses nothing"): a value that
// is nested too deep and then stops being JSON gets the depth error, the
// words of a well-formed value that deep, and a lone surrogate escape is
// named as QEMU 7.2 names it; a number beyond a double is refused with
// where it is. Each time the next command is answered.
#[test]
fn parse_errors_say_what_is_wrong() {
    let mut m = Monitor::negotiated();
    let deep_then_bad = format!("{{\"execute\": \"cont\", \"id\": {}x", "[".repeat(200));
    for (bad, desc) in [
        (deep_then_bad.as_str(), "JSON nesting depth limit exceeded"),
        (
            r#"{"execute": "query-version", "id": "\ud800"}"#,
            r"JSON parse error, \ud800 is not a valid Unicode character",
        ),
        (
            r#"{"execute": "query-version", "id": ["\uDC00\u0041"]}"#,
            r"JSON parse error, \uDC00 is not a valid Unicode character",
        ),
        (
            r#"{"execute": "query-version", "id": "\ud800\u0041"}"#,
            r"JSON parse error, \ud800 is not a valid Unicode character",
        ),
        (
            r#"{"execute": "query-version", "id": 1e400}"#,
            "JSON parse error, number out of range at line 1 column 40",
        ),
    ] {
        let r = m.replies(&format!(
            "{bad}\n{{\"execute\": \"query-version\", \"id\": 5}}\n"
        ));
        assert_eq!(r.len(), 2, "{bad}: {r:?}");
        assert_eq!(r[0], generic(desc), "{bad}");
        assert_eq!(r[1]["id"], 5, "{bad}: the next command is answered");
    }
    assert_eq!(m.sets.conts, 0, "no cont ran");
}

// a 10 MB line ends the connection instead of growing the buffer.
#[test]
fn oversize_value_disconnects() {
    let mut m = Monitor::negotiated();
    let (r, _) = m.feed_bytes(b"{\"execute\": \"cont\", \"id\": \"");
    assert_eq!(r, Feed::Open);
    let chunk = vec![b'a'; 64 * 1024];
    let mut fed = 0;
    let r = loop {
        let (r, out) = m.feed_bytes(&chunk);
        assert!(out.is_empty());
        fed += chunk.len();
        if r == Feed::Disconnect || fed > 10 << 20 {
            break r;
        }
    };
    assert_eq!(r, Feed::Disconnect);
    assert!(fed <= qmp_protocol::MAX_INPUT + chunk.len());
    // A large value under the bound is fine.
    let mut m = Monitor::negotiated();
    let id = "b".repeat(500_000);
    assert_eq!(
        m.one(&json!({"execute": "cont", "id": id}).to_string())["id"],
        json!(id)
    );
}

// A client that never reads: commands wait while output piles up.
#[test]
fn output_backlog_pauses_commands() {
    let mut m = Monitor::negotiated();
    for set in 0..2000 {
        m.add(json!({"fdset-id": set, "opaque": "o".repeat(100)}));
    }
    let cmds = "{\"execute\":\"query-fdsets\"}".repeat(20);
    let (_, out) = m.feed_bytes(cmds.as_bytes());
    let n = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    assert!(
        out.len() >= qmp_protocol::MAX_OUTPUT && n < 20,
        "{n} replies, {} bytes",
        out.len()
    );
    assert!(m.conn.held_back(), "the rest waits for feed(&[])");
    let mut total = n;
    while total < 20 {
        let (_, out) = m.feed_bytes(&[]);
        let k = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        assert!(k > 0);
        total += k;
    }
    assert_eq!(total, 20);
    assert!(!m.conn.held_back());
    m.assert_no_leak();
}

/// A byte that JSON allows nowhere (not in strings, not between tokens).
fn never_json() -> impl Strategy<Value = u8> {
    prop_oneof![0u8..=8, 0x0bu8..=0x0c, 0x0eu8..=0x1f, Just(0xffu8)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    // arbitrary byte streams and fds never panic, never leak or
    // double-close an fd, and never buffer past the bound.
    #[test]
    fn arbitrary_input_and_fds(
        events in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200).prop_map(Err),
                (0usize..4).prop_map(Ok),
                prop::sample::select(vec![
                    "{\"execute\":\"qmp_capabilities\"}",
                    "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":1}}",
                    "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":-1}}",
                    "{\"execute\":\"add-fd\"}",
                    "{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":1}}",
                    "{\"execute\":\"query-fdsets\"}",
                ]).prop_map(|s| Err(s.as_bytes().to_vec())),
            ],
            0..40,
        )
    ) {
        let mut m = Monitor::new();
        for e in events {
            match e {
                Ok(n) => for _ in 0..n {
                    let fd = m.sets.fds.open_file(libc::O_RDWR, true);
                    if !m.conn.queue_fd(fd) {
                        m.sets.close_fd(fd);
                    }
                },
                Err(bytes) => {
                    let (r, _) = m.feed_bytes(&bytes);
                    prop_assert_eq!(r, Feed::Open);
                    prop_assert!(m.conn.pending_input() <= qmp_protocol::MAX_INPUT);
                }
            }
        }
        m.assert_no_leak();
    }

    // after garbage whose last line is malformed, a newline and a
    // valid command, the command is answered — however the bytes are split.
    #[test]
    fn command_after_garbage_and_newline_answers(
        garbage in prop::collection::vec(any::<u8>(), 0..200),
        bad in never_json(),
        tail in prop::collection::vec(any::<u8>().prop_filter("one line", |&b| b != b'\n'), 0..20),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut m = Monitor::negotiated();
        let mut input = garbage;
        input.push(bad);
        input.extend(tail);
        input.extend_from_slice(b"\n{\"execute\":\"query-version\",\"id\":\"probe\"}");
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len())).collect();
        cuts.sort_unstable();
        cuts.push(input.len());
        let mut out = Vec::new();
        let mut from = 0;
        for c in cuts {
            let (r, o) = m.feed_bytes(&input[from..c]);
            prop_assert_eq!(r, Feed::Open);
            out.extend(o);
            from = c;
        }
        let text = String::from_utf8(out).unwrap();
        let last = text.split_terminator("\r\n").last().unwrap_or("");
        let v: Value = serde_json::from_str(last).unwrap();
        prop_assert_eq!(&v["id"], "probe", "{}", text);
        prop_assert!(v.get("return").is_some());
        m.assert_no_leak();
    }
}
