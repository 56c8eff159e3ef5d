//! The control socket end to end (spec section 3, the monitor rules of
//! section 2, FDSET_CONTROL_FD/FDSET_WAIT of section 5): a C program under
//! the shim, driven over socketpairs and listening sockets, with its fd table
//! read from /proc after each step.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::{Value, json};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

fn ret_fd(r: &Value) -> i32 {
    r["return"]["fd"]
        .as_i64()
        .unwrap_or_else(|| panic!("no fd in {r}")) as i32
}

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

// thousands of fds: the queue is bounded, the excess closed, the
// leftovers closed at disconnect, and the connection keeps answering.
#[test]
fn thousands_of_fds_are_bounded_and_closed() {
    let dir = TempDir::new("qmp-many");
    let path = dir.file("f", b"x");
    let (p, sock) = with_listener(&dir, |_| {});
    let before = p.fds();
    let mut q = Qmp::ready(&sock);
    let f = File::open(&path).unwrap();
    let batch = vec![f.as_raw_fd(); 250];
    for _ in 0..8 {
        q.send_fds(&batch, b" ");
    }
    let r = q.exec("add-fd", json!({"fdset-id": 1}));
    let m = ret_fd(&r);
    let held = p.fds_to(&path).len();
    assert_eq!(
        held, 64,
        "64 queued (one of them now the member), the rest closed"
    );
    drop(q);
    p.wait_fds("queued fds closed at disconnect", |fds| {
        fds.len() == before.len()
    });
    assert!(!p.fds().contains_key(&m), "member closed: no monitor left");
}

