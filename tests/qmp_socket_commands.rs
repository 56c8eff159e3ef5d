//! The control socket end to end (spec section 3, the monitor rules of
//! section 2): each command over a socketpair monitor, acting on a C program
//! under the shim whose fd table is read from /proc after each step:
//! the greeting and negotiation, `add-fd`, `query-fdsets`, `remove-fd`, their
//! errors (none leaves an fd behind), fds sent with the command.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::fs::File;
use std::os::fd::AsRawFd;

// Spec 3: greeting line, negotiation, id echo, over a socketpair monitor.
#[test]
fn greeting_and_negotiation_over_socketpair() {
    let (_p, mut q) = with_socketpair(|_| {});
    assert_eq!(
        q.raw_line(),
        format!(
            "{{\"QMP\": {{\"version\": {{\"qemu\": {{\"major\": 7, \"minor\": 2, \"micro\": 0}}, \"package\": \"fdset-shim {}\"}}, \"capabilities\": []}}}}\r\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        q.cmd(json!({"execute": "query-fdsets", "id": "x"})),
        json!({"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}, "id": "x"})
    );
    q.send(b"{\"execute\": \"qmp_capabilities\", \"id\": {\"n\": [1]}}");
    assert_eq!(q.raw_line(), "{\"return\": {}, \"id\": {\"n\": [1]}}\r\n");
    assert_eq!(
        q.cmd(json!({"execute": "qmp_capabilities"})),
        json!({"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}})
    );
}

// Spec 3 table + section 2: add-fd hands the member's number; the program
// opens /dev/fdset/N and reads; remove-fd closes the member once no dup is open.
#[test]
fn add_fd_open_read_remove() {
    let dir = TempDir::new("qmp-add");
    let path = dir.file("data.txt", b"line one\nline two\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let before = p.fds();
    let file = File::open(&path).unwrap();
    let r = q.add_fd(&file, json!({"fdset-id": 4, "opaque": "disk"}));
    drop(file);
    let member = ret_fd(&r);
    assert_eq!(r, json!({"return": {"fdset-id": 4, "fd": member}}));
    assert!(member >= 100, "members live at high numbers");
    assert_eq!(
        p.fds_to(&path),
        [member],
        "only the member refers to the file"
    );
    assert_eq!(
        q.exec("query-fdsets", json!({})),
        json!({"return": [{"fdset-id": 4, "fds": [{"fd": member, "opaque": "disk"}]}]})
    );
    let dup = p.open("/dev/fdset/4", "r").unwrap();
    assert!(dup < 100);
    assert_eq!(p.step(&format!("read {dup}")), "data line one|line two|");
    assert_eq!(p.open("/dev/fdset/4", "w"), Err(libc::EACCES));
    // Removed while a dup is open: hidden, kept until the dup closes.
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 4, "fd": member})),
        json!({"return": {}})
    );
    assert_eq!(
        q.exec("query-fdsets", json!({})),
        json!({"return": [{"fdset-id": 4, "fds": []}]})
    );
    assert_eq!(p.fds_to(&path), [dup, member]);
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    assert_eq!(
        p.fds(),
        before,
        "member closed with its last dup, nothing left behind"
    );
    assert_eq!(q.exec("query-fdsets", json!({})), json!({"return": []}));
    assert_eq!(p.open("/dev/fdset/4", "r"), Err(libc::ENOENT));
}

// Spec 3 errors over the socket; no error path leaves an fd behind.
#[test]
fn add_fd_and_remove_fd_errors_leave_nothing_behind() {
    let dir = TempDir::new("qmp-err");
    let path = dir.file("f", b"x");
    let (p, mut q) = ready_socketpair(|_| {});
    let before = p.fds();
    let no_fd = generic("No file descriptor supplied via SCM_RIGHTS");
    assert_eq!(q.exec("add-fd", json!({})), no_fd);
    assert_eq!(q.exec("add-fd", json!({"fdset-id": -1})), no_fd);
    let file = File::open(&path).unwrap();
    assert_eq!(
        q.add_fd(&file, json!({"fdset-id": -1})),
        generic("Parameter 'fdset-id' expects a non-negative value")
    );
    assert_eq!(p.fds(), before, "the received fd was closed");
    q.send_fds(&[file.as_raw_fd()], b" ");
    q.send(b"{\"execute\": \"add-fd\", \"arguments\": {\"fdset-id\": 9223372036854775808}}");
    assert_eq!(
        q.reply(),
        generic("Invalid parameter type for 'fdset-id', expected: integer")
    );
    assert_eq!(
        q.exec("add-fd", json!({"opaque": 1})),
        generic("Invalid parameter type for 'opaque', expected: string")
    );
    assert_eq!(
        q.exec("add-fd", json!({"bogus": 1})),
        generic("Parameter 'bogus' is unexpected")
    );
    // The fd sent before those errors is still queued and is taken now.
    let m = ret_fd(&q.exec("add-fd", json!({"fdset-id": 0})));
    assert_eq!(p.fds_to(&path), [m]);
    assert_eq!(
        q.exec("remove-fd", json!({})),
        generic("Parameter 'fdset-id' is missing")
    );
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": -1})),
        generic("File descriptor named 'fdset-id:-1' not found")
    );
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 8})),
        generic("File descriptor named 'fdset-id:8' not found")
    );
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 0, "fd": m + 1})),
        generic(&format!(
            "File descriptor named 'fdset-id:0, fd:{}' not found",
            m + 1
        ))
    );
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 0, "fd": m})),
        json!({"return": {}})
    );
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 0, "fd": m})),
        generic(&format!(
            "File descriptor named 'fdset-id:0, fd:{m}' not found"
        ))
    );
    assert_eq!(p.fds(), before);
    for (input, desc) in [
        ("[]", "QMP input must be a JSON object"),
        (
            "{\"execute\": 3}",
            "QMP input member 'execute' must be a string",
        ),
        (
            "{\"execute\": \"cont\", \"x\": 1}",
            "QMP input member 'x' is unexpected",
        ),
    ] {
        q.send(input.as_bytes());
        assert_eq!(q.reply(), generic(desc));
    }
    assert_eq!(
        q.exec("eject", json!({})),
        json!({"error": {"class": "CommandNotFound", "desc": "The command eject has not been found"}})
    );
}

