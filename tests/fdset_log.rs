//! `FDSET_LOG` (spec section 5): `1` writes one line per fdset decision on
//! stderr, an absolute path appends them to that file, each line names the
//! process (`[pid comm]`), any other value stops the program; tested for a
//! success, an EACCES, an ENOENT, a stat, and members closed by cleanup.
use fdset_testkit::*;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::Stdio;

/// The `fdset-shim:` lines a program wrote, in order, with the `[pid comm] `
/// that names the process taken out (each line must have one).
fn log_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("fdset-shim: "))
        .map(|rest| {
            let (who, text) = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once("] "))
                .unwrap_or_else(|| panic!("no [pid comm] in {rest:?}"));
            let (pid, comm) = who.split_once(' ').unwrap_or_else(|| panic!("{who:?}"));
            assert!(pid.parse::<u32>().is_ok() && !comm.is_empty(), "{who:?}");
            format!("fdset-shim: {text}")
        })
        .collect()
}

/// `fd N` at the end of a line, as a number.
fn trailing_fd(line: &str, before: &str) -> i32 {
    line.strip_prefix(before)
        .unwrap_or_else(|| panic!("{line:?} does not start with {before:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{line:?}: no fd number after the prefix"))
}

fn run_logged(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    file: &std::path::Path,
) -> std::process::Output {
    let mut cmd = preloaded(program);
    cmd.args(args)
        .env("FDSET_ADD_FD", "fd=3,set=1")
        .env("FDSET_LOG", "1");
    inherit_fds(&mut cmd, vec![(open_for_child(file, false, true), 3)]);
    cmd.output().expect("run program")
}

#[test]
fn success_names_the_member_and_the_dup() {
    let d = TempDir::new("log-ok");
    let f = d.file("f", b"data\n");
    let out = run_logged(c_test("smoke_read"), &["/dev/fdset/1"], &f);
    assert!(out.status.success());
    let lines = log_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (head, dup) = lines[0].rsplit_once(" -> fd ").expect("-> fd N");
    let member = trailing_fd(
        head,
        "fdset-shim: open /dev/fdset/1 flags=O_RDONLY: set 1: dup of member fd ",
    );
    assert!(member >= 100, "members live at 100 and above: {member}");
    assert!(dup.parse::<i32>().unwrap() >= 3);
}

#[test]
fn eacces_says_which_member_is_missing() {
    let d = TempDir::new("log-eacces");
    let f = d.file("f", b"data\n");
    let out = run_logged(python(), &["-c", "open('/dev/fdset/1', 'w')"], &f);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("PermissionError"));
    assert_eq!(
        log_lines(&out.stderr),
        [
            "fdset-shim: open /dev/fdset/1 flags=O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC: EACCES: set 1 has an O_RDONLY member, no O_WRONLY"
        ]
    );
}

#[test]
fn enoent_says_the_set_does_not_exist() {
    let d = TempDir::new("log-enoent");
    let f = d.file("f", b"data\n");
    let out = run_logged("cat", &["/dev/fdset/9"], &f);
    assert!(!out.status.success());
    assert_eq!(
        log_lines(&out.stderr),
        ["fdset-shim: open /dev/fdset/9 flags=O_RDONLY: ENOENT: set 9 does not exist"]
    );
}

#[test]
fn stat_and_access_decisions_are_logged() {
    let d = TempDir::new("log-stat");
    let f = d.file("f", b"data\n");
    let script = "import os; os.path.exists('/dev/fdset/1'); os.access('/dev/fdset/1', os.W_OK); os.path.exists('/dev/fdset/4'); os.path.exists('/dev/fdset/x')";
    let out = run_logged(python(), &["-c", script], &f);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = log_lines(&out.stderr);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let member = trailing_fd(
        lines[0].strip_suffix(" answers").unwrap(),
        "fdset-shim: stat64 /dev/fdset/1: set 1: member fd ",
    );
    assert!(member >= 100);
    assert_eq!(
        lines[1],
        "fdset-shim: access /dev/fdset/1 mode=W_OK: EACCES: set 1 has an O_RDONLY member, no O_WRONLY or O_RDWR member"
    );
    assert_eq!(
        lines[2],
        "fdset-shim: stat64 /dev/fdset/4: ENOENT: set 4 does not exist"
    );
    assert_eq!(
        lines[3],
        "fdset-shim: stat64 /dev/fdset/x: ENOENT: 'x' is not a set number (0..2147483647), so nothing by that name exists"
    );
}

