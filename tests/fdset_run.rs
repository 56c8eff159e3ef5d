//! `fdset-run` end to end: each option, exit status,
//! signal forwarding, and the message for each bad option.
use fdset_testkit::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("run fdset-run")
}

fn ok(cmd: &mut Command) -> String {
    stdout_if_ok(&run(cmd))
}

/// `--file set=S,path=P`: the default mode is read-only.
#[test]
fn file_read_only_by_default() {
    let d = TempDir::new("run-file");
    let f = d.file("in.txt", b"through set 1\n");
    let out = ok(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "cat",
        "/dev/fdset/1",
    ]));
    assert_eq!(out, "through set 1\n");
    // No O_WRONLY member: dd's open for writing is refused.
    let out = run(fdset_run()
        .arg(format!("--file=set=1,path={}", f.display()))
        .args(["--", "dd", "if=/dev/null", "of=/dev/fdset/1", "status=none"]));
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("Permission denied"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(&f).unwrap(), b"through set 1\n");
}

/// `mode=wo` creates a missing file (never truncates it itself) and gives an
/// O_WRONLY member: `dd of=/dev/fdset/2` writes through it.
#[test]
fn file_write_only_creates_and_dd_writes() {
    let d = TempDir::new("run-wo");
    let src = d.file(
        "src.bin",
        &(0..=255u8).cycle().take(10_000).collect::<Vec<u8>>(),
    );
    let out_path = d.path().join("out.bin");
    ok(fdset_run()
        .arg("--file")
        .arg(file_arg(2, &out_path, "wo"))
        .args(["--", "dd"])
        .arg(format!("if={}", src.display()))
        .args(["of=/dev/fdset/2", "bs=4096", "status=none"]));
    assert_eq!(
        std::fs::read(&out_path).unwrap(),
        std::fs::read(&src).unwrap()
    );
}

/// `mode=rw`: an O_RDWR, an O_RDONLY and an O_WRONLY member, so a read-only
/// probe, a read-write open and a write-only append all succeed (an open is
/// served only by a member of exactly its access mode).
#[test]
fn file_read_write_gives_a_member_of_each_mode() {
    let d = TempDir::new("run-rw");
    let f = d.file("img", b"0123456789");
    let script = "import os\n\
        r = open('/dev/fdset/3', 'rb'); print(r.read().decode())\n\
        w = open('/dev/fdset/3', 'r+b'); w.seek(2); w.write(b'XY'); w.close()\n\
        a = open('/dev/fdset/3', 'ab'); a.write(b'!'); a.close()\n\
        print(os.access('/dev/fdset/3', os.R_OK | os.W_OK))\n";
    let out = ok(fdset_run()
        .arg("--file")
        .arg(file_arg(3, &f, "rw"))
        .arg("--")
        .arg(python())
        .args(["-c", script]));
    assert_eq!(out, "0123456789\nTrue\n");
    assert_eq!(std::fs::read(&f).unwrap(), b"01XY456789!");
}

/// `--add-fd fd=N,set=S,opaque=TEXT`: an fd the launcher inherited.
#[test]
fn add_fd_passes_an_inherited_descriptor() {
    let d = TempDir::new("run-addfd");
    let f = d.file("in.txt", b"inherited fd 7\n");
    let mut cmd = fdset_run();
    cmd.args([
        "--add-fd",
        "fd=7,set=5,opaque=a,,b",
        "--",
        "cat",
        "/dev/fdset/5",
    ]);
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 7)]);
    assert_eq!(ok(&mut cmd), "inherited fd 7\n");
}

/// `--data set=S,path=FILE`: a sealed, read-only memfd with the content.
#[test]
fn data_from_file_is_sealed_and_read_only() {
    let d = TempDir::new("run-data");
    let f = d.file("secret.txt", b"s3cret");
    let script = "import fcntl, os\n\
        f = open('/dev/fdset/4', 'rb')\n\
        seals = fcntl.fcntl(f.fileno(), fcntl.F_GET_SEALS)\n\
        need = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL\n\
        print(f.read().decode(), seals & need == need, os.readlink('/proc/self/fd/%d' % f.fileno()).startswith('/memfd:'))\n\
        print(os.access('/dev/fdset/4', os.W_OK))\n";
    let out = ok(fdset_run()
        .arg("--data")
        .arg(format!("set=4,path={}", f.display()))
        .arg("--")
        .arg(python())
        .args(["-c", script]));
    assert_eq!(out, "s3cret True True\nFalse\n");
}

/// `--alias PATH=S` and `--prefix DIR` (spec section 5).
#[test]
fn alias_and_prefix_paths() {
    let d = TempDir::new("run-alias");
    let a = d.file("a", b"A\n");
    let b = d.file("b", b"B\n");
    let out = ok(fdset_run()
        .arg("--file")
        .arg(file_arg(1, &a, "ro"))
        .arg("--file")
        .arg(file_arg(2, &b, "ro"))
        .args(["--alias", "/srv/images/a.txt=1", "--prefix", "/run/fdset"])
        .args([
            "--",
            "cat",
            "/srv/images/a.txt",
            "/run/fdset/2",
            "/dev/fdset/1",
        ]));
    assert_eq!(out, "A\nB\nA\n");
}

/// `-v` sets FDSET_LOG=1: the launcher says what it opened, the shim what it chose.
#[test]
fn verbose_logs_decisions() {
    let d = TempDir::new("run-v");
    let f = d.file("x", b"x");
    let out = run(fdset_run()
        .arg("-v")
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args(["--", "cat", "/dev/fdset/1"]));
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("fdset-run: set 1: fd ")
            && err.contains(&format!("= {} (O_RDONLY)", f.display())),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with("fdset-shim: [")
            && l.contains(" cat] open /dev/fdset/1 flags=O_RDONLY: set 1: dup of member fd ")),
        "{err}"
    );
}

