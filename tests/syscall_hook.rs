//! Spec section 8, libc's `syscall()`: SYS_open, SYS_openat, SYS_openat2,
//! SYS_creat, SYS_close, SYS_close_range, SYS_dup2, SYS_dup3,
//! SYS_newfstatat, SYS_statx, SYS_faccessat, SYS_faccessat2 and
//! SYS_readlinkat answer exactly as the libc functions; other numbers pass
//! through with all six argument words, their result and errno untouched;
//! `FDSET_IO_URING=0` makes io_uring_setup fail with ENOSYS (spec section 5).
//! Run with `c-tests/syscall_hook.c`.
use fdset_testkit::*;
use std::path::Path;
use std::process::{Command, Output};

fn with_set(args: &[&str], member: Option<(&Path, bool, bool)>, env: &[(&str, &str)]) -> Output {
    let mut cmd = preloaded(c_test("syscall_hook"));
    cmd.args(args).envs(env.iter().copied());
    if let Some((f, write, read)) = member {
        cmd.env("FDSET_ADD_FD", "fd=3,set=1");
        inherit_fds(&mut cmd, vec![(open_for_child(f, write, read), 3)]);
    }
    cmd.output().expect("run syscall_hook")
}

fn plain(args: &[&str]) -> Output {
    let mut cmd = Command::new(c_test("syscall_hook"));
    without_shim_env(&mut cmd);
    cmd.args(args).output().expect("run syscall_hook")
}

fn ok_stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr_of(out));
    stdout_of(out)
}

/// The served numbers on /dev/fdset/1 give what they give on the file's
/// own path without the shim: the same content, inode, errors (openat2
/// with RESOLVE_BENEATH and requests the kernel refuses are the kernel's),
/// and errno untouched by success.
#[test]
fn served_numbers_answer_like_the_libc_functions() {
    let d = TempDir::new("sys-calls");
    let f = d.file("f", b"hello");
    let want = ok_stdout(&plain(&["calls", f.to_str().unwrap()]));
    let got = ok_stdout(&with_set(
        &["calls", "/dev/fdset/1"],
        Some((&f, false, true)),
        &[],
    ));
    assert_eq!(got, want);
    // SYS_open exists on x86_64 only.
    let open_line = if cfg!(target_arch = "x86_64") {
        "SYS_open ok read=hello close=0 open-after=0"
    } else {
        "SYS_openat ok read=hello close=0 open-after=0"
    };
    for line in [
        open_line,
        "SYS_openat2 ok read=hello close=0 open-after=0",
        "SYS_openat2-beneath err EXDEV",
        "SYS_openat2-unknown-bit err EINVAL",
        "SYS_openat2-path-rdwr err EINVAL",
        "SYS_openat2-dir-creat err EINVAL",
        "SYS_openat2-cached-trunc err EAGAIN",
        "SYS_readlinkat err EINVAL",
        "SYS_close-again err EBADF",
        "errno-after-success ok 1234",
    ] {
        assert!(got.lines().any(|l| l == line), "no '{line}' in:\n{got}");
    }
    // Without the shim the kernel knows no /dev/fdset/1: the lines above
    // are the shim's doing.
    let bare = ok_stdout(&plain(&["calls", "/dev/fdset/1"]));
    assert!(bare.contains("SYS_openat err ENOENT"), "{bare}");
}

/// The same through a prefix path (spec section 5); and an ordinary file
/// under /dev/ (which the x86_64 trampoline hands to the full path test)
/// is the kernel's as without the shim.
#[test]
fn prefix_paths_and_other_dev_paths() {
    let d = TempDir::new("sys-prefix");
    let f = d.file("f", b"hello");
    let want = ok_stdout(&plain(&["calls", f.to_str().unwrap()]));
    let got = ok_stdout(&with_set(
        &["calls", "/run/fdset/1"],
        Some((&f, false, true)),
        &[("FDSET_PREFIX", "/run/fdset")],
    ));
    assert_eq!(got, want);
    let shm = std::path::PathBuf::from(format!("/dev/shm/fdset-sys-{}", std::process::id()));
    std::fs::write(&shm, b"hello").unwrap();
    let want = ok_stdout(&plain(&["calls", shm.to_str().unwrap()]));
    let got = ok_stdout(&with_set(
        &["calls", shm.to_str().unwrap()],
        Some((&f, false, true)),
        &[],
    ));
    let _ = std::fs::remove_file(&shm);
    assert_eq!(got, want);
    assert!(got.contains("SYS_openat ok read=hello"), "{got}");
}

/// SYS_creat is creat(): O_WRONLY|O_CREAT|O_TRUNC on a member that can write.
#[test]
fn sys_creat_truncates_and_writes_the_member() {
    let d = TempDir::new("sys-creat");
    let f = d.file("f", b"old content");
    let out = ok_stdout(&with_set(
        &["creat", "/dev/fdset/1"],
        Some((&f, true, false)),
        &[],
    ));
    assert_eq!(out, "SYS_creat ok wrote=3 close=0\n");
    assert_eq!(std::fs::read(&f).unwrap(), b"new");
    // A read-only set cannot serve it (spec section 2, step 3).
    let ro = ok_stdout(&with_set(
        &["creat", "/dev/fdset/1"],
        Some((&f, false, true)),
        &[],
    ));
    assert_eq!(ro, "SYS_creat err EACCES\n");
}