// Spec 3 table: query-fdsets in descending id order, members in the order
// added, opaque left out when never given; add-fd without id fills gaps.
#[test]
fn query_fdsets_order_and_lowest_free_id() {
    let dir = TempDir::new("qmp-order");
    let path = dir.file("f", b"x");
    let (_p, mut q) = ready_socketpair(|_| {});
    let f = File::open(&path).unwrap();
    let a = ret_fd(&q.add_fd(&f, json!({"fdset-id": 1})));
    let b = ret_fd(&q.add_fd(&f, json!({"fdset-id": 3, "opaque": "b"})));
    let c = ret_fd(&q.add_fd(&f, json!({"fdset-id": 1, "opaque": "c"})));
    let r = q.add_fd(&f, json!({}));
    assert_eq!(r["return"]["fdset-id"], 0);
    let d = ret_fd(&r);
    let r = q.add_fd(&f, json!({}));
    assert_eq!(r["return"]["fdset-id"], 2, "gap filled");
    let e = ret_fd(&r);
    q.send(b"{\"execute\": \"query-fdsets\"}");
    assert_eq!(
        q.raw_line(),
        format!(
            "{{\"return\": [{{\"fdset-id\": 3, \"fds\": [{{\"fd\": {b}, \"opaque\": \"b\"}}]}}, {{\"fdset-id\": 2, \"fds\": [{{\"fd\": {e}}}]}}, {{\"fdset-id\": 1, \"fds\": [{{\"fd\": {a}}}, {{\"fd\": {c}, \"opaque\": \"c\"}}]}}, {{\"fdset-id\": 0, \"fds\": [{{\"fd\": {d}}}]}}]}}\r\n"
        )
    );
}

// Spec 3: fds in the same message as the command (libvirt), several fds in
// one message queued and taken oldest first.
#[test]
fn fds_with_the_command_and_several_per_message() {
    let dir = TempDir::new("qmp-multi");
    let one = dir.file("one", b"1");
    let two = dir.file("two", b"2");
    let (p, mut q) = ready_socketpair(|_| {});
    let f1 = File::open(&one).unwrap();
    let f2 = File::open(&two).unwrap();
    q.send_fds(
        &[f1.as_raw_fd()],
        br#"{"execute": "add-fd", "arguments": {"fdset-id": 1}}"#,
    );
    let m1 = ret_fd(&q.reply());
    assert_eq!(p.fds_to(&one), [m1]);
    q.send_fds(&[f2.as_raw_fd(), f1.as_raw_fd()], b"\n");
    let a = ret_fd(&q.exec("add-fd", json!({"fdset-id": 2})));
    let b = ret_fd(&q.exec("add-fd", json!({"fdset-id": 2})));
    assert_eq!(p.fds_to(&two), [a], "the oldest fd first");
    assert!(p.fds_to(&one).contains(&b));
}