/// The exit status is the program's: without --qmp fdset-run has become the
/// program (a signal that ends it ends the process fdset-run started as);
/// with --qmp, fdset-run waits and passes 128+N on for signal N.
#[test]
fn exit_status_is_the_programs() {
    use std::os::unix::process::ExitStatusExt;
    let out = run(fdset_run().args(["--", "sh", "-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7));
    let out = run(fdset_run().args(["--", "sh", "-c", "kill -TERM $$"]));
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));
    let d = TempDir::new("run-status");
    let out = run(fdset_run().arg("--qmp").arg(d.path().join("q")).args([
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]));
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM));
    let out = run(fdset_run().args(["--", "/nonexistent/program"]));
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr_of(&out).contains("cannot run /nonexistent/program"));
}

/// The signals a user or a supervisor sends to stop or notify a program
/// (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM) sent to
/// fdset-run reach the program: with --qmp, and in seccomp mode, fdset-run
/// forwards them to its child (and removes its socket file when the program
/// has ended); without, fdset-run's process is the program.
#[test]
fn signals_are_forwarded() {
    let d = TempDir::new("run-signals");
    let script = "import signal, sys, time\n\
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,\n\
                  signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM):\n    signal.signal(s, lambda n, f: sys.exit(40 + n))\n\
        print('ready', flush=True)\n\
        time.sleep(30)\n\
        sys.exit(99)\n";
    let signals = [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
    ];
    let modes = [(false, false), (true, false), (false, true)];
    for (sig, (qmp, seccomp)) in signals.into_iter().flat_map(|s| modes.map(|m| (s, m))) {
        let mut cmd = fdset_run();
        if qmp {
            cmd.arg("--qmp").arg(d.path().join(format!("q{sig}")));
        }
        if seccomp {
            cmd.arg("--seccomp");
        }
        let mut child = cmd
            .args(["--", python().to_str().unwrap(), "-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start fdset-run");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(40 + sig),
            "signal {sig}, --qmp {qmp}, --seccomp {seccomp}"
        );
        if qmp {
            assert!(
                !d.path().join(format!("q{sig}")).exists(),
                "signal {sig}: the socket file stayed"
            );
        }
    }
}

/// A signal fdset-run was started with ignored (`nohup`, a shell's
/// background job; SIGPIPE, which Rust itself ignores and resets in its
/// children) is ignored in the program too, as `env` leaves it: in
/// every mode, `SigIgn` of the program's /proc status equals `env`'s.
#[test]
fn ignored_signals_stay_ignored_in_the_program() {
    fn ignore_four() {
        for s in [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGPIPE] {
            // SAFETY: setting a disposition, between fork and exec.
            unsafe { libc::signal(s, libc::SIG_IGN) };
        }
    }
    let modes: &[&[&str]] = &[&[], &["--qmp", "q"], &["--seccomp"]];
    let (want, got) = status_line_as_under_env("run-sigign", "SigIgn", ignore_four, modes);
    assert_ne!(
        want, "SigIgn:\t0000000000000000\n",
        "the test ignores three"
    );
    for (args, line) in modes.iter().zip(got) {
        assert_eq!(line, want, "fdset-run {args:?}");
    }
}

/// README "fdset-run": the program starts as under `env`. The signal mask
/// fdset-run was started with (the forwarded signals among it) is the
/// program's, in every mode.
#[test]
fn the_signal_mask_fdset_run_was_started_with_is_the_programs() {
    fn block_four() {
        // SAFETY: plain signal-set calls on a local set, between fork and exec.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR2, libc::SIGWINCH] {
                libc::sigaddset(&mut set, s);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
    }
    let modes: &[&[&str]] = &[
        &[],
        &["--qmp", "q"],
        &["--seccomp"],
        &["--seccomp", "--qmp", "q"],
    ];
    let (want, got) = status_line_as_under_env("run-sigmask", "SigBlk", block_four, modes);
    assert_ne!(want, "SigBlk:\t0000000000000000\n", "the test blocks four");
    for (args, line) in modes.iter().zip(got) {
        assert_eq!(line, want, "fdset-run {args:?}");
    }
}

/// The `FIELD` line of `/proc/self/status` of a program started with
/// `setup` run just before its exec: under `env`, and under fdset-run
/// with each of `modes` (in order).
fn status_line_as_under_env(
    tag: &str,
    field: &str,
    setup: fn(),
    modes: &[&[&str]],
) -> (String, Vec<String>) {
    use std::os::unix::process::CommandExt;
    let d = TempDir::new(tag);
    let run_with_setup = |mut cmd: Command| {
        // SAFETY: `setup` makes only signal calls, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                setup();
                Ok(())
            });
        }
        let out = cmd.output().expect("run");
        assert!(out.status.success(), "{}", stderr_of(&out));
        stdout_of(&out)
    };
    let grep = ["grep", field, "/proc/self/status"];
    let mut env = Command::new("env");
    env.args(grep);
    let want = run_with_setup(env);
    let got = modes
        .iter()
        .map(|args| {
            let mut cmd = fdset_run();
            cmd.current_dir(d.path()).args(*args).arg("--").args(grep);
            run_with_setup(cmd)
        })
        .collect();
    (want, got)
}

/// README "fdset-run", exit status: PROGRAM's. With `SIGCHLD` inherited
/// ignored (which makes the kernel reap children at once), fdset-run that
/// waits for the program (`--qmp`, `--seccomp`) still passes its status
/// on, and the program has `SIGCHLD` ignored, as under `env`.
#[test]
fn the_exit_status_passes_on_with_sigchld_inherited_ignored() {
    use std::os::unix::process::CommandExt;
    let d = TempDir::new("run-sigchld");
    let ignoring = |mut cmd: Command| {
        // SAFETY: only signal() between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                Ok(())
            });
        }
        output_within(cmd, std::time::Duration::from_secs(30))
    };
    let script = "grep SigIgn /proc/self/status; exit 7";
    let mut env = Command::new("env");
    env.args(["sh", "-c", script]);
    let want = ignoring(env);
    assert_eq!(want.status.code(), Some(7));
    for args in [
        vec![],
        vec!["--qmp", "q"],
        vec!["--seccomp"],
        vec!["--seccomp", "--qmp", "q"],
    ] {
        let mut cmd = fdset_run();
        cmd.current_dir(d.path())
            .args(&args)
            .args(["--", "sh", "-c", script]);
        let out = ignoring(cmd);
        assert_eq!(
            out.status.code(),
            Some(7),
            "fdset-run {args:?}: {}",
            stderr_of(&out)
        );
        assert_eq!(stdout_of(&out), stdout_of(&want), "fdset-run {args:?}");
    }
}

