//! The QMP protocol layer without sockets (spec section 3): a `Connection`
//! fed with bytes and fd numbers, acting on a real `Registry` whose
//! descriptors are fake numbers, so that every fd can be accounted for.

use fdset_core::qmp as qmp_protocol;
use fdset_core::registry;
use fdset_testkit::fake_fdops;

use fake_fdops::FakeFds;
use proptest::prelude::*;
use qmp_protocol::{Connection, FdSetOps, Feed};
use registry::{FdOps, MemberInfo, RawFd, Registry, SetView};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(Default)]
struct Sets {
    reg: Registry,
    fds: FakeFds,
    conts: usize,
}

impl FdSetOps for Sets {
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        assert!(
            self.fds.is_open(fd) && !self.reg.is_member(fd),
            "add-fd of fd {fd}"
        );
        let info = MemberInfo {
            status_flags: libc::O_RDWR,
            regular: true,
        };
        Ok((self.reg.add_member(set, fd, opaque, info), fd))
    }
    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool {
        self.reg
            .remove(&mut self.fds, set, fd, &mut Vec::new())
            .is_ok()
    }
    fn query_fdsets(&mut self) -> Vec<SetView> {
        self.reg.query()
    }
    fn query_fdset_members(&mut self) -> Vec<registry::SetDetail> {
        self.reg.detail(|_| None)
    }
    fn cont(&mut self) {
        self.conts += 1;
    }
    fn close_fd(&mut self, fd: RawFd) {
        assert!(!self.reg.is_member(fd));
        self.fds.close(fd);
    }
}

struct Monitor {
    conn: Connection,
    sets: Sets,
}

impl Monitor {
    fn new() -> Monitor {
        let mut sets = Sets::default();
        sets.reg.monitor_connected();
        Monitor {
            conn: Connection::new(),
            sets,
        }
    }

