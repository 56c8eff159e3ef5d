//! The control socket's framing and bounds (spec section 3): objects split
//! across writes or several in one, malformed lines, a 10 MB line, thousands
//! of fds, a truncated fd message, a peer gone mid-command, replies larger
//! than the output bound; none of them loses an answer or leaves an fd.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

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

// Spec 3: a truncated control message (MSG_CTRUNC: here the program runs out
// of descriptors while the kernel installs them) closes whatever did arrive.
#[test]
fn truncated_fd_message_closes_what_arrived() {
    let dir = TempDir::new("qmp-ctrunc");
    let path = dir.file("f", b"x");
    let (p, mut q) = with_socketpair(|cmd| limit_open_files(cmd, 24));
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