/// README "fdset-run": a refused launch changes nothing. A `--file` with
/// `mode=wo` or `rw` makes a missing file; when fdset-run then gives up (a
/// program named by a path that is not there, a later `--file` it cannot
/// open) before the program starts, the files it made are gone again, and
/// a file that was there is left as it was.
#[test]
fn a_refused_launch_leaves_no_file_it_made() {
    let d = TempDir::new("run-made-files");
    let made = d.path().join("made.img");
    let other = d.path().join("other.img");
    let kept = d.file("kept.img", b"");
    let missing_program = d.path().join("no-such-program");
    for (args, code) in [
        (
            vec![
                "--file".to_string(),
                file_arg(1, &made, "wo"),
                "--".to_string(),
                missing_program.display().to_string(),
            ],
            127,
        ),
        (
            vec![
                "--file".to_string(),
                file_arg(1, &made, "rw"),
                "--file".to_string(),
                file_arg(2, &other, "rw"),
                "--file".to_string(),
                file_arg(3, &kept, "rw"),
                "--file".to_string(),
                file_arg(4, &d.path().join("no-dir/x"), "rw"),
                "--".to_string(),
                "true".to_string(),
            ],
            125,
        ),
        (
            vec![
                "--seccomp".to_string(),
                "--file".to_string(),
                file_arg(1, &made, "wo"),
                "--".to_string(),
                missing_program.display().to_string(),
            ],
            127,
        ),
    ] {
        let out = run(fdset_run().args(&args));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr_of(&out)
        );
        assert!(!made.exists(), "{args:?}: {} left", made.display());
        assert!(!other.exists(), "{args:?}: {} left", other.display());
        assert!(kept.exists(), "{args:?}: a file that was there is kept");
    }
    // A launch that starts keeps what it made.
    let out = run(fdset_run()
        .arg("--file")
        .arg(file_arg(1, &made, "wo"))
        .args(["--", "true"]));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(made.exists());
}

/// README "fdset-run", `--alias`: a path names one set. An alias that is a
/// set number under a prefix (which names that set by itself) is refused,
/// by fdset-run (125) and by the shim at load (exit 1) when the prefix
/// comes from the environment; an alias of another name under a prefix is
/// fine.
#[test]
fn an_alias_that_a_prefix_names_already_is_refused() {
    let d = TempDir::new("run-alias-prefix");
    let f = d.file("f", b"set one\n");
    let out = run(fdset_run().args([
        "--prefix",
        "/run/fdset",
        "--alias",
        "/run/fdset/3=1",
        "--",
        "true",
    ]));
    assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("'/run/fdset/3' is under the prefix /run/fdset/"),
        "{}",
        stderr_of(&out)
    );
    let out = run(preloaded("true")
        .env("FDSET_PREFIX", "/run/fdset/")
        .env("FDSET_ALIAS", "/run/fdset/03=1"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("FDSET_ALIAS: '/run/fdset/03' is under the prefix"));
    let out = run(fdset_run()
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args([
            "--prefix",
            "/run/fdset",
            "--alias",
            "/run/fdset/disk.img=1",
            "--",
        ])
        .args(["cat", "/run/fdset/disk.img"]));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "set one\n");
}

/// SIGINT reaches the program when it comes from a terminal too.
/// Ctrl-C on a pty signals the whole foreground process group (fdset-run
/// and the program), so fdset-run must not forward that one again (README
/// "fdset-run"): the program counts the SIGINTs it gets over a second and
/// exits with 40 + the count, which fdset-run passes on. With --qmp
/// (fdset-run the program's parent) and without (fdset-run became it).
#[test]
fn ctrl_c_on_a_terminal_reaches_the_program_once() {
    let d = TempDir::new("run-ctrl-c");
    ctrl_c_once(&d, &[]);
    let sock = d.path().join("q").display().to_string();
    ctrl_c_once(&d, &["--qmp", &sock]);
}

fn ctrl_c_once(d: &TempDir, extra: &[&str]) {
    let f = d.file("in.txt", b"read through set 1\n");
    let program = "import signal, sys, time\n\
        got = []\n\
        signal.signal(signal.SIGINT, lambda n, f: got.append(n))\n\
        print(open('/dev/fdset/1').read(), end='')\n\
        print('ready', flush=True)\n\
        time.sleep(1)\n\
        sys.exit(40 + len(got))\n";
    let driver = "import os, pty, select, sys, time\n\
        run, spec, py, program = sys.argv[1:5]\n\
        extra = sys.argv[5:]\n\
        pid, tty = pty.fork()\n\
        if pid == 0:\n    os.execv(run, [run] + extra + ['--file', spec, '--', py, '-c', program])\n\
        out = b''\n\
        deadline = time.time() + 20\n\
        def read_some():\n    global out\n    if select.select([tty], [], [], 0.1)[0]:\n        try:\n            out += os.read(tty, 4096)\n        except OSError:\n            pass\n\
        while b'ready' not in out and time.time() < deadline:\n    read_some()\n\
        os.write(tty, b'\\x03')\n\
        while True:\n    done, status = os.waitpid(pid, os.WNOHANG)\n    if done:\n        break\n    if time.time() > deadline:\n        os.kill(pid, 9)\n        print('timeout', out)\n        sys.exit(1)\n    read_some()\n\
        print(out.decode(errors='replace'))\n\
        print('status', os.waitstatus_to_exitcode(status))\n";
    let mut cmd = Command::new(python());
    without_shim_env(&mut cmd);
    shim_lib();
    cmd.args([
        "-c",
        driver,
        env!("CARGO_BIN_EXE_fdset-run"),
        &file_arg(1, &f, "ro"),
    ])
    .arg(python())
    .arg(program)
    .args(extra);
    let out = run(&mut cmd);
    let text = stdout_of(&out);
    assert!(out.status.success(), "{extra:?}: {text}{}", stderr_of(&out));
    assert!(text.contains("read through set 1"), "{extra:?}: {text}");
    assert!(
        text.trim_end().ends_with("status 41"),
        "{extra:?}: one SIGINT, 40 + 1: {text}"
    );
}

