//! The C programs run under the preloaded shim: every interposed entry
//! point, open semantics (spec section 2 "Open"), close semantics ("Close",
//! section 6) and fork safety. Each program checks itself and prints
//! "ok NAME" per part; these tests assert the parts that must have run.
use fdset_testkit::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const CONTENT: &[u8] = b"set one\n";

/// Run C program `name` with `members` inherited (fd, file, read, write)
/// and named in FDSET_ADD_FD as `spec`.
fn run(name: &str, args: &[&Path], spec: &str, members: Vec<(std::fs::File, i32)>) -> String {
    let mut cmd = preloaded(c_test(name));
    cmd.args(args).env("FDSET_ADD_FD", spec);
    inherit_fds(&mut cmd, members);
    let out = output_within(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{name} failed: {}\nstdout: {}",
        stderr_of(&out),
        stdout_of(&out)
    );
    stdout_of(&out)
}

fn expect_parts(stdout: &str, parts: &[&str]) {
    let got: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    assert_eq!(got, parts, "parts that passed");
}

/// Assert that C program `name` calls each of `symbols` from libc (nm -u),
/// so that its "ok" lines really exercised those entry points.
fn assert_calls(name: &str, symbols: &[&str]) {
    let out = Command::new("nm")
        .arg("-u")
        .arg(c_test(name))
        .output()
        .expect("run nm");
    assert!(out.status.success());
    let called: Vec<String> = stdout_of(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|s| s.split('@').next().unwrap_or(s).to_string())
        .collect();
    for sym in symbols {
        assert!(
            called.iter().any(|s| s == sym),
            "{name} does not call {sym}: {called:?}"
        );
    }
}

/// Interposition: open, open64, openat (also with a bogus dirfd),
/// openat64, creat, creat64, fopen, fopen64, freopen, freopen64, close,
/// fclose, dup2, dup3, close_range, closefrom.
#[test]
fn every_interposed_entry_point_serves_or_closes_set_paths() {
    let dir = TempDir::new("entry");
    let one = dir.file("one", CONTENT);
    let two = dir.file("two", b"old content that creat truncates");
    let out = run(
        "shim_entry_points",
        &[&two],
        "fd=3,set=1;fd=4,set=2",
        vec![
            (open_for_child(&one, false, true), 3),
            (open_for_child(&two, true, false), 4),
        ],
    );
    expect_parts(
        &out,
        &[
            "open",
            "open64",
            "openat",
            "openat-bogus-dirfd",
            "openat64",
            "creat",
            "creat64",
            "fopen",
            "fopen64",
            "freopen",
            "freopen64",
            "freopen-stdin",
            "freopen-from-set",
            "dup2",
            "dup3",
            "close_range",
            "closefrom",
        ],
    );
    assert_eq!(
        std::fs::read(&two).unwrap(),
        b"creat64",
        "the last creat wrote the file"
    );
    assert_calls(
        "shim_entry_points",
        &[
            "open",
            "open64",
            "openat",
            "openat64",
            "creat",
            "creat64",
            "fopen",
            "fopen64",
            "freopen",
            "freopen64",
            "close",
            "fclose",
            "dup2",
            "dup3",
            "close_range",
            "closefrom",
        ],
    );
}

/// `__open_2`, `__open64_2`, `__openat_2`, `__openat64_2`
/// (a program built with -D_FORTIFY_SOURCE=2).
#[test]
fn fortify_source_entry_points_serve_set_paths() {
    let dir = TempDir::new("fortify");
    let one = dir.file("one", CONTENT);
    let out = run(
        "shim_fortify",
        &[],
        "fd=3,set=1",
        vec![(open_for_child(&one, false, true), 3)],
    );
    let fortified = ["__open_2", "__open64_2", "__openat_2", "__openat64_2"];
    expect_parts(&out, &fortified);
    assert_calls("shim_fortify", &fortified);
}

/// Spec section 2 "Open" steps 1-6 as a C program sees them.
#[test]
fn open_semantics_as_seen_by_a_c_program() {
    let dir = TempDir::new("opensem");
    let one = dir.file("one", CONTENT);
    let three = dir.file("three", b"scratch content");
    let out = run(
        "shim_open_semantics",
        &[&three],
        "fd=3,set=1;fd=4,set=1;fd=5,set=3;fd=6,set=4;fd=7,set=4",
        vec![
            (open_for_child(&one, false, true), 3),
            (open_for_child(&one, true, true), 4),
            (open_for_child(&three, true, true), 5),
            (open_for_child(&three, true, false), 6),
            (open_for_child(&three, true, true), 7),
        ],
    );
    expect_parts(
        &out,
        &[
            "access-modes",
            "errors",
            "no-leak",
            "cloexec",
            "offset-zero",
            "o-sync",
            "errno-preserved",
            "o-trunc",
            "o-append",
            "fopen-append",
            "freopen-closed-stream",
            "end",
        ],
    );
    assert_eq!(
        std::fs::read(&one).unwrap(),
        CONTENT,
        "reading never changed set 1's file"
    );
    assert_eq!(std::fs::read(&three).unwrap(), b"Xbcde");
}

/// Spec section 2 "Close" and section 6 (members are the shim's).
/// Refcount effects that only a monitor can observe (members closed at the
/// last dup's close) are left to the QMP tests.
#[test]
fn close_semantics_as_seen_by_a_c_program() {
    let dir = TempDir::new("closesem");
    let one = dir.file("one", CONTENT);
    let out = run(
        "shim_close_semantics",
        &[&one],
        "fd=3,set=1",
        vec![(open_for_child(&one, false, true), 3)],
    );
    expect_parts(
        &out,
        &[
            "not-a-dup",
            "member-close",
            "dup-closes",
            "dup2-onto-member",
            "closefrom",
        ],
    );
}

/// fork safety: 8 threads open and close set paths while one of
/// them forks; every child opens the set and exits. A deadlock fails by
/// timeout (the children also have an alarm).
#[test]
fn threads_and_fork_from_a_busy_thread_never_deadlock() {
    let dir = TempDir::new("threads");
    let one = dir.file("one", CONTENT);
    let mut cmd = preloaded(c_test("shim_threads_fork"));
    cmd.args(["20000", "300"]).env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(&mut cmd, vec![(open_for_child(&one, false, true), 3)]);
    let out = output_within(cmd, Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "opened 160000\n");
}
