//! fdset-run around the programs people wrap most: identity and namespace
//! changers (setpriv, unshare --user, runuser), a sandbox (bwrap), and its
//! own --user/--group/--groups. Spec section 3: "a process given no control
//! socket has no helper thread at all" (setpriv aborts and `unshare --user`
//! fails with EINVAL in a multi-threaded process); section 2, "In use": with
//! no control socket, launch-time sets stay in use for life.
use fdset_testkit::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SECRET: &[u8] = b"only root may read this file\n";

/// A file mode 0600 owned by root (the tests run as root), in a directory
/// everyone may enter: a program running as nobody cannot open it itself.
fn root_only_file(d: &TempDir) -> PathBuf {
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let f = d.file("root-only.txt", SECRET);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    f
}

fn run(cmd: &mut Command) -> Output {
    output_within(
        std::mem::replace(cmd, Command::new("true")),
        std::time::Duration::from_secs(60),
    )
}

fn ok(cmd: &mut Command) -> String {
    stdout_if_ok(&run(cmd))
}

/// The same program run as nobody on the path itself is refused: the test
/// would prove nothing if nobody could read the file anyway.
fn nobody_cannot_read(f: &Path) {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(f)
        .output()
        .expect("run setpriv (util-linux)");
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("Permission denied"),
        "{}",
        stderr_of(&out)
    );
}

/// Without --qmp the program is fdset-run's own process (exec in place),
/// with one thread and no socket; with --qmp it is a child with the shim's
/// control thread. Both read the set.
#[test]
fn without_qmp_the_program_has_no_thread_and_no_socket() {
    let d = TempDir::new("wrap-plain");
    let f = d.file("in.txt", b"set 1\n");
    let script = "cat /dev/fdset/1; echo pid $$; \
                  echo threads $(ls /proc/$$/task | wc -l); \
                  echo sockets $(ls -l /proc/$$/fd | grep -c socket:)";
    let spawn = |extra: &[&str]| {
        let child = fdset_run()
            .args(extra)
            .arg("--file")
            .arg(file_arg(1, &f, "ro"))
            .args(["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        (pid, stdout_of(&out))
    };
    let (pid, out) = spawn(&[]);
    assert_eq!(out, format!("set 1\npid {pid}\nthreads 1\nsockets 0\n"));
    let sock = d.path().join("q").display().to_string();
    let (pid, out) = spawn(&["--qmp", &sock]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "set 1");
    assert_ne!(
        lines[1],
        format!("pid {pid}"),
        "with --qmp the program is a child"
    );
    assert_eq!(lines[2], "threads 2", "the shim's control thread");
    assert_eq!(
        lines[3], "sockets 2",
        "fdset-run's monitor and the listener"
    );
}

/// setpriv drops every privilege and then execs the reader: with a helper
/// thread it aborted (status 134, its per-thread capability check).
#[test]
fn setpriv_as_nobody_reads_a_root_only_set() {
    let d = TempDir::new("wrap-setpriv");
    let f = root_only_file(&d);
    nobody_cannot_read(&f);
    let out = ok(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "sh",
        "-c",
        "id -u; cat /dev/fdset/1",
    ]));
    assert_eq!(out.as_bytes(), [b"65534\n".as_slice(), SECRET].concat());
}

/// `unshare --user` needs a single-threaded process (EINVAL otherwise).
#[test]
fn unshare_user_namespace_reads_a_set() {
    let d = TempDir::new("wrap-unshare");
    let f = d.file("in.txt", b"inside a user namespace\n");
    let out = ok(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        "readlink /proc/self/ns/user; cat /dev/fdset/1",
    ]));
    let own_ns = std::fs::read_link("/proc/self/ns/user").unwrap();
    let mut lines = out.lines();
    assert_ne!(
        lines.next().map(PathBuf::from),
        Some(own_ns),
        "a new user namespace"
    );
    assert_eq!(lines.next(), Some("inside a user namespace"));
}

/// runuser forks and runs the reader in its child as nobody: the sets
/// follow the fork and the exec (spec section 7).
#[test]
fn runuser_child_as_nobody_reads_a_root_only_set() {
    let d = TempDir::new("wrap-runuser");
    let f = root_only_file(&d);
    nobody_cannot_read(&f);
    let out = ok(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "runuser",
        "-u",
        "nobody",
        "--",
        "sh",
        "-c",
        "id -u; cat /dev/fdset/1",
    ]));
    assert_eq!(out.as_bytes(), [b"65534\n".as_slice(), SECRET].concat());
}