/// "Every bad option is refused before the program starts, with a
/// message that names the option and the fix".
#[test]
fn bad_options_are_refused_before_the_program_starts() {
    let d = TempDir::new("run-bad");
    let marker = d.path().join("started");
    let missing = d.path().join("missing.img");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--file".into(), file_arg(1, &missing, "ro")],
            format!(
                "fdset-run: --file set=1,path={0},mode=ro: cannot open {0} for reading: No such file or directory (os error 2) (check the path; only mode=wo or rw creates a file)",
                missing.display()
            ),
        ),
        (
            vec!["--file".into(), "set=1,path=/etc/hostname,mode=rx".into()],
            "fdset-run: --file set=1,path=/etc/hostname,mode=rx: mode 'rx' is not one of ro, wo, rw".into(),
        ),
        (
            vec!["--file".into(), "set=2147483648,path=/etc/hostname".into()],
            "fdset-run: --file set=2147483648,path=/etc/hostname: set id 2147483648 is out of range (use a set id from 0 to 2147483647, the numbers /dev/fdset/N can name)".into(),
        ),
        (
            vec!["--add-fd".into(), "fd=1,set=1".into()],
            "fdset-run: --add-fd fd=1,set=1: fd cannot be a standard I/O stream (use fd 3 or above)".into(),
        ),
        (
            vec!["--add-fd".into(), "fd=9,set=1".into()],
            "fdset-run: --add-fd fd=9,set=1: fd is not valid or already in use (open it in the shell that starts fdset-run, e.g. `3<file`)".into(),
        ),
        (
            vec!["--data".into(), format!("set=1,path={}", missing.display())],
            format!(
                "fdset-run: --data set=1,path={0}: cannot read {0}: No such file or directory (os error 2) (check the path)",
                missing.display()
            ),
        ),
        // An endless source is refused at 1 GiB, not read until memory
        // runs out.
        (
            vec!["--data".into(), "set=1,path=/dev/zero".into()],
            "fdset-run: --data set=1,path=/dev/zero: /dev/zero holds more than 1 GiB: --data keeps its content in memory (pass a file with --file instead)".into(),
        ),
    ];
    for (args, message) in cases {
        let out = run(fdset_run().args(&args).arg("--").arg("touch").arg(&marker));
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert_eq!(stderr_of(&out).trim_end(), message, "{args:?}");
        assert!(!marker.exists(), "the program ran despite {args:?}");
    }
    let out = run(fdset_run()
        .arg("--bogus")
        .arg("--")
        .arg("touch")
        .arg(&marker));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out).starts_with("fdset-run: unexpected argument '--bogus' found\n"),
        "{}",
        stderr_of(&out)
    );
    // No `--`: the program's name would be read as an option.
    let out = run(fdset_run().arg("touch").arg(&marker));
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out).trim_end(),
        "fdset-run: 'touch' is not an option: put `--` before the program (usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...])"
    );
    let out = run(fdset_run().args(["--file", "set=1,path=/etc/hostname"]));
    assert_eq!(
        stderr_of(&out).trim_end(),
        "fdset-run: no program given: write it after `--` (usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...])"
    );
    assert!(!marker.exists());
}

/// The library is found at FDSET_SHIM_LIB, beside fdset-run, or in
/// `../lib/fdset-shim/` or `../lib/<multiarch>/fdset-shim/` relative to it; a
/// wrong FDSET_SHIM_LIB is refused with the fix, and a missing library with
/// every place looked at.
#[test]
fn missing_library_is_refused() {
    let out = run(fdset_run()
        .env("FDSET_SHIM_LIB", "/nonexistent/libfdset_shim.so")
        .args(["--", "true"]));
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out).trim_end(),
        "fdset-run: FDSET_SHIM_LIB=/nonexistent/libfdset_shim.so: No such file or directory (os error 2) \
         (point it at libfdset_shim.so, or unset it to use the one beside fdset-run)"
    );
    // A copy of the launcher in a directory without the library.
    let d = TempDir::new("run-nolib");
    let exe = d.path().join("fdset-run");
    std::fs::copy(env!("CARGO_BIN_EXE_fdset-run"), &exe).unwrap();
    let out = output_of_fresh_executable(
        Command::new(&exe)
            .env_remove("FDSET_SHIM_LIB")
            .args(["--", "true"]),
    );
    assert_eq!(out.status.code(), Some(125));
    let root = d.path().parent().unwrap();
    let expected = format!(
        "fdset-run: cannot find libfdset_shim.so; looked in: {}/libfdset_shim.so, {}/lib/fdset-shim/libfdset_shim.so, {}/lib/x86_64-linux-gnu/fdset-shim/libfdset_shim.so (install the package, build it with `cargo build --release`, or set FDSET_SHIM_LIB=/path/to/libfdset_shim.so)",
        d.path().display(),
        root.display(),
        root.display()
    );
    assert_eq!(stderr_of(&out).trim_end(), expected);
    // The same copy works when told where the library is.
    let out = output_of_fresh_executable(
        Command::new(&exe)
            .env("FDSET_SHIM_LIB", shim_lib())
            .args(["--", "true"]),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
}