/// Spec section 6 through syscall(): a member's number is not the
/// program's: SYS_close of it is EBADF, SYS_dup2/SYS_dup3 onto it and
/// SYS_close_range over it leave the set working.
#[test]
fn members_are_protected_through_syscall_too() {
    let d = TempDir::new("sys-members");
    let f = d.file("f", b"hello");
    let out = ok_stdout(&with_set(
        &["members", "/dev/fdset/1", "100"],
        Some((&f, false, true)),
        &[],
    ));
    assert_eq!(
        out,
        "SYS_close-member err EBADF\n\
         open-after-close ok\n\
         SYS_dup2-onto-member ok 100\n\
         open-after-dup2 ok read=hello close=0 open-after=0\n\
         SYS_dup3-onto-own ok 100\n\
         SYS_close_range-all ok 0\n\
         open-after-close_range ok read=hello close=0 open-after=0\n"
    );
}

/// Other numbers pass through untouched: the same result, errno, and all
/// six words (mmap's sixth, the offset, selects the file's second page).
#[test]
fn other_numbers_pass_through_with_six_words_and_errno() {
    let d = TempDir::new("sys-pass");
    let mut pages = vec![b'A'; 4096];
    pages.extend(vec![b'B'; 4096]);
    let f = d.file("pages", &pages);
    let want = ok_stdout(&plain(&["passthrough", f.to_str().unwrap()]));
    let got = ok_stdout(&with_set(&["passthrough", f.to_str().unwrap()], None, &[]));
    assert_eq!(got, want);
    assert_eq!(
        got,
        "SYS_getpid ok\n\
         errno-after-getpid 1234\n\
         SYS_read-bad-fd -1 EBADF\n\
         unknown-number -1 ENOSYS\n\
         SYS_mmap-offset ok B\n"
    );
}

/// FDSET_IO_URING=0: io_uring_setup through syscall() fails with ENOSYS;
/// unset or 1: the kernel's answer, as without the shim.
#[test]
fn fdset_io_uring_0_refuses_io_uring_setup() {
    let kernel = ok_stdout(&plain(&["io_uring"]));
    assert_eq!(
        ok_stdout(&with_set(&["io_uring"], None, &[("FDSET_IO_URING", "0")])),
        "SYS_io_uring_setup err ENOSYS\n"
    );
    assert_eq!(ok_stdout(&with_set(&["io_uring"], None, &[])), kernel);
    assert_eq!(
        ok_stdout(&with_set(&["io_uring"], None, &[("FDSET_IO_URING", "1")])),
        kernel
    );
}

/// A bad FDSET_IO_URING stops the program before main, like every other
/// bad value (spec section 5): one line on stderr, exit status 1.
#[test]
fn a_bad_fdset_io_uring_stops_the_program() {
    for bad in ["", "yes", "00", "2"] {
        let out = with_set(&["io_uring"], None, &[("FDSET_IO_URING", bad)]);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert_eq!(stdout_of(&out), "", "{bad:?}: main must not run");
        assert_eq!(
            stderr_of(&out),
            format!(
                "fdset-shim: FDSET_IO_URING: expected 0 (io_uring_setup fails with ENOSYS) or 1, got '{bad}'\n"
            )
        );
    }
}

/// Spec section 5: the shim reads FDSET_IO_URING once and removes it from
/// the environment; neither the program nor its children see it.
#[test]
fn fdset_io_uring_is_hidden_from_the_program() {
    let mut cmd = preloaded(c_test("shim_env_report"));
    cmd.env("FDSET_IO_URING", "0");
    let out = cmd.output().expect("run shim_env_report");
    let text = ok_stdout(&out);
    assert!(text.starts_with("main ran\n"), "{text}");
    assert!(!text.contains("FDSET_IO_URING"), "{text}");
}

/// Spec section 7: settings follow an exec that carries the sets, so a
/// wrapper (a shell script that execs the real program) does not lose
/// FDSET_IO_URING=0, although the variable itself is gone from its
/// environment.
#[test]
fn fdset_io_uring_0_follows_an_exec() {
    let d = TempDir::new("sys-exec");
    let f = d.file("f", b"x");
    let script = format!("exec {} io_uring", c_test("syscall_hook").display());
    let mut cmd = preloaded("/bin/sh");
    cmd.args(["-c", &script])
        .env("FDSET_ADD_FD", "fd=3,set=1")
        .env("FDSET_IO_URING", "0");
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
    let out = cmd.output().expect("run sh");
    assert_eq!(ok_stdout(&out), "SYS_io_uring_setup err ENOSYS\n");
}
