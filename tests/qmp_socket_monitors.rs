//! The control socket's monitors (spec section 2's monitor rule, sections 3,
//! 5 and 6): sets in use while a monitor is connected and cleaned up when
//! the last leaves, a socketpair monitor from before `main`, many monitors at
//! once, and the control socket and queued fds kept the shim's (close-on-exec,
//! high numbers, moved by a `dup2` onto them).
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::fs::File;
use std::os::fd::AsRawFd;

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

// Spec section 3, "a connection is a monitor from its greeting on, before
// qmp_capabilities", for a connection accepted on a listening socket: with
// only the greeting read, a launch-time set is in use (closing its only dup
// keeps the member); once that connection leaves, the member is closed.
#[test]
fn an_accepted_connection_is_a_monitor_from_its_greeting() {
    let dir = TempDir::new("qmp-accepted");
    let path = dir.file("f", b"launch");
    let (mut p, sock) = with_listener(&dir, |cmd| {
        // fd 3 is the listening socket; the member travels as fd 4.
        cmd.env("FDSET_ADD_FD", "fd=4,set=1");
        let f = File::open(&path).unwrap();
        inherit_two(cmd, f);
    });
    let member = p.fds_to(&path);
    assert_eq!(member.len(), 1);
    let mut q = Qmp::connect(&sock);
    q.greeting();
    let dup = p.open("/dev/fdset/1", "r").unwrap();
    assert_eq!(p.step(&format!("read {dup}")), "data launch");
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    assert_eq!(p.fds_to(&path), member, "in use: the member stays");
    drop(q);
    p.wait_fds("member closed once the monitor left", |fds| {
        !fds.contains_key(&member[0])
    });
}

// Spec section 3, "every reply is one JSON object on one line", with the
// README's promise for a half-close (socat's, at the end of its input):
// the replies to what was sent before it still arrive, all of them, even
// when they are far more than the socket holds (here 120 replies of about
// 10 KB, read only after the half-close). The monitor leaves once they are
// out.
#[test]
fn a_half_close_still_gets_every_reply() {
    let dir = TempDir::new("qmp-half-close-replies");
    let path = dir.file("f", b"x");
    let (_p, mut q) = ready_socketpair(|_| {});
    let opaque = "o".repeat(10_000);
    let f = File::open(&path).unwrap();
    ret_fd(&q.add_fd(&f, json!({"fdset-id": 1, "opaque": opaque})));
    let mut commands = Vec::new();
    for id in 0..120 {
        commands.extend_from_slice(
            json!({"execute": "query-fdsets", "id": id})
                .to_string()
                .as_bytes(),
        );
    }
    q.send(&commands);
    q.stream.shutdown(std::net::Shutdown::Write).unwrap();
    // The client reads later, as a slow consumer of socat's output does.
    std::thread::sleep(std::time::Duration::from_millis(300));
    for id in 0..120 {
        let r = q.reply();
        assert_eq!(r["id"], json!(id), "reply {id}");
        assert_eq!(
            r["return"][0]["fds"][0]["opaque"],
            json!(opaque),
            "reply {id}"
        );
    }
    assert!(q.at_eof(), "the monitor left once every reply was out");
}

/// Inherit `f` as fd 4 besides the control socket at 3. The child's
/// earlier step puts the socket at 3, which may be `f`'s own number here (a
/// test thread's fds come and go): so `f` is first copied above every
/// number that step uses, and that copy goes to 4.
fn inherit_two(cmd: &mut std::process::Command, f: File) {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    // SAFETY: an integer-only fcntl on our own open file.
    let high = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 700) };
    assert!(high >= 700, "F_DUPFD_CLOEXEC");
    // SAFETY: `high` was just made and is owned here alone.
    let keep = std::sync::Arc::new(unsafe { OwnedFd::from_raw_fd(high) });
    // SAFETY: only dup2 between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let _ = &keep;
            if libc::dup2(high, 4) < 0 {
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