/// Spec section 4, "a program must never run with part of its fds
/// missing": a library the loader could not preload (a path with a space
/// or a colon, where it splits LD_PRELOAD; a directory; a file that is not
/// the shim) is refused with
/// 125 before the program starts, found beside fdset-run or named by
/// FDSET_SHIM_LIB.
#[test]
fn a_library_the_loader_cannot_preload_is_refused() {
    let d = TempDir::new("run-libpath");
    let marker = d.path().join("ran");
    let touch = ["--", "touch", marker.to_str().unwrap()];
    for dir in ["a b", "c:d"] {
        let place = d.path().join(dir);
        std::fs::create_dir(&place).unwrap();
        std::fs::copy(shim_lib(), place.join("libfdset_shim.so")).unwrap();
        let exe = place.join("fdset-run");
        std::fs::copy(env!("CARGO_BIN_EXE_fdset-run"), &exe).unwrap();
        let beside =
            output_of_fresh_executable(Command::new(&exe).env_remove("FDSET_SHIM_LIB").args(touch));
        let named = run(fdset_run()
            .env("FDSET_SHIM_LIB", place.join("libfdset_shim.so"))
            .args(touch));
        for out in [beside, named] {
            assert_eq!(out.status.code(), Some(125), "{dir}: {}", stderr_of(&out));
            assert!(
                stderr_of(&out).contains("has a space or a colon"),
                "{}",
                stderr_of(&out)
            );
        }
    }
    let out = run(fdset_run().env("FDSET_SHIM_LIB", d.path()).args(touch));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out).contains("not a regular file"),
        "{}",
        stderr_of(&out)
    );
    assert!(!marker.exists(), "the program ran");
    // A library that is not the shim (another shared object, a text file)
    // would load, or be skipped with a warning, and the program would run
    // without its sets.
    let text = d.file("notes.txt", b"not a library\n");
    for other in [Path::new("/lib/x86_64-linux-gnu/libm.so.6"), text.as_path()] {
        let out = run(fdset_run().env("FDSET_SHIM_LIB", other).args(touch));
        assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
        let canonical = other.canonicalize().unwrap();
        assert_eq!(
            stderr_of(&out),
            format!(
                "fdset-run: {} is not the fdset-shim library (it has no .fdset_shim section); \
                 point FDSET_SHIM_LIB at libfdset_shim.so, or unset it to use the one beside \
                 fdset-run\n",
                canonical.display()
            )
        );
        assert!(!marker.exists(), "the program ran with {}", other.display());
    }
}

/// Spec section 7, no state into a set-user-ID or set-group-ID program nor
/// one with file capabilities: fdset-run refuses to start one (125), a
/// script run by such an interpreter too, before opening anything into it;
/// the same program without the bits runs. (The tests run as root; setcap
/// comes from libcap2-bin, which .ci/setup installs.)
#[test]
fn privileged_programs_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = TempDir::new("run-privileged");
    let secret = d.file("secret.txt", b"root only\n");
    let copy = |name: &str, mode: u32| {
        let p = d.path().join(name);
        std::fs::copy("/usr/bin/touch", &p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    let suid = copy("touch-suid", 0o4755);
    let sgid = copy("touch-sgid", 0o2755);
    let caps = copy("touch-caps", 0o755);
    let st = Command::new("setcap")
        .arg("cap_net_raw+ep")
        .arg(&caps)
        .status()
        .unwrap();
    assert!(st.success(), "setcap");
    let script = d.path().join("script");
    std::fs::write(&script, format!("#!{} -c\n", suid.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let marker = d.path().join("ran");
    for (prog, what) in [
        (&suid, "set-user-ID"),
        (&sgid, "set-group-ID"),
        (&caps, "given file capabilities"),
        (&script, "run by"),
    ] {
        let out = run(fdset_run()
            .arg("--file")
            .arg(file_arg(1, &secret, "ro"))
            .arg("--")
            .arg(prog)
            .arg(&marker));
        assert_eq!(
            out.status.code(),
            Some(125),
            "{}: {}",
            prog.display(),
            stderr_of(&out)
        );
        let err = stderr_of(&out);
        assert!(
            err.contains(&format!("{} is {what}", prog.display())),
            "{err}"
        );
        assert!(!marker.exists(), "{} ran", prog.display());
    }
    let plain = copy("touch-plain", 0o755);
    let out = run(fdset_run()
        .arg("--file")
        .arg(file_arg(1, &secret, "ro"))
        .arg("--")
        .arg(&plain)
        .arg(&marker));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(marker.exists());
}

/// A standard descriptor fdset-run was started with closed is closed in
/// the program too, as `env` leaves it (Rust's start-up would have put
/// /dev/null there): `echo` with no stdout and `cat` with no stdin fail
/// with EBADF, with `env`'s status and message, in every mode; and
/// `--data path=-` with no stdin is refused rather than read as empty.
#[test]
fn closed_standard_descriptors_stay_closed() {
    use std::os::unix::process::CommandExt;
    let closing = |mut cmd: Command, fd: i32| {
        // SAFETY: only close() between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::close(fd);
                Ok(())
            });
        }
        cmd.output().expect("run")
    };
    let d = TempDir::new("run-closed-stdio");
    for (fd, prog) in [(1, vec!["echo", "hi"]), (0, vec!["cat"])] {
        let mut env = Command::new("env");
        env.args(&prog);
        let want = closing(env, fd);
        assert_eq!(want.status.code(), Some(1), "env {prog:?}");
        for mode in [vec![], vec!["--qmp", "q"], vec!["--seccomp"]] {
            let mut cmd = fdset_run();
            cmd.current_dir(d.path()).args(&mode).arg("--").args(&prog);
            let got = closing(cmd, fd);
            assert_eq!(got.status.code(), want.status.code(), "{mode:?} {prog:?}");
            assert_eq!(stderr_of(&got), stderr_of(&want), "{mode:?} {prog:?}");
        }
    }
    let mut cmd = fdset_run();
    cmd.args(["--data", "set=1,path=-", "--", "cat", "/dev/fdset/1"]);
    let out = closing(cmd, 0);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out).contains("cannot read stdin: it is closed"),
        "{}",
        stderr_of(&out)
    );
}