/// bwrap sandboxes the reader where the file is not visible at all; the
/// library's directory is bound into the sandbox so the program can load it.
#[test]
fn bwrap_sandbox_with_the_library_bound_in_reads_a_set() {
    let d = TempDir::new("wrap-bwrap");
    let f = d.file("in.txt", b"read inside bwrap\n");
    let libdir = shim_lib().parent().unwrap().to_string_lossy().into_owned();
    let out = run(fdset_run()
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args(["--", "bwrap"])
        .args(bwrap_usr_view(&libdir))
        .args(["--unshare-pid", "--", "/bin/sh", "-c"])
        .arg(format!(
            "test -e {} && echo visible; cat /dev/fdset/1",
            f.display()
        )));
    assert!(out.status.success(), "bwrap: {}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        "read inside bwrap\n",
        "the file itself is not visible"
    );
}

/// `--user nobody`: fdset-run opens the root-only file with its own rights,
/// then drops to nobody (groups, gid, uid) before the program starts; the
/// program runs as nobody with nobody's HOME and USER. Without --qmp (exec
/// in place) and with it (a child, which a runtime add-fd reaches).
#[test]
fn user_nobody_reads_a_root_only_file() {
    let d = TempDir::new("wrap-user");
    let f = root_only_file(&d);
    nobody_cannot_read(&f);
    let script = format!(
        "id -u; id -g; id -G; echo \"$USER $HOME\"; cat /dev/fdset/1; cat {} 2>/dev/null || echo refused",
        f.display()
    );
    let want = [
        b"65534\n65534\n65534\nnobody /nonexistent\n".as_slice(),
        SECRET,
        b"refused\n",
    ]
    .concat();
    for extra in [
        vec![],
        vec![
            "--qmp".to_string(),
            d.path().join("q").display().to_string(),
        ],
    ] {
        let out = ok(fdset_run()
            .args(&extra)
            .args(["--user", "nobody", "--file"])
            .arg(file_arg(1, &f, "ro"))
            .args(["--", "sh", "-c", &script]));
        assert_eq!(out.as_bytes(), want, "{extra:?}");
    }
    // --group and --groups override what nobody's entry says.
    let out = ok(fdset_run()
        .args(["--user=nobody", "--group=0", "--groups=0,65534", "--file"])
        .arg(file_arg(1, &f, "ro"))
        .args(["--", "sh", "-c", "id -u; id -g; id -G"]));
    assert_eq!(out, "65534\n0\n0 65534\n");
    let out = ok(fdset_run().args(["--groups", "none", "--", "sh", "-c", "id -u; id -G"]));
    assert_eq!(out, "0\n0\n", "--groups none keeps only the primary group");
}

