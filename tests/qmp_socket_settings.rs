//! The control settings of spec section 5: `FDSET_WAIT=1` holds `main`
//! until a monitor sends `cont`, and fails clearly when no monitor is left;
//! a bad `FDSET_CONTROL_FD` or `FDSET_WAIT` stops the program before `main`
//! with one `fdset-shim:` line.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

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

/// What the program inherits as fd 3.
#[derive(Clone, Copy)]
enum Fd3 {
    Nothing,
    Plain,
    Datagram,
    Stream,
}

/// (variable, value, fd 3, the message after `fdset-shim: `).
const BAD_SETTINGS: &[(&str, &str, Fd3, &str)] = &[
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

/// The file fd 3 is to be, and the peer that must stay open while the
/// program runs (a stream socket's other end).
fn fd3_file(fd3: Fd3, plain: &Path) -> (Option<File>, Option<UnixStream>) {
    match fd3 {
        Fd3::Nothing => (None, None),
        Fd3::Plain => (Some(File::open(plain).unwrap()), None),
        Fd3::Datagram => (
            Some(File::from(OwnedFd::from(
                std::os::unix::net::UnixDatagram::unbound().unwrap(),
            ))),
            None,
        ),
        Fd3::Stream => {
            let (a, b) = UnixStream::pair().unwrap();
            (Some(File::from(OwnedFd::from(a))), Some(b))
        }
    }
}

// Spec section 5: bad FDSET_CONTROL_FD/FDSET_WAIT stop the program before
// main with one `fdset-shim:` line.
#[test]
fn bad_control_settings_stop_the_program() {
    let dir = TempDir::new("qmp-env");
    let plain = dir.file("plain", b"");
    for &(var, value, fd3, text) in BAD_SETTINGS {
        let mut cmd = preloaded(c_test("qmp_step"));
        cmd.env(var, value).stdin(std::process::Stdio::null());
        let (file, _peer) = fd3_file(fd3, &plain);
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