/// Spec section 5, FDSET_ALIAS "that exact path opens set N": one path
/// names one set. An --alias that gives a path FDSET_ALIAS already names
/// another set for (it would lose silently in the program) is refused with
/// 125; the same pair again is fine.
#[test]
fn an_alias_contradicting_fdset_alias_is_refused() {
    let d = TempDir::new("run-alias");
    let f = d.file("f", b"set one\n");
    let out = run(fdset_run()
        .env("FDSET_ALIAS", "/srv/x=1")
        .args(["--alias", "/srv/x=2", "--", "true"]));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr_of(&out).contains("'/srv/x' is already an alias of set 1"),
        "{}",
        stderr_of(&out)
    );
    let out = run(fdset_run()
        .env("FDSET_ALIAS", "/srv/x=1")
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args(["--alias", "/srv/x=1", "--", "cat", "/srv/x"]));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "set one\n");
}

/// An inherited `FDSET_CONTROL_FD` is checked as the shim checks it
/// (spec section 3: inherited stream sockets; section 5), before anything
/// is opened: a bad one is fdset-run's refusal (125) and no file is made.
/// A good one reaches the program, whose shim serves it: with
/// `FDSET_WAIT=1` the program starts only on that socket's `cont`.
#[test]
fn an_inherited_control_fd_is_checked_and_passed_on() {
    use std::os::unix::net::UnixStream;
    let d = TempDir::new("run-inherited-control");
    let made = d.path().join("made");
    let f = d.file("f", b"served\n");
    let (ours, theirs) = UnixStream::pair().unwrap();
    let theirs = std::fs::File::from(std::os::fd::OwnedFd::from(theirs));
    for (control, fds, want) in [
        ("9", vec![], "fdset-run: FDSET_CONTROL_FD: fd 9 is not open"),
        (
            "",
            vec![],
            "fdset-run: FDSET_CONTROL_FD: '' is not a file descriptor number",
        ),
        (
            "7",
            vec![(std::fs::File::open(&f).unwrap(), 7)],
            "fdset-run: FDSET_CONTROL_FD: fd 7 is not a socket",
        ),
        (
            "7",
            vec![(theirs.try_clone().unwrap(), 7)],
            "fdset-run: FDSET_CONTROL_FD: fd 7 is also named in FDSET_ADD_FD",
        ),
    ] {
        let mut cmd = fdset_run();
        if want.contains("FDSET_ADD_FD") {
            cmd.args(["--add-fd", "fd=7,set=2"]);
        }
        cmd.env("FDSET_CONTROL_FD", control)
            .arg("--file")
            .arg(file_arg(1, &made, "wo"))
            .args(["--", "sh", "-c", "echo ran"]);
        inherit_fds(&mut cmd, fds);
        let out = run(&mut cmd);
        assert_eq!(
            out.status.code(),
            Some(125),
            "{control}: {}",
            stderr_of(&out)
        );
        assert!(
            stderr_of(&out).starts_with(want),
            "{control}: {}",
            stderr_of(&out)
        );
        assert_eq!(stdout_of(&out), "", "{control}: the program ran");
        assert!(!made.exists(), "{control}: the file stays made");
    }
    let mut cmd = fdset_run();
    cmd.env("FDSET_CONTROL_FD", "7")
        .env("FDSET_WAIT", "1")
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args(["--", "cat", "/dev/fdset/1"])
        .stdout(Stdio::piped());
    inherit_fds(&mut cmd, vec![(theirs, 7)]);
    let child = cmd.spawn().unwrap();
    let mut q = fdset_testkit::qmp::Qmp::new(ours);
    assert!(q.greeting().get("QMP").is_some());
    q.negotiate();
    q.send(b"{\"execute\": \"cont\"}\n");
    assert_eq!(q.reply()["return"], serde_json::json!({}));
    let out = wait_within(child, std::time::Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "served\n");
}

/// The shim takes one inherited fd into each set `FDSET_ADD_FD` names it
/// for (spec section 4: "for each, the shim takes inherited fd N into set
/// S"), with `--add-fd` of the same fd for another set too; so does
/// seccomp mode. Only two `--add-fd` of one fd are refused (fdset-run's
/// own rule).
#[test]
fn one_inherited_fd_may_be_named_for_several_sets() {
    let d = TempDir::new("run-inherited-twice");
    let f = d.file("f", b"shared\n");
    for (seccomp, add_fd, option) in [
        (false, "fd=3,set=1;fd=3,set=2", None),
        (true, "fd=3,set=1;fd=3,set=2", None),
        (false, "fd=3,set=1", Some("fd=3,set=2")),
        (true, "fd=3,set=1", Some("fd=3,set=2")),
    ] {
        let mut cmd = fdset_run();
        if seccomp {
            cmd.arg("--seccomp");
        }
        if let Some(o) = option {
            cmd.args(["--add-fd", o]);
        }
        cmd.env("FDSET_ADD_FD", add_fd)
            .args(["--", "cat", "/dev/fdset/1", "/dev/fdset/2"]);
        inherit_fds(&mut cmd, vec![(std::fs::File::open(&f).unwrap(), 3)]);
        let out = run(&mut cmd);
        let case = format!("seccomp {seccomp}, {add_fd}, {option:?}");
        assert!(out.status.success(), "{case}: {}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "shared\nshared\n", "{case}");
    }
}

/// Under a prefix a name that is no set number fails (README "Open", step
/// 1: EINVAL), so a `--prefix` of a directory with files in it would hide
/// them (`--prefix /dev` broke `/dev/null`): refused, naming a file; an
/// empty directory, or one that does not exist, is a prefix.
#[test]
fn a_prefix_over_a_directory_with_files_is_refused() {
    let d = TempDir::new("run-prefix-files");
    d.file("notes.txt", b"mine\n");
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let f = d.file("f", b"set one\n");
    let out = run(fdset_run()
        .arg("--prefix")
        .arg(d.path())
        .args(["--", "sh", "-c", "echo ran"]));
    assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
    let dir = d.path().display();
    assert!(
        stderr_of(&out).starts_with(&format!("fdset-run: --prefix {dir}: {dir} holds files ("))
            && stderr_of(&out).contains("that the prefix would hide"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(stdout_of(&out), "");
    // An inherited FDSET_PREFIX entry as well (seccomp mode serves it).
    let out = run(fdset_run()
        .env("FDSET_PREFIX", d.path())
        .args(["--", "sh", "-c", "echo ran"]));
    assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).starts_with(&format!(
            "fdset-run: the FDSET_PREFIX fdset-run was given: entry {dir}: {dir} holds files ("
        )),
        "{}",
        stderr_of(&out)
    );
    for prefix in [empty.clone(), d.path().join("missing")] {
        let out = run(fdset_run()
            .arg("--file")
            .arg(file_arg(1, &f, "ro"))
            .arg("--prefix")
            .arg(&prefix)
            .arg("--")
            .arg("cat")
            .arg(prefix.join("1")));
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "set one\n");
    }
}