/// `--user` with `--qmp`: a runtime add-fd reaches the program itself, which
/// runs as nobody and reads a root-only file added while it runs.
#[test]
fn user_with_qmp_gets_runtime_add_fd() {
    let d = TempDir::new("wrap-user-qmp");
    let f = root_only_file(&d);
    let sock = d.path().join("q");
    let mut child = fdset_run()
        .arg("--qmp")
        .arg(&sock)
        .args(["--user", "nobody", "--", "sh", "-c"])
        .arg("while [ ! -e /dev/fdset/4 ]; do sleep 0.02; done; id -u; cat /dev/fdset/4")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_path(&sock, &mut child);
    let add = Command::new(bin("fdset-ctl"))
        .arg("--socket")
        .arg(&sock)
        .args(["add-fd", "--set", "4", "--path"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", stderr_of(&add));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, [b"65534\n".as_slice(), SECRET].concat());
}

/// Every bad identity is refused before the program starts, exit 125, with
/// a message naming the option and the fix; nothing runs.
#[test]
fn bad_identities_are_refused() {
    let d = TempDir::new("wrap-bad-user");
    let marker = d.path().join("started");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--user", "no-such-user-x"],
            "fdset-run: --user no-such-user-x: no such user (check the name, or give a uid number)",
        ),
        (
            &["--group", "no-such-group-x"],
            "fdset-run: --group no-such-group-x: no such group (check the name, or give a gid number)",
        ),
        (
            &["--groups", "root,no-such-group-x"],
            "fdset-run: --groups root,no-such-group-x: no such group 'no-such-group-x' (check the name, or give a gid number)",
        ),
        (
            &["--user", "4000000"],
            "fdset-run: --user 4000000: uid 4000000 has no entry in the user database, so it has no group of its own (give --group GROUP and --groups LIST|none)",
        ),
        // Only what is still missing is asked for.
        (
            &["--user", "4000000", "--group", "4000000"],
            "fdset-run: --user 4000000: uid 4000000 has no entry in the user database, so it has no group of its own (give --groups LIST|none)",
        ),
        (
            &["--user", "4000000", "--groups", "none"],
            "fdset-run: --user 4000000: uid 4000000 has no entry in the user database, so it has no group of its own (give --group GROUP)",
        ),
        // A negative number is a value, refused as one (clap had called it
        // an unknown option and suggested `-- -1`, which names a program).
        (
            &["--user", "-1"],
            "fdset-run: --user -1: no such user (check the name, or give a uid number)",
        ),
        (
            &["--user", ""],
            "fdset-run: --user : '' is not a user name or number",
        ),
        (
            &["--groups", "a,,b"],
            "fdset-run: --groups a,,b: '' is not a group name or number (write e.g. --groups disk,kvm, or --groups none)",
        ),
    ];
    for (args, message) in cases {
        let out = run(fdset_run().args(*args).arg("--").arg("touch").arg(&marker));
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert_eq!(stderr_of(&out).trim_end(), *message, "{args:?}");
        assert!(!marker.exists(), "the program ran despite {args:?}");
    }
    let out = run(fdset_run().args(["--user", "a", "--user", "b", "--", "true"]));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out)
            .starts_with("fdset-run: the argument '--user <USER>' cannot be used multiple times"),
        "{}",
        stderr_of(&out)
    );
}

/// fdset-run without the right to change identity (run as nobody itself)
/// refuses at the first step that fails, and the program does not start:
/// with exec in place and between fork and exec (--qmp).
#[test]
fn a_switch_that_fails_stops_the_launch() {
    let d = TempDir::new("wrap-noperm");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = d.path().join("started");
    for qmp in [false, true] {
        let mut cmd = Command::new("setpriv");
        without_shim_env(&mut cmd);
        shim_lib();
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin("fdset-run"));
        if qmp {
            cmd.arg("--qmp").arg(d.path().join("q"));
        }
        cmd.args(["--user", "root", "--", "touch"]).arg(&marker);
        let out = run(&mut cmd);
        assert_eq!(
            out.status.code(),
            Some(125),
            "--qmp {qmp}: {}",
            stderr_of(&out)
        );
        assert_eq!(
            stderr_of(&out).trim_end(),
            "fdset-run: --user root: cannot set the supplementary groups [0] (setgroups: \
             Operation not permitted (os error 1)) (changing identity needs root, or \
             CAP_SETUID and CAP_SETGID); the program was not started",
            "--qmp {qmp}"
        );
        assert!(!marker.exists(), "--qmp {qmp}");
        assert!(!d.path().join("q").exists(), "the socket is removed");
    }
}

/// A library the new identity cannot read would be skipped by the loader
/// (the program would run without its sets): refused instead, both ways.
#[test]
fn a_library_the_new_user_cannot_read_is_refused() {
    let d = TempDir::new("wrap-lib");
    let private = d.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let lib = private.join("libfdset_shim.so");
    std::fs::copy(shim_lib(), &lib).unwrap();
    let marker = d.path().join("started");
    for qmp in [false, true] {
        let mut cmd = fdset_run();
        cmd.env("FDSET_SHIM_LIB", &lib);
        if qmp {
            cmd.arg("--qmp").arg(d.path().join("q"));
        }
        let out = run(cmd.args(["--user", "nobody", "--", "touch"]).arg(&marker));
        assert_eq!(
            out.status.code(),
            Some(125),
            "--qmp {qmp}: {}",
            stderr_of(&out)
        );
        assert_eq!(
            stderr_of(&out).trim_end(),
            format!(
                "fdset-run: --user nobody: the new identity cannot read {} (Permission denied \
                 (os error 13)), so the loader would skip it (put the library where that user \
                 can read it, e.g. /usr/local/lib, or point FDSET_SHIM_LIB at a readable copy); \
                 the program was not started",
                lib.display()
            ),
            "--qmp {qmp}"
        );
        assert!(!marker.exists());
    }
}