// Spec 3: objects split across writes, several in one write, blanks; a
// malformed line gets its error and the next command is answered.
#[test]
fn framing_over_the_socket() {
    let (_p, mut q) = ready_socketpair(|_| {});
    let cmd = br#"{"execute": "query-version", "id": 1}"#;
    for chunk in cmd.chunks(5) {
        q.send(chunk);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(q.reply()["id"], 1);
    q.send(b"{\"execute\":\"cont\",\"id\":2}  {\"execute\":\"cont\",\"id\":3}\r\n{\"execute\":\"cont\",\"id\":4}");
    assert_eq!(
        [
            q.reply()["id"].clone(),
            q.reply()["id"].clone(),
            q.reply()["id"].clone()
        ],
        [2, 3, 4]
    );
    q.send(b"this is not json\n{\"execute\":\"cont\",\"id\":5}\n");
    let e = q.reply();
    assert_eq!(e["error"]["class"], "GenericError");
    assert!(
        e["error"]["desc"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error")
    );
    assert_eq!(q.reply(), json!({"return": {}, "id": 5}));
    q.send(&[0xff, 0x00, 0x13, b'\n']);
    assert_eq!(q.reply()["error"]["class"], "GenericError");
    assert_eq!(
        q.cmd(json!({"execute": "cont", "id": 6})),
        json!({"return": {}, "id": 6})
    );
}

// a 10 MB line is a clean disconnect; the program and other
// monitors are unharmed and new ones are accepted.
#[test]
fn ten_megabyte_line_disconnects_cleanly() {
    let dir = TempDir::new("qmp-big");
    let (mut p, sock) = with_listener(&dir, |_| {});
    let mut other = Qmp::ready(&sock);
    let mut q = Qmp::ready(&sock);
    let mut line = b"{\"execute\": \"cont\", \"id\": \"".to_vec();
    line.resize(10 << 20, b'a');
    line.extend_from_slice(b"\"}\n");
    // The server closes mid-way: the write may fail with EPIPE/ECONNRESET.
    let _ = q.stream.write_all(&line);
    assert!(q.at_eof(), "connection closed");
    assert_eq!(p.step("ping"), "pong");
    assert_eq!(
        other.cmd(json!({"execute": "cont", "id": 1})),
        json!({"return": {}, "id": 1})
    );
    let mut again = Qmp::ready(&sock);
    assert_eq!(
        again.cmd(json!({"execute": "query-fdsets"})),
        json!({"return": []})
    );
}

// a peer that goes away mid-command, with fds queued, leaves no fd.
#[test]
fn peer_gone_mid_command() {
    let dir = TempDir::new("qmp-gone");
    let path = dir.file("f", b"x");
    let (mut p, sock) = with_listener(&dir, |_| {});
    let before = p.fds();
    let q = Qmp::ready(&sock);
    let f = File::open(&path).unwrap();
    q.send_fds(&[f.as_raw_fd(), f.as_raw_fd()], b"{\"execute\": \"add-f");
    drop(q);
    p.wait_fds("connection and queued fds closed", |fds| *fds == before);
    assert_eq!(p.step("ping"), "pong");
}

// Spec 2: sets are in use while a monitor is connected; the last one leaving
// runs cleanup on every set (members with no dups closed); a member with a
// dup open stays until the dup closes.
#[test]
fn last_monitor_disconnect_cleans_up() {
    let dir = TempDir::new("qmp-last");
    let path = dir.file("f", b"content");
    let (mut p, sock) = with_listener(&dir, |_| {});
    let mut q1 = Qmp::ready(&sock);
    let mut q2 = Qmp::ready(&sock);
    let f = File::open(&path).unwrap();
    let kept = ret_fd(&q1.add_fd(&f, json!({"fdset-id": 1})));
    let busy = ret_fd(&q1.add_fd(&f, json!({"fdset-id": 2})));
    let dup = p.open("/dev/fdset/2", "r").unwrap();
    p.open_close("/dev/fdset/1");
    assert!(
        p.fds().contains_key(&kept),
        "in use: closing the last dup keeps the member"
    );
    drop(q1);
    // q2 still connected: nothing is cleaned up.
    assert_eq!(
        q2.exec("query-fdsets", json!({}))["return"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(p.fds().contains_key(&kept));
    drop(q2);
    p.wait_fds("set 1 member closed", |fds| !fds.contains_key(&kept));
    assert!(
        p.fds().contains_key(&busy),
        "a member with an open dup stays"
    );
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    assert!(!p.fds().contains_key(&busy), "closed with its last dup");
    assert_eq!(p.fds_to(&path), Vec::<i32>::new());
    // A new monitor: sets are in use again.
    let mut q3 = Qmp::ready(&sock);
    let m = ret_fd(&q3.add_fd(&f, json!({"fdset-id": 5})));
    p.open_close("/dev/fdset/5");
    assert!(p.fds().contains_key(&m));
}

// Spec sections 2 and 3: a connected control socket is a monitor from before
// main, so launch-time sets are in use from the start; a half-close by the
// peer is a disconnect (replies to what was sent still arrive).
#[test]
fn socketpair_monitor_from_start_and_half_close() {
    let dir = TempDir::new("qmp-start");
    let path = dir.file("f", b"launch");
    let (mut p, mut q) = with_socketpair(|cmd| {
        // fd 3 is the control socket; the member travels as fd 4.
        cmd.env("FDSET_ADD_FD", "fd=4,set=1");
        let f = File::open(&path).unwrap();
        inherit_two(cmd, f);
    });
    let member = p.fds_to(&path);
    assert_eq!(member.len(), 1);
    // Before any QMP byte: closing the only dup keeps the member (in use).
    let dup = p.open("/dev/fdset/1", "r").unwrap();
    assert_eq!(p.step(&format!("read {dup}")), "data launch");
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    assert_eq!(p.fds_to(&path), member);
    q.greeting();
    q.send(b"{\"execute\": \"qmp_capabilities\", \"id\": 1}");
    q.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(q.reply(), json!({"return": {}, "id": 1}));
    assert!(q.at_eof());
    p.wait_fds("member closed after the only monitor left", |fds| {
        !fds.contains_key(&member[0])
    });
    assert!(p.owned_sockets().is_empty(), "control socket closed");
}

/// Inherit `f` as fd 4 besides the control socket at 3.
fn inherit_two(cmd: &mut std::process::Command, f: File) {
    use std::os::unix::process::CommandExt;
    let raw = f.as_raw_fd();
    let keep = std::sync::Arc::new(f);
    // SAFETY: only dup2 between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let _ = &keep;
            if libc::dup2(raw, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

// Spec 3: a listening socket serves any number of monitors concurrently.
#[test]
fn concurrent_monitors() {
    let dir = TempDir::new("qmp-conc");
    let (_p, sock) = with_listener(&dir, |_| {});
    let mut qs: Vec<Qmp> = (0..8).map(|_| Qmp::connect(&sock)).collect();
    for q in &mut qs {
        q.greeting();
    }
    for (i, q) in qs.iter_mut().enumerate() {
        q.send(
            json!({"execute": "qmp_capabilities", "id": i})
                .to_string()
                .as_bytes(),
        );
    }
    for (i, q) in qs.iter_mut().enumerate().rev() {
        assert_eq!(q.reply(), json!({"return": {}, "id": i}));
    }
    let threads: Vec<_> = qs
        .into_iter()
        .enumerate()
        .map(|(i, mut q)| {
            std::thread::spawn(move || {
                for k in 0..50 {
                    let id = i * 1000 + k;
                    assert_eq!(
                        q.cmd(json!({"execute": "query-fdsets", "id": id})),
                        json!({"return": [], "id": id})
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

// Spec 5: FDSET_WAIT=1 holds main until a monitor sends cont.
#[test]
fn fdset_wait_holds_main_until_cont() {
    let dir = TempDir::new("qmp-wait");
    let (mut p, sock) = waiting_program(&dir);
    let mut q = Qmp::ready(&sock);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q.exec("query-fdsets", json!({})), json!({"return": []}));
    let child_task = std::thread::spawn(move || {
        let first = p.line();
        (first, p)
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(!child_task.is_finished(), "main started before cont");
    assert_eq!(q.exec("cont", json!({})), json!({"return": {}}));
    let (first, mut p) = child_task.join().unwrap();
    assert_eq!(first, "main");
    assert_eq!(p.step("env FDSET_WAIT"), "unset");
    assert_eq!(p.step("env FDSET_CONTROL_FD"), "unset");
}

// FDSET_WAIT=1 with no way left to receive cont: a clear error, exit 1.
#[test]
fn fdset_wait_without_any_monitor_left_fails() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    drop(ours);
    let mut cmd = step_program(theirs.into());
    cmd.env("FDSET_WAIT", "1");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "fdset-shim: FDSET_WAIT=1: every control connection closed before 'cont'\n"
    );
    assert_eq!(stdout_of(&out), "");
}

// Spec section 5: bad FDSET_CONTROL_FD/FDSET_WAIT stop the program before
// main with one `fdset-shim:` line.
#[test]
fn bad_control_settings_stop_the_program() {
    use std::os::fd::OwnedFd;
    let dir = TempDir::new("qmp-env");
    let plain = dir.file("plain", b"");
    // What the program inherits as fd 3.
    enum Fd3 {
        Nothing,
        Plain,
        Datagram,
        Stream,
    }
    let cases = [
        (
            "FDSET_CONTROL_FD",
            "3x",
            Fd3::Nothing,
            "FDSET_CONTROL_FD: '3x' is not a file descriptor number",
        ),
        (
            "FDSET_CONTROL_FD",
            "",
            Fd3::Nothing,
            "FDSET_CONTROL_FD: '' is not a file descriptor number",
        ),
        (
            "FDSET_CONTROL_FD",
            "77",
            Fd3::Nothing,
            "FDSET_CONTROL_FD: fd 77 is not open",
        ),
        (
            "FDSET_CONTROL_FD",
            "1",
            Fd3::Nothing,
            "FDSET_CONTROL_FD: fd 1 is a standard I/O stream",
        ),
        (
            "FDSET_CONTROL_FD",
            "3",
            Fd3::Plain,
            "FDSET_CONTROL_FD: fd 3 is not a socket",
        ),
        (
            "FDSET_CONTROL_FD",
            "3",
            Fd3::Datagram,
            "FDSET_CONTROL_FD: fd 3 is not a stream socket",
        ),
        (
            "FDSET_CONTROL_FD",
            "3,3",
            Fd3::Stream,
            "FDSET_CONTROL_FD: fd 3 is named twice",
        ),
        (
            "FDSET_WAIT",
            "1",
            Fd3::Nothing,
            "FDSET_WAIT=1 needs FDSET_CONTROL_FD: nobody could send 'cont'",
        ),
        (
            "FDSET_WAIT",
            "yes",
            Fd3::Nothing,
            "FDSET_WAIT: expected 0 or 1, got 'yes'",
        ),
    ];
    for (var, value, fd3, text) in cases {
        let mut cmd = preloaded(c_test("qmp_step"));
        cmd.env(var, value).stdin(std::process::Stdio::null());
        let _peer;
        let file = match fd3 {
            Fd3::Nothing => None,
            Fd3::Plain => Some(File::open(&plain).unwrap()),
            Fd3::Datagram => Some(File::from(OwnedFd::from(
                std::os::unix::net::UnixDatagram::unbound().unwrap(),
            ))),
            Fd3::Stream => {
                let (a, b) = UnixStream::pair().unwrap();
                _peer = b;
                Some(File::from(OwnedFd::from(a)))
            }
        };
        if let Some(f) = file {
            inherit_fds(&mut cmd, vec![(f, 3)]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{var}={value}: {}",
            stderr_of(&out)
        );
        assert_eq!(stdout_of(&out), "", "{var}={value}: main must not run");
        assert_eq!(
            stderr_of(&out),
            format!("fdset-shim: {text}\n"),
            "{var}={value}"
        );
    }
    // An fd cannot be both a control socket and a launch-time member.
    let mut cmd = preloaded(c_test("qmp_step"));
    cmd.env("FDSET_CONTROL_FD", "3")
        .env("FDSET_ADD_FD", "fd=3,set=0");
    let (a, _b) = UnixStream::pair().unwrap();
    inherit_fds(&mut cmd, vec![(File::from(OwnedFd::from(a)), 3)]);
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "fdset-shim: FDSET_CONTROL_FD: fd 3 is also named in FDSET_ADD_FD\n"
    );
}

// Spec 5/6: the control socket is the shim's: close-on-exec, at a high
// number, not closable by the program; a dup2 onto it moves it and the
// monitor keeps working; closefrom steps over it.
#[test]
fn control_socket_is_protected_and_survives_dup2() {
    let (mut p, mut q) = ready_socketpair(|_| {});
    let socks = p.owned_sockets();
    assert_eq!(socks.len(), 1, "{:?}", p.fds());
    let ctl = socks[0];
    assert!(!p.fds().contains_key(&3), "fd 3 was moved away");
    let fdinfo = std::fs::read_to_string(format!("/proc/{}/fdinfo/{ctl}", p.pid())).unwrap();
    let flags = fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .unwrap()
        .trim()
        .to_string();
    assert!(
        u32::from_str_radix(&flags, 8).unwrap() & libc::O_CLOEXEC as u32 != 0,
        "close-on-exec"
    );
    assert_eq!(
        p.step(&format!("close {ctl}")),
        format!("err {}", libc::EBADF)
    );
    assert_eq!(p.step("closefrom 3"), "ok");
    assert_eq!(
        q.cmd(json!({"execute": "query-fdsets", "id": 1})),
        json!({"return": [], "id": 1})
    );
    assert_eq!(p.step(&format!("dup2 0 {ctl}")), "ok");
    assert_eq!(
        p.fds()[&ctl],
        p.fds()[&0],
        "the number is the program's now"
    );
    for id in 2..20 {
        assert_eq!(
            q.cmd(json!({"execute": "query-fdsets", "id": id})),
            json!({"return": [], "id": id})
        );
    }
    let moved = p.owned_sockets();
    assert_eq!(moved.len(), 1);
    assert_ne!(moved[0], ctl);
    assert_eq!(
        p.step(&format!("close {ctl}")),
        "ok",
        "the program's own fd closes normally"
    );
}

// Spec 3: received fds that were queued are the shim's too: a dup2 onto a
// queued fd moves it, and add-fd still takes the right file.
#[test]
fn dup2_onto_a_queued_fd_keeps_it() {
    let dir = TempDir::new("qmp-queued");
    let path = dir.file("f", b"queued");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let f = File::open(&path).unwrap();
    q.send_fds(&[f.as_raw_fd()], b" ");
    p.wait_fds("queued fd arrived", |fds| {
        fds.values().any(|v| *v == path.to_string_lossy())
    });
    let queued = p.fds_to(&path)[0];
    assert_eq!(p.step(&format!("dup2 0 {queued}")), "ok");
    let m = ret_fd(&q.exec("add-fd", json!({"fdset-id": 1})));
    assert_ne!(m, queued);
    assert_eq!(p.fds_to(&path), [m]);
    let dup = p.open("/dev/fdset/1", "r").unwrap();
    assert_eq!(p.step(&format!("read {dup}")), "data queued");
}

// Spec 3: a truncated control message (MSG_CTRUNC: here the program runs out
// of descriptors while the kernel installs them) closes whatever did arrive.
#[test]
fn truncated_fd_message_closes_what_arrived() {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("qmp-ctrunc");
    let path = dir.file("f", b"x");
    let (p, mut q) = with_socketpair(|cmd| {
        // SAFETY: setrlimit only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let rl = libc::rlimit {
                    rlim_cur: 24,
                    rlim_max: 24,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    q.greeting();
    q.negotiate();
    let before = p.fds();
    let f = File::open(&path).unwrap();
    q.send_fds(&[f.as_raw_fd(); 40], b" ");
    assert_eq!(
        q.exec("add-fd", json!({})),
        generic("No file descriptor supplied via SCM_RIGHTS")
    );
    assert_eq!(p.fds(), before, "the fds that did arrive were closed");
    // Within the limit, fds still arrive and are taken.
    q.send_fds(&[f.as_raw_fd()], b" ");
    let m = ret_fd(&q.exec("add-fd", json!({"fdset-id": 3})));
    assert_eq!(p.fds_to(&path), [m]);
}

// commands sent in one go whose replies exceed the output bound
// are held back, then answered as the client reads, none lost.
#[test]
fn pipelined_commands_with_large_replies_all_answer() {
    let dir = TempDir::new("qmp-pipe");
    let path = dir.file("f", b"x");
    let (_p, mut q) = ready_socketpair(|_| {});
    let f = File::open(&path).unwrap();
    let opaque = "o".repeat(60_000);
    for set in 0..20 {
        q.add_fd(&f, json!({"fdset-id": set, "opaque": opaque}));
    }
    let mut burst = Vec::new();
    for id in 0..5 {
        burst.extend(
            json!({"execute": "query-fdsets", "id": id})
                .to_string()
                .into_bytes(),
        );
    }
    q.send(&burst);
    for id in 0..5 {
        let r = q.reply();
        assert_eq!(r["id"], id);
        assert_eq!(r["return"].as_array().unwrap().len(), 20);
    }
}