/// The FDSET_ADD_FD, FDSET_PREFIX and FDSET_ALIAS fdset-run was started
/// with are checked with its options, as the shim would check them, before
/// anything is opened: a bad one is fdset-run's refusal (125), named, and
/// no file is left made (spec section 4: a program never runs with part of
/// its fds missing; section 5: the shim's checks of these variables). Given
/// to the shim unchecked, each stopped the program after the files were
/// made (exit 1).
#[test]
fn inherited_settings_are_checked_with_the_options_before_anything_is_made() {
    let d = TempDir::new("run-inherited-bad");
    let made = d.path().join("made");
    let cases: [(&str, &str, &[&str], &str); 6] = [
        (
            "FDSET_PREFIX",
            "/run/f",
            &["--alias", "/run/f/3=3"],
            "'/run/f/3' is under the prefix /run/f/, where the name itself says the set",
        ),
        (
            "FDSET_ALIAS",
            "/run/f/3=3",
            &["--prefix", "/run/f"],
            "'/run/f/3' is under the prefix /run/f/, where the name itself says the set",
        ),
        (
            "FDSET_ADD_FD",
            "garbage",
            &[],
            "fdset-run: FDSET_ADD_FD entry 'garbage': Invalid parameter 'garbage'",
        ),
        (
            "FDSET_ADD_FD",
            "fd=9,set=1",
            &[],
            "fdset-run: FDSET_ADD_FD entry 'fd=9,set=1': fd is not valid or already in use",
        ),
        (
            "FDSET_WAIT",
            "1",
            &[],
            "fdset-run: FDSET_WAIT=1 needs FDSET_CONTROL_FD: nobody could send 'cont' (give fdset-run --qmp PATH",
        ),
        (
            "FDSET_WAIT",
            "2",
            &[],
            "fdset-run: FDSET_WAIT: expected 0 or 1, got '2'",
        ),
    ];
    for (var, value, args, want) in cases {
        let out = run(fdset_run()
            .env(var, value)
            .args(args)
            .arg("--file")
            .arg(file_arg(1, &made, "wo"))
            .args(["--", "sh", "-c", "echo ran"]));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(125), "{var}={value}: {err}");
        assert!(err.contains(want), "{var}={value}: {err}");
        assert_eq!(stdout_of(&out), "", "{var}={value}: the program ran");
        assert!(!made.exists(), "{var}={value}: the file stays made");
    }
}

/// An installed layout: `PREFIX/bin/fdset-run` finds
/// `PREFIX/lib/x86_64-linux-gnu/fdset-shim/libfdset_shim.so` (the Debian
/// package's) and `PREFIX/lib/fdset-shim/libfdset_shim.so`.
#[test]
fn library_is_found_under_the_prefix() {
    for lib_dir in ["lib/x86_64-linux-gnu/fdset-shim", "lib/fdset-shim"] {
        let d = TempDir::new("run-prefix");
        std::fs::create_dir_all(d.path().join("bin")).unwrap();
        std::fs::create_dir_all(d.path().join(lib_dir)).unwrap();
        let exe = d.path().join("bin/fdset-run");
        std::fs::copy(env!("CARGO_BIN_EXE_fdset-run"), &exe).unwrap();
        std::fs::copy(shim_lib(), d.path().join(lib_dir).join("libfdset_shim.so")).unwrap();
        let f = d.file("in.txt", b"found under the prefix\n");
        let out = output_of_fresh_executable(
            Command::new(&exe)
                .env_remove("FDSET_SHIM_LIB")
                .arg("--file")
                .arg(file_arg(1, &f, "ro"))
                .args(["--", "cat", "/dev/fdset/1"]),
        );
        assert!(out.status.success(), "{lib_dir}: {}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "found under the prefix\n", "{lib_dir}");
    }
}

/// An existing LD_PRELOAD keeps its entries; the shim is appended.
#[test]
fn existing_ld_preload_is_kept() {
    let out = ok(fdset_run()
        .env("LD_PRELOAD", "/lib/x86_64-linux-gnu/libc.so.6")
        .args(["--", "sh", "-c", "echo \"$LD_PRELOAD\""]));
    assert_eq!(
        out.trim(),
        format!(
            "/lib/x86_64-linux-gnu/libc.so.6:{}",
            shim_lib().canonicalize().unwrap().display()
        )
    );
}

/// `--data set=S,path=-` reads the launcher's stdin.
#[test]
fn data_from_stdin() {
    let mut cmd = fdset_run();
    cmd.args(["--data", "set=1,path=-", "--", "cat", "/dev/fdset/1"]);
    let out = output_with_stdin(cmd, b"from stdin\n");
    assert!(out.status.success());
    assert_eq!(stdout_of(&out), "from stdin\n");
}

/// A set survives the close of its first dup (spec section 2, "Cleanup of a
/// set"): without --qmp the program has no control socket, so its
/// launch-time sets stay in use for its life ("In use").
#[test]
fn launcher_stays_a_monitor_so_sets_survive_a_close() {
    let d = TempDir::new("run-monitor");
    let f = d.file("f", b"again\n");
    let out = ok(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "cat",
        "/dev/fdset/1",
        "/dev/fdset/1",
    ]));
    assert_eq!(out, "again\nagain\n");
}