/// Members closed by cleanup, and why: after `remove-fd` (removed), and when
/// the last monitor leaves (spec section 2, "Cleanup of a set").
#[test]
fn cleanup_closes_are_logged_with_the_reason() {
    let d = TempDir::new("log-cleanup");
    let f = d.file("f", b"data\n");
    // Waits for a line on stdin, then for set 1 to disappear (the stat
    // family says ENOENT once cleanup has closed its members).
    let script = "import os, sys, time\n\
        print('ready', flush=True); sys.stdin.readline()\n\
        for _ in range(500):\n    if not os.path.exists('/dev/fdset/1'): break\n    time.sleep(0.01)\n\
        print('gone' if not os.path.exists('/dev/fdset/1') else 'still there', flush=True)\n";
    for remove_first in [true, false] {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let mut cmd = preloaded(python());
        cmd.args(["-c", script])
            .env("FDSET_ADD_FD", "fd=3,set=1")
            .env("FDSET_CONTROL_FD", "4")
            .env("FDSET_LOG", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let sock: OwnedFd = theirs.into();
        inherit_fds(
            &mut cmd,
            vec![(open_for_child(&f, false, true), 3), (sock.into(), 4)],
        );
        let mut child = cmd.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        if remove_first {
            ours.write_all(b"{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"remove-fd\", \"arguments\": {\"fdset-id\": 1}}\n").unwrap();
        } else {
            drop(ours);
        }
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        line.clear();
        stdout.read_line(&mut line).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(line, "gone\n", "{}", stderr_of(&out));
        let lines = log_lines(&out.stderr);
        let closed: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("closed member"))
            .collect();
        assert_eq!(closed.len(), 1, "{lines:?}");
        let why = if remove_first {
            "(it was removed and no dup is open)"
        } else {
            "(no monitor is connected and no dup is open)"
        };
        // The member was inherited read-only, and the line says so.
        let member = trailing_fd(
            closed[0]
                .strip_suffix(&format!(" (O_RDONLY) {why}"))
                .unwrap_or_else(|| panic!("{closed:?}")),
            "fdset-shim: set 1: closed member fd ",
        );
        assert!(member >= 100);
    }
}

/// Each line names the process that wrote it: its pid and its `comm` (the
/// program's name, at most 15 bytes), also in a forked child.
#[test]
fn every_line_names_the_process() {
    let d = TempDir::new("log-who");
    let f = d.file("f", b"data\n");
    let mut cmd = preloaded("sh");
    cmd.args(["-c", "cat /dev/fdset/1 >/dev/null; echo \"sh=$$\" >&2"])
        .env("FDSET_ADD_FD", "fd=3,set=1")
        .env("FDSET_LOG", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
    let out = cmd.output().expect("run sh");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let sh_pid: u32 = err
        .lines()
        .find_map(|l| l.strip_prefix("sh="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    let open_line = err
        .lines()
        .find(|l| l.contains("open /dev/fdset/1"))
        .unwrap_or_else(|| panic!("no open line in {err}"));
    let who = open_line
        .strip_prefix("fdset-shim: [")
        .and_then(|r| r.split_once("] "))
        .map(|(w, _)| w.to_string())
        .unwrap_or_else(|| panic!("{open_line}"));
    let (pid, comm) = who.split_once(' ').unwrap();
    assert_eq!(comm, "cat", "{open_line}");
    let pid: u32 = pid.parse().unwrap();
    assert_ne!(pid, sh_pid, "cat runs in a child of sh: {open_line}");
}

/// `FDSET_LOG=/abs/path` appends the lines to that file (for programs whose
/// stderr is taken) and leaves stderr alone; a later run appends again.
#[test]
fn an_absolute_path_appends_to_that_file() {
    let d = TempDir::new("log-file");
    let f = d.file("f", b"data\n");
    let log = d.path().join("shim.log");
    for round in 1..=2 {
        let mut cmd = preloaded(c_test("smoke_read"));
        cmd.arg("/dev/fdset/1")
            .env("FDSET_ADD_FD", "fd=3,set=1")
            .env("FDSET_LOG", &log);
        inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
        let out = cmd.output().expect("run program");
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(
            !stderr_of(&out).contains("fdset-shim"),
            "{}",
            stderr_of(&out)
        );
        let text = std::fs::read(&log).expect("the log file exists");
        let lines = log_lines(&text);
        assert_eq!(lines.len(), round, "{lines:?}");
        assert!(
            lines.iter().all(|l| l.starts_with(
                "fdset-shim: open /dev/fdset/1 flags=O_RDONLY: set 1: dup of member fd "
            )),
            "{lines:?}"
        );
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&log).unwrap().permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "the log names set ids and paths: owner only"
    );
}

/// Any other value is a bad value: the program stops before `main` with
/// one line that says what is accepted, exit status 1.
#[test]
fn a_bad_value_stops_the_program() {
    for bad in ["0", "yes", "log.txt", ""] {
        let out = preloaded(c_test("smoke_read"))
            .arg("/dev/null")
            .env("FDSET_LOG", bad)
            .output()
            .expect("run program");
        assert_eq!(out.status.code(), Some(1), "FDSET_LOG={bad:?}");
        assert!(
            out.stdout.is_empty(),
            "main must not run: FDSET_LOG={bad:?}"
        );
        assert_eq!(
            stderr_of(&out),
            format!(
                "fdset-shim: FDSET_LOG={bad}: expected 1 (log to stderr) or an absolute file path (append to it)\n"
            )
        );
    }
    let out = preloaded(c_test("smoke_read"))
        .arg("/dev/null")
        .env("FDSET_LOG", "/nonexistent-dir/x.log")
        .output()
        .expect("run program");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "fdset-shim: FDSET_LOG=/nonexistent-dir/x.log: cannot open it: No such file or directory\n"
    );
}
