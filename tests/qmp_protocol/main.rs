//! The QMP protocol layer without sockets (spec section 3): a `Connection`
//! fed with bytes and fd numbers, acting on a real `Registry` whose
//! descriptors are fake numbers, so that every fd can be accounted for.

use fdset_core::qmp as qmp_protocol;
use fdset_core::registry;

use registry::{FdOps, RawFd};
use serde_json::{Value, json};

mod framing;
mod monitor;
use monitor::*;

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
    // QEMU 7.2's texts, checked against it: every element's shape before
    // anything else, unexpected members next.
    for (enable, desc) in [
        (r#"["x"]"#, "Parameter 'null' does not accept value 'x'"),
        (
            r#"["oob", "x"]"#,
            "Parameter 'null' does not accept value 'x'",
        ),
        (
            "[1]",
            "Invalid parameter type for 'enable[0]', expected: string",
        ),
        (
            r#"["oob", 1]"#,
            "Invalid parameter type for 'enable[1]', expected: string",
        ),
    ] {
        let cmd =
            format!(r#"{{"execute": "qmp_capabilities", "arguments": {{"enable": {enable}}}}}"#);
        assert_eq!(m.one(&cmd), generic(desc), "{cmd}");
    }
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"], "x": 1}}"#),
        generic("Parameter 'x' is unexpected")
    );
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities", "arguments": {"enable": []}}"#),
        json!({"return": {}})
    );
    // Negotiated: a second negotiation is refused as such even when it asks
    // for what this monitor does not offer (QEMU checks in that order).
    assert_eq!(
        m.one(r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}"#),
        err(
            "CommandNotFound",
            "Capabilities negotiation is already complete, command ignored"
        )
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