/// `--qmp PATH`: a listening socket, mode 0600, removed at exit; fdset-ctl
/// adds a set while the program runs and the program opens it.
#[test]
fn qmp_socket_lets_fdset_ctl_add_a_set_while_the_program_runs() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let d = TempDir::new("run-qmp");
    let launch = d.file("launch.txt", b"launch-time\n");
    let late = d.file("late.txt", b"added at run time\n");
    let sock = d.path().join("prog.qmp");
    let script = "import os, sys, time\n\
        print(open('/dev/fdset/1').read(), end='', flush=True)\n\
        for _ in range(1000):\n    if os.path.exists('/dev/fdset/7'): break\n    time.sleep(0.01)\n\
        print(open('/dev/fdset/7').read(), end='', flush=True)\n";
    let mut child = fdset_run()
        .arg("--file")
        .arg(file_arg(1, &launch, "ro"))
        .arg("--qmp")
        .arg(&sock)
        .arg("--")
        .arg(python())
        .args(["-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "launch-time\n");
    let meta = std::fs::symlink_metadata(&sock).expect("the socket exists while the program runs");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let ctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fdset-ctl"))
            .arg("--socket")
            .arg(&sock)
            .args(args)
            .output()
            .expect("run fdset-ctl")
    };
    let add = ctl(&[
        "add-fd",
        "--set",
        "7",
        "--mode",
        "ro",
        "--path",
        late.to_str().unwrap(),
    ]);
    assert!(add.status.success(), "{}", stderr_of(&add));
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "added at run time\n");
    assert!(child.wait().unwrap().success());
    assert!(!sock.exists(), "the socket is removed at exit");
}

/// `--qmp` refuses a path that exists (it would be someone's file).
#[test]
fn qmp_refuses_an_existing_path() {
    let d = TempDir::new("run-qmp-exists");
    let f = d.file("taken", b"");
    let out = run(fdset_run().arg("--qmp").arg(&f).args(["--", "true"]));
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out).trim_end(),
        format!(
            "fdset-run: --qmp {0}: {0} already exists (remove it, or choose another path)",
            f.display()
        )
    );
    assert!(f.exists());
}

/// Too many files for the limit on open descriptors: fdset-run refuses
/// when its own opens fill the table, the shim at the program's start when
/// the second descriptor of each member does, each with a text that names
/// the limit, and the program never runs (spec section 4: never with part
/// of its fds missing; README "Exit status": 125 is fdset-run's own
/// failure, 1 the shim's refusal before `main`). The limits sit far from
/// either edge: 40 files, 30 descriptors (the files alone do not fit) and
/// 64 (fdset-run's ~50 fit with room to spare, the program's ~84 do not).
#[test]
fn a_descriptor_limit_too_low_for_the_files_is_named() {
    let d = TempDir::new("run-nofile");
    let mut files = Vec::new();
    for i in 1..=40 {
        let f = d.file(&format!("f{i}"), b"x");
        files.push(format!("set={i},path={}", f.display()));
    }
    for (limit, qmp) in [(30, true), (30, false), (64, true), (64, false)] {
        let mut cmd = fdset_run();
        let socket = d.path().join(format!("q{limit}"));
        if qmp {
            cmd.arg("--qmp").arg(&socket);
        }
        for f in &files {
            cmd.arg("--file").arg(f);
        }
        cmd.args(["--", "sh", "-c", "echo ran"]);
        limit_open_files(&mut cmd, limit);
        let out = run(&mut cmd);
        let err = stderr_of(&out);
        let case = format!("limit {limit}, qmp {qmp}: {err}");
        assert_eq!(stdout_of(&out), "", "the program ran; {case}");
        if limit == 30 {
            assert_eq!(out.status.code(), Some(125), "{case}");
            assert!(
                err.starts_with("fdset-run: --file set=")
                    && err.contains("Too many open files")
                    && err.contains("raise the limit on open files, ulimit -n"),
                "{case}"
            );
        } else {
            assert_eq!(out.status.code(), Some(1), "{case}");
            assert!(
                err.starts_with("fdset-shim: cannot duplicate fd ")
                    && err.contains(" for set ")
                    && err.contains("raise the limit on open files, ulimit -n"),
                "{case}"
            );
        }
        assert!(!socket.exists(), "the socket stays behind; {case}");
    }
    // A --data member takes a memfd, its source and a read-only reopening:
    // whichever of them fills the table, the text names the limit.
    let mut cmd = fdset_run();
    for i in 1..=40 {
        cmd.arg("--data")
            .arg(format!("set={i},path={}", d.path().join("f1").display()));
    }
    cmd.args(["--", "sh", "-c", "echo ran"]);
    limit_open_files(&mut cmd, 30);
    let out = run(&mut cmd);
    let err = stderr_of(&out);
    assert_eq!(stdout_of(&out), "", "the program ran: {err}");
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.starts_with("fdset-run: --data set=")
            && err.contains("Too many open files")
            && err.contains("raise the limit on open files, ulimit -n"),
        "{err}"
    );
}
