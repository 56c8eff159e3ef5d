//! fdset-run's seccomp mode (spec section 9) leaves everything but set paths
//! as it was: ordinary paths answer exactly as without supervision, a
//! program that cannot be run is reported as `env` would, and the exit
//! status and signals are the program's.

use fdset_testkit::seccomp::*;
use fdset_testkit::*;
use std::path::Path;
use std::process::Command;

#[test]
fn ordinary_paths_behave_exactly_as_without_supervision() {
    let dir = TempDir::new("seccomp-ordinary");
    for i in 0..50 {
        dir.file(
            &format!("file_{i}"),
            format!("{}content", (b'a' + (i % 26) as u8) as char).as_bytes(),
        );
    }
    std::os::unix::fs::symlink("file_3", dir.path().join("link")).unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    let prog = c_test("seccomp_step");
    let served = run_out(launcher(true, &[], &prog, &["opens", &d, "1000"]));
    let mut plain = Command::new(&prog);
    plain.args(["opens", &d, "1000"]);
    let plain = run_out(plain);
    assert!(
        served.status.success() && plain.status.success(),
        "{}",
        stderr_of(&served)
    );
    let (a, b) = (stdout_of(&served), stdout_of(&plain));
    assert_eq!(a.lines().count(), 1000);
    for (x, y) in a.lines().zip(b.lines()) {
        assert_eq!(x, y, "supervised vs unsupervised");
    }
    // The answers are the real ones, not a default.
    assert!(
        b.contains(&format!("1 missing fd=-1 errno={}", libc::ENOENT)),
        "{b}"
    );
    assert!(b.contains(&format!("2 dir-for-writing fd=-1 errno={}", libc::EISDIR)));
    assert!(b.contains(&format!("3 excl fd=-1 errno={}", libc::EEXIST)));
    assert!(b.contains("0 open fd=4 errno=0 byte=a close=0"), "{b}");
    assert!(b.contains(&format!("bad-pointer rc=-1 errno={}", libc::EFAULT)));
    assert!(b.contains(&format!("too-long fd=-1 errno={}", libc::ENAMETOOLONG)));
    assert!(b.contains("readlink rc=6 text=file_3"));
}

#[test]
fn a_program_that_cannot_be_run_is_reported_as_env_would() {
    let out = run_out(launcher(true, &[], Path::new("/nonexistent/program"), &[]));
    assert_eq!(out.status.code(), Some(127), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("cannot run /nonexistent/program"),
        "{}",
        stderr_of(&out)
    );
    let dir = TempDir::new("seccomp-noexec");
    let f = dir.file("not-executable", b"data");
    let out = run_out(launcher(true, &[], &f, &[]));
    assert_eq!(out.status.code(), Some(126), "{}", stderr_of(&out));
}

#[test]
fn exit_status_and_signals_are_the_programs() {
    let out = run_out(launcher(true, &[], Path::new("/bin/sh"), &["-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    let out = run_out(launcher(
        true,
        &[],
        Path::new("/bin/sh"),
        &["-c", "kill -TERM $$"],
    ));
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        stderr_of(&out)
    );
}

/// A call waiting for fdset-run is interrupted by a signal like any wait;
/// with a handler installed with SA_RESTART (glibc's `signal()`, Go's
/// runtime) the kernel restarts it, so the program sees no failure: on an
/// ordinary file and on a set path alike, 20,000 rounds under a SIGALRM
/// every 200 µs (README "Seccomp mode", signals).
#[test]
fn calls_interrupted_by_a_restarting_handler_do_not_fail() {
    let dir = TempDir::new("seccomp-signalled");
    let file = dir.file("f", b"content");
    let prog = c_test("seccomp_step");
    for path in [file.to_str().unwrap(), "/dev/fdset/1"] {
        let out = run_out(launcher(
            true,
            &[(1, &file, "ro")],
            &prog,
            &["signalled", path, "20000"],
        ));
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(
            stdout_of(&out),
            "alarms yes failed open 0 stat 0 close 0\n",
            "{path}"
        );
    }
}