    fn negotiated() -> Monitor {
        let mut m = Monitor::new();
        assert_eq!(
            m.lines(r#"{"execute": "qmp_capabilities"}"#),
            [r#"{"return": {}}"#]
        );
        m
    }

    fn feed_bytes(&mut self, bytes: &[u8]) -> (Feed, Vec<u8>) {
        let mut out = Vec::new();
        let r = self.conn.feed(bytes, &mut self.sets, &mut out);
        (r, out)
    }

    /// The reply lines to `input`, each checked to end in CRLF.
    fn lines(&mut self, input: &str) -> Vec<String> {
        let (r, out) = self.feed_bytes(input.as_bytes());
        assert_eq!(r, Feed::Open);
        let text = String::from_utf8(out).expect("replies are UTF-8");
        assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
        text.split_terminator("\r\n").map(str::to_string).collect()
    }

    fn replies(&mut self, input: &str) -> Vec<Value> {
        self.lines(input)
            .iter()
            .map(|l| serde_json::from_str(l).expect("reply is JSON"))
            .collect()
    }

    fn one(&mut self, input: &str) -> Value {
        let mut r = self.replies(input);
        assert_eq!(r.len(), 1, "{r:?}");
        r.remove(0)
    }

    /// A received fd, queued as the server does.
    fn send_fd(&mut self) -> RawFd {
        let fd = self.sets.fds.open_file(libc::O_RDWR, true);
        assert!(self.conn.queue_fd(fd));
        fd
    }

    fn add(&mut self, args: Value) -> Value {
        self.send_fd();
        self.one(&json!({"execute": "add-fd", "arguments": args}).to_string())
    }

    /// Disconnect: queued fds are closed; then every open fake fd must be a
    /// member or a dup of the registry.
    fn assert_no_leak(mut self) {
        for fd in self.conn.take_queued_fds() {
            self.sets.close_fd(fd);
        }
        let owned: BTreeSet<RawFd> = self
            .sets
            .reg
            .member_fds()
            .chain(self.sets.reg.dup_fds())
            .collect();
        assert_eq!(
            self.sets.fds.fds.keys().copied().collect::<BTreeSet<_>>(),
            owned
        );
    }
}

fn err(class: &str, desc: &str) -> Value {
    json!({"error": {"class": class, "desc": desc}})
}

fn generic(desc: &str) -> Value {
    err("GenericError", desc)
}

// Spec 3: the greeting line, byte for byte (version documented in README).
#[test]
fn greeting_is_one_qemu_shaped_line() {
    assert_eq!(
        qmp_protocol::greeting(),
        format!(
            "{{\"QMP\": {{\"version\": {{\"qemu\": {{\"major\": 7, \"minor\": 2, \"micro\": 0}}, \"package\": \"fdset-shim {}\"}}, \"capabilities\": []}}}}\r\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

// Spec 3: until qmp_capabilities, every other command (known or not) is refused.
#[test]
fn commands_before_negotiation_are_refused() {
    let mut m = Monitor::new();
    for cmd in ["query-fdsets", "add-fd", "cont", "no-such-command"] {
        assert_eq!(
            m.one(&json!({"execute": cmd, "id": 1}).to_string()),
            json!({"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}, "id": 1})
        );
    }
    assert_eq!(m.sets.conts, 0);
    assert_eq!(
        m.lines(r#"{"execute": "qmp_capabilities", "id": "a"}"#),
        [r#"{"return": {}, "id": "a"}"#]
    );
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities"}"#),
        err(
            "CommandNotFound",
            "Capabilities negotiation is already complete, command ignored"
        )
    );
    m.assert_no_leak();
}

// Spec 3: capabilities this monitor does not offer are refused.
#[test]
fn qmp_capabilities_rejects_oob_and_unknown_arguments() {
    let mut m = Monitor::new();
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}"#),
        generic("This monitor does not support Out-Of-Band (OOB)")
    );
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities", "arguments": {"x": 1}}"#),
        generic("Parameter 'x' is unexpected")
    );
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities", "arguments": {"enable": []}}"#),
        json!({"return": {}})
    );
}

// Spec 3: every reply carries the request's id, whatever JSON value it is.
#[test]
fn id_of_any_json_type_is_echoed() {
    let mut m = Monitor::negotiated();
    for id in [
        json!("s"),
        json!(7),
        json!(-1.5),
        json!({"a": [1, {"b": null}]}),
        json!([1, 2]),
        json!(null),
        json!(true),
    ] {
        let ok = m.one(&json!({"execute": "query-fdsets", "id": id}).to_string());
        assert_eq!(ok, json!({"return": [], "id": id}));
        let e = m.one(&json!({"execute": "nope", "id": id}).to_string());
        assert_eq!(e["id"], id);
    }
}

// Spec 3 table: add-fd, lowest free id with gaps filled, a given id created,
// the member's fd number in the result.
#[test]
fn add_fd_picks_lowest_free_id_and_creates_given_ids() {
    let mut m = Monitor::negotiated();
    let r = m.add(json!({"fdset-id": 2}));
    let fd2 = r["return"]["fd"].as_i64().unwrap();
    assert_eq!(r, json!({"return": {"fdset-id": 2, "fd": fd2}}));
    assert_eq!(m.add(json!({}))["return"]["fdset-id"], 0);
    assert_eq!(m.add(json!({}))["return"]["fdset-id"], 1);
    assert_eq!(m.add(json!({}))["return"]["fdset-id"], 3);
    assert_eq!(
        m.add(json!({"fdset-id": i64::MAX}))["return"]["fdset-id"],
        i64::MAX
    );
    m.assert_no_leak();
}

// Spec 3: add-fd result members in the spec's order, QEMU spacing.
#[test]
fn add_fd_reply_text() {
    let mut m = Monitor::negotiated();
    let fd = m.send_fd();
    assert_eq!(
        m.lines(r#"{"execute":"add-fd","arguments":{"fdset-id":4,"opaque":"x"},"id":9}"#),
        [format!(
            r#"{{"return": {{"fdset-id": 4, "fd": {fd}}}, "id": 9}}"#
        )]
    );
}

// Spec 3: add-fd looks for a received fd first; a negative id with an fd
// closes that fd.
#[test]
fn add_fd_without_fd_and_with_negative_id() {
    let mut m = Monitor::negotiated();
    let no_fd = generic("No file descriptor supplied via SCM_RIGHTS");
    assert_eq!(m.one(r#"{"execute": "add-fd"}"#), no_fd);
    assert_eq!(
        m.one(r#"{"execute": "add-fd", "arguments": {"fdset-id": -1}}"#),
        no_fd
    );
    let fd = m.send_fd();
    assert_eq!(
        m.one(r#"{"execute": "add-fd", "arguments": {"fdset-id": -1}}"#),
        generic("Parameter 'fdset-id' expects a non-negative value")
    );
    assert!(!m.sets.fds.is_open(fd), "the received fd is closed");
    assert_eq!(m.one(r#"{"execute": "add-fd"}"#), no_fd);
    m.assert_no_leak();
}

// Spec 3: 64-bit arguments; 2^63 and beyond, fractions and other types are
// of the wrong type; the received fd stays queued for the next add-fd
// (argument errors come before the command looks at the queue).
#[test]
fn add_fd_argument_types() {
    let mut m = Monitor::negotiated();
    let fd = m.send_fd();
    let int_err = generic("Invalid parameter type for 'fdset-id', expected: integer");
    for bad in [
        "9223372036854775808",
        "18446744073709551616",
        "1.5",
        "1e3",
        "\"1\"",
        "null",
        "[1]",
        "true",
    ] {
        assert_eq!(
            m.one(&format!(
                r#"{{"execute": "add-fd", "arguments": {{"fdset-id": {bad}}}}}"#
            )),
            int_err,
            "{bad}"
        );
    }
    assert_eq!(
        m.one(r#"{"execute": "add-fd", "arguments": {"opaque": 5}}"#),
        generic("Invalid parameter type for 'opaque', expected: string")
    );
    assert_eq!(
        m.one(r#"{"execute": "add-fd", "arguments": {"fdset-id": 1, "fd": 3}}"#),
        generic("Parameter 'fd' is unexpected")
    );
    assert_eq!(
        m.add(json!({"fdset-id": 1}))["return"]["fd"],
        fd,
        "oldest queued fd taken"
    );
    m.assert_no_leak();
}

// Spec 3: received fds are queued; add-fd takes the oldest; the queue is bounded.
#[test]
fn queued_fds_oldest_first_and_bounded() {
    let mut m = Monitor::negotiated();
    let a = m.send_fd();
    let b = m.send_fd();
    let r = m.replies(r#"{"execute": "add-fd"}{"execute": "add-fd"}"#);
    assert_eq!(r[0]["return"]["fd"], a);
    assert_eq!(r[1]["return"]["fd"], b);
    for _ in 0..qmp_protocol::MAX_QUEUED_FDS {
        m.send_fd();
    }
    assert!(!m.conn.queue_fd(99_999), "queue full");
    m.assert_no_leak();
}

// Spec 3 table: remove-fd, its errors, and a removed member being invisible.
#[test]
fn remove_fd_and_its_errors() {
    let mut m = Monitor::negotiated();
    let fd = m.add(json!({"fdset-id": 3}))["return"]["fd"]
        .as_i64()
        .unwrap();
    m.add(json!({"fdset-id": 3}));
    assert_eq!(
        m.one(r#"{"execute": "remove-fd"}"#),
        generic("Parameter 'fdset-id' is missing")
    );
    assert_eq!(
        m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": "3"}}"#),
        generic("Invalid parameter type for 'fdset-id', expected: integer")
    );
    assert_eq!(
        m.one(
            r#"{"execute": "remove-fd", "arguments": {"fdset-id": 3, "fd": 9223372036854775808}}"#
        ),
        generic("Invalid parameter type for 'fd', expected: integer")
    );
    assert_eq!(
        m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": 3, "x": 1}}"#),
        generic("Parameter 'x' is unexpected")
    );
    assert_eq!(
        m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": 7}}"#),
        generic("File descriptor named 'fdset-id:7' not found")
    );
    assert_eq!(
        m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": -1}}"#),
        generic("File descriptor named 'fdset-id:-1' not found")
    );
    assert_eq!(
        m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": 3, "fd": 4294967296}}"#),
        generic("File descriptor named 'fdset-id:3, fd:4294967296' not found")
    );
    let rm = json!({"execute": "remove-fd", "arguments": {"fdset-id": 3, "fd": fd}}).to_string();
    assert_eq!(m.one(&rm), json!({"return": {}}));
    assert!(
        !m.sets.fds.is_open(fd as RawFd),
        "removed member with no dup is closed"
    );
    assert_eq!(
        m.one(&rm),
        generic(&format!(
            "File descriptor named 'fdset-id:3, fd:{fd}' not found"
        ))
    );
    assert_eq!(
        m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": 3}}"#),
        json!({"return": {}})
    );
    assert_eq!(
        m.one(r#"{"execute": "query-fdsets"}"#),
        json!({"return": []})
    );
    m.assert_no_leak();
}

// Spec 3 table: query-fdsets order, opaque left out when never given,
// removed members hidden, a set kept alive by a dup shown with "fds": [].
#[test]
fn query_fdsets_order_and_shape() {
    let mut m = Monitor::negotiated();
    let a = m.add(json!({"fdset-id": 1, "opaque": "first"}))["return"]["fd"].clone();
    let b = m.add(json!({"fdset-id": 1}))["return"]["fd"].clone();
    let c = m.add(json!({"fdset-id": 5, "opaque": ""}))["return"]["fd"].clone();
    let d = m.add(json!({"fdset-id": 0}))["return"]["fd"].clone();
    assert_eq!(
        m.one(r#"{"execute": "query-fdsets"}"#),
        json!({"return": [
            {"fdset-id": 5, "fds": [{"fd": c, "opaque": ""}]},
            {"fdset-id": 1, "fds": [{"fd": a, "opaque": "first"}, {"fd": b}]},
            {"fdset-id": 0, "fds": [{"fd": d}]},
        ]})
    );
    // Exact text: the spec's member order and QEMU's spacing.
    assert_eq!(
        m.lines(r#"{"execute": "query-fdsets"}"#)[0],
        format!(
            r#"{{"return": [{{"fdset-id": 5, "fds": [{{"fd": {c}, "opaque": ""}}]}}, {{"fdset-id": 1, "fds": [{{"fd": {a}, "opaque": "first"}}, {{"fd": {b}}}]}}, {{"fdset-id": 0, "fds": [{{"fd": {d}}}]}}]}}"#
        )
    );
    let dup = m
        .sets
        .reg
        .open(&mut m.sets.fds, 0, libc::O_RDWR)
        .result()
        .unwrap();
    m.one(r#"{"execute": "remove-fd", "arguments": {"fdset-id": 0}}"#);
    assert_eq!(
        m.one(r#"{"execute": "query-fdsets"}"#)["return"][2],
        json!({"fdset-id": 0, "fds": []})
    );
    m.sets.reg.forget_dup(&mut m.sets.fds, dup, &mut Vec::new());
    m.sets.fds.close(dup);
    assert_eq!(
        m.one(r#"{"execute": "query-fdsets"}"#)["return"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    m.assert_no_leak();
}

// Spec 3: cont, query-version, query-commands, unknown commands.
#[test]
fn other_commands() {
    let mut m = Monitor::negotiated();
    assert_eq!(m.one(r#"{"execute": "cont"}"#), json!({"return": {}}));
    assert_eq!(m.sets.conts, 1);
    assert_eq!(
        m.one(r#"{"execute": "query-version"}"#),
        json!({"return": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": format!("fdset-shim {}", env!("CARGO_PKG_VERSION"))}})
    );
    let names: Vec<Value> = m.one(r#"{"execute": "query-commands"}"#)["return"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(
        names,
        json!([
            "qmp_capabilities",
            "add-fd",
            "remove-fd",
            "query-fdsets",
            "cont",
            "query-version",
            "query-commands",
            "x-query-fdset-members"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    assert_eq!(
        m.one(r#"{"execute": "stop"}"#),
        err("CommandNotFound", "The command stop has not been found")
    );
    assert_eq!(
        m.one(r#"{"execute": "cont", "arguments": {"a": 1}}"#),
        generic("Parameter 'a' is unexpected")
    );
}

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
