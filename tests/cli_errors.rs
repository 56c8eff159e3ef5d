//! The command lines of fdset-run and fdset-ctl end to end: --version,
//! --opt=value, paths that are not UTF-8, FDSET_SOCKET, --timeout, and a
//! clear message for every bad input (a bad option, value, socket or peer),
//! with nothing started and nothing left behind.
use fdset_testkit::*;
use std::ffi::OsStr;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ctl() -> Command {
    let mut c = Command::new(bin("fdset-ctl"));
    c.env_remove("FDSET_SOCKET");
    c
}

fn out(cmd: &mut Command) -> Output {
    cmd.output().expect("run")
}

/// A program under fdset-run --qmp, and its socket; ended when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn running(sock: &std::path::Path) -> Running {
    let mut child = fdset_run()
        .arg("--qmp")
        .arg(sock)
        .args(["--", "sleep", "60"])
        .spawn()
        .unwrap();
    wait_for_path(sock, &mut child);
    Running(child)
}

#[test]
fn version_and_help() {
    let v = env!("CARGO_PKG_VERSION");
    for (tool, name) in [(fdset_run(), "fdset-run"), (ctl(), "fdset-ctl")] {
        let mut tool = tool;
        let o = out(tool.arg("--version"));
        assert!(o.status.success());
        assert_eq!(stdout_of(&o), format!("{name} {v}\n"));
    }
    let o = out(fdset_run().arg("--help"));
    assert!(o.status.success());
    let help = stdout_of(&o);
    assert!(
        help.contains("Usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...]"),
        "{help}"
    );
    let o = out(ctl().arg("--help"));
    assert!(o.status.success());
    let help = stdout_of(&o);
    for text in [
        "[env: FDSET_SOCKET=]",
        "[default: 10]",
        "add-fd",
        "Exit status",
    ] {
        assert!(help.contains(text), "{text}: {help}");
    }
    let o = out(ctl().args(["add-fd", "--help"]));
    assert!(stdout_of(&o).contains("[default: ro]"), "{}", stdout_of(&o));
}

/// A file and a socket whose names are not UTF-8, through both tools, and
/// every option written `--opt=value`.
#[test]
fn non_utf8_paths_and_equals_values() {
    let d = TempDir::new("cli-bytes");
    let name = OsStr::from_bytes(b"caf\xe9.txt");
    let file = d.path().join(name);
    std::fs::write(&file, b"latin-1 name\n").unwrap();
    let mut arg = std::ffi::OsString::from("--file=set=1,path=");
    arg.push(&file);
    let o = out(fdset_run().arg(arg).args(["--", "cat", "/dev/fdset/1"]));
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(stdout_of(&o), "latin-1 name\n");

    let sock = d.path().join(OsStr::from_bytes(b"q\xff.sock"));
    let mut qmp = std::ffi::OsString::from("--qmp=");
    qmp.push(&sock);
    let mut child = fdset_run()
        .arg(qmp)
        .args([
            "--",
            "sh",
            "-c",
            "while [ ! -e /dev/fdset/3 ]; do sleep 0.02; done; cat /dev/fdset/3",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_path(&sock, &mut child);
    let mut socket_arg = std::ffi::OsString::from("--socket=");
    socket_arg.push(&sock);
    let mut path_arg = std::ffi::OsString::from("--path=");
    path_arg.push(&file);
    let o = out(ctl()
        .arg(socket_arg)
        .arg("--timeout=5")
        .args(["add-fd", "--set=3", "--mode=ro", "--opaque=café"])
        .arg(path_arg));
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert!(
        stdout_of(&o).starts_with("fdset-id 3 fd "),
        "{}",
        stdout_of(&o)
    );
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout_of(&o), "latin-1 name\n");
    assert!(!sock.exists(), "the socket is removed at exit");
}

/// FDSET_SOCKET is the default socket; --socket wins over it.
#[test]
fn fdset_socket_is_the_default() {
    let d = TempDir::new("cli-env");
    let sock = d.path().join("q");
    let _p = running(&sock);
    let o = out(ctl().env("FDSET_SOCKET", &sock).arg("query-fdsets"));
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert_eq!(stdout_of(&o), "no fd sets\n");
    let o = out(ctl()
        .env("FDSET_SOCKET", d.path().join("elsewhere"))
        .arg("--socket")
        .arg(&sock)
        .arg("query-fdsets"));
    assert!(o.status.success(), "{}", stderr_of(&o));
}

/// A peer that never greets is given up on after --timeout, not 30 s.
#[test]
fn timeout_ends_the_wait_for_a_silent_peer() {
    let d = TempDir::new("cli-timeout");
    let path = d.path().join("silent.sock");
    let l = UnixListener::bind(&path).unwrap();
    let holder = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(c);
    });
    let start = Instant::now();
    let o = out(ctl()
        .arg("--socket")
        .arg(&path)
        .args(["--timeout", "0.3", "cont"]));
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_of(&o),
        format!(
            "fdset-ctl: {} does not speak QMP (it sent no greeting within 0.3 s; see --timeout; \
             a QMP monitor greets with {{\"QMP\": ...}})\n",
            path.display()
        )
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    holder.join().unwrap();
}

/// `--timeout` bounds the whole wait for the greeting and for each reply: a
/// peer that trickles a greeting a byte at a time, or events and never the
/// reply, is given up on in time (bad input gets a clear error, no hang).
#[test]
fn timeout_bounds_a_peer_that_trickles() {
    let d = TempDir::new("cli-trickle");
    for (name, greets) in [("greeting", false), ("reply", true)] {
        let path = d.path().join(format!("{name}.sock"));
        let l = UnixListener::bind(&path).unwrap();
        let peer = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut r = std::io::BufReader::new(c.try_clone().unwrap());
            if greets {
                c.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
                    .unwrap();
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                c.write_all(b"{\"return\": {}}\n").unwrap();
                line.clear();
                r.read_line(&mut line).unwrap();
            } else {
                c.write_all(b"{\"QMP\": ").unwrap();
            }
            // Something every 50 ms for 4 s, never what is waited for.
            for _ in 0..80 {
                let more: &[u8] = if greets {
                    b"{\"event\": \"X\"}\n"
                } else {
                    b" "
                };
                if c.write_all(more).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let start = Instant::now();
        let o = out(ctl()
            .arg("--socket")
            .arg(&path)
            .args(["--timeout", "0.5", "cont"]));
        let took = start.elapsed();
        assert_eq!(o.status.code(), Some(1), "{name}");
        let want = if greets {
            "fdset-ctl: cont: no reply within 0.5 s (see --timeout)\n".to_string()
        } else {
            format!(
                "fdset-ctl: {} does not speak QMP (it sent no greeting within 0.5 s; see \
                 --timeout; a QMP monitor greets with {{\"QMP\": ...}})\n",
                path.display()
            )
        };
        assert_eq!(stderr_of(&o), want, "{name}");
        assert!(took < Duration::from_secs(2), "{name}: took {took:?}");
        peer.join().unwrap();
    }
}

/// Paths that are no QMP socket, and peers that are no QMP monitor.
#[test]
fn wrong_sockets_and_peers_are_named() {
    let d = TempDir::new("cli-peers");
    let plain = d.file("plain.txt", b"");
    let o = out(ctl().arg("--socket").arg(&plain).arg("cont"));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_of(&o),
        format!(
            "fdset-ctl: {} is not a socket (give the QMP socket of the program, e.g. the PATH of \
             fdset-run --qmp PATH)\n",
            plain.display()
        )
    );
    // A socket file nobody listens on any more.
    let stale = d.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let o = out(ctl().arg("--socket").arg(&stale).arg("cont"));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_of(&o),
        format!(
            "fdset-ctl: cannot connect to {}: Connection refused (os error 111) (nothing listens \
             there: has the program exited?)\n",
            stale.display()
        )
    );
    // A peer that talks, but not QMP.
    let chatty = d.path().join("chatty.sock");
    let l = UnixListener::bind(&chatty).unwrap();
    let t = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"220 smtp.example ESMTP ready\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    let o = out(ctl().arg("--socket").arg(&chatty).arg("cont"));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_of(&o),
        format!(
            "fdset-ctl: {} does not speak QMP (it sent \"220 smtp.example ESMTP ready\"; a QMP \
             monitor greets with {{\"QMP\": ...}})\n",
            chatty.display()
        )
    );
    t.join().unwrap();
    // A peer that hangs up at once.
    let rude = d.path().join("rude.sock");
    let l = UnixListener::bind(&rude).unwrap();
    let t = std::thread::spawn(move || drop(l.accept().unwrap()));
    let o = out(ctl().arg("--socket").arg(&rude).arg("cont"));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr_of(&o).starts_with(&format!(
            "fdset-ctl: {} closed the connection before the QMP greeting",
            rude.display()
        )),
        "{}",
        stderr_of(&o)
    );
    t.join().unwrap();
}

/// Bad fdset-run values end to end: nothing starts, exit 125.
#[test]
fn bad_fdset_run_values() {
    let d = TempDir::new("cli-run-bad");
    let marker = d.path().join("started");
    let mut alias = std::ffi::OsString::from("/srv/");
    alias.push(OsStr::from_bytes(b"\xff=1"));
    let cases: Vec<(Vec<std::ffi::OsString>, String)> = vec![
        (
            vec!["--file".into()],
            "fdset-run: a value is required for '--file <set=S,path=P[,mode=ro|wo|rw][,opaque=TEXT]>' but none was supplied".into(),
        ),
        (
            vec!["--file=set=1,path=/etc/hostname,mode=RW".into()],
            "fdset-run: --file set=1,path=/etc/hostname,mode=RW: mode 'RW' is not one of ro, wo, rw".into(),
        ),
        (
            vec!["--file".into(), "set=1,path=/etc/hostname,mode=".into()],
            "fdset-run: --file set=1,path=/etc/hostname,mode=: mode '' is not one of ro, wo, rw".into(),
        ),
        (
            vec!["--alias".into(), alias],
            "fdset-run: --alias /srv/\u{fffd}=1: not valid UTF-8 (the shim reads FDSET_ALIAS as text: choose a UTF-8 alias path)".into(),
        ),
        (
            vec!["--qmp=".into()],
            "fdset-run: a value is required for '--qmp <PATH>' but none was supplied".into(),
        ),
        (
            vec!["--file".into(), format!("set=1,path={}", d.path().display()).into()],
            format!(
                "fdset-run: --file set=1,path={0}: {0} is a directory (give a file)",
                d.path().display()
            ),
        ),
    ];
    for (args, message) in cases {
        let o = out(fdset_run().args(&args).arg("--").arg("touch").arg(&marker));
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        let err = stderr_of(&o);
        assert_eq!(
            err.split("\n\n").next().unwrap().trim_end(),
            message,
            "{args:?}"
        );
        assert!(!marker.exists(), "{args:?}");
    }
    let o = out(fdset_run().args(["--qmp", "/a", "--qmp", "/b", "--", "true"]));
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr_of(&o)
            .starts_with("fdset-run: the argument '--qmp <PATH>' cannot be used multiple times"),
        "{}",
        stderr_of(&o)
    );
}

/// Bad fdset-ctl values against a running program: exit 2 before
/// connecting for the command line, exit 1 for a file it cannot open; the
/// program's sets are unchanged.
#[test]
fn bad_fdset_ctl_values_change_nothing() {
    let d = TempDir::new("cli-ctl-bad");
    let sock = d.path().join("q");
    let _p = running(&sock);
    let data = d.file("f", b"x");
    let s: PathBuf = sock.clone();
    let usage = |args: &[&str]| {
        let o = out(ctl().arg("--socket").arg(&s).args(args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr_of(&o));
        assert!(
            stderr_of(&o).starts_with("fdset-ctl: "),
            "{}",
            stderr_of(&o)
        );
    };
    usage(&["add-fd", "--mode", "read-write", "--path", "/x"]);
    usage(&["add-fd", "--set", "9223372036854775808", "--path", "/x"]);
    usage(&["add-fd", "--fd", "-3"]);
    usage(&["remove-fd", "--set"]);
    usage(&["--timeout", "NaN", "cont"]);
    let o = out(ctl()
        .arg("--socket")
        .arg(&sock)
        .args(["add-fd", "--mode", "rw", "--path"])
        .arg(d.path()));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_of(&o),
        format!(
            "fdset-ctl: {} is a directory (give a file; an open directory joins a set with add-fd --fd N)\n",
            d.path().display()
        )
    );
    let o = out(ctl()
        .arg("--socket")
        .arg(&sock)
        .args(["add-fd", "--fd", "77"]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr_of(&o),
        "fdset-ctl: --fd 77: Bad file descriptor (os error 9)\n"
    );
    let o = out(ctl().arg("--socket").arg(&sock).arg("query-fdsets"));
    assert_eq!(stdout_of(&o), "no fd sets\n", "nothing was added");
    assert_eq!(std::fs::read(&data).unwrap(), b"x");
}

/// `--qmp PATH` appears only once it listens: a client that waits for the
/// path and connects at once is never refused. strace delays fdset-run's
/// listen() by 300 ms (Debian's strace, installed by .ci/setup), which made
/// every such connect fail while the socket was bound at PATH itself.
#[test]
fn the_qmp_socket_appears_only_when_it_listens() {
    let d = TempDir::new("cli-listen");
    let sock = d.path().join("q");
    let mut cmd = Command::new("strace");
    without_shim_env(&mut cmd);
    shim_lib();
    let mut child = cmd
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "trace=listen",
            "-e",
            "inject=listen:delay_enter=300000",
        ])
        .arg(bin("fdset-run"))
        .arg("--qmp")
        .arg(&sock)
        .args(["--", "sleep", "30"])
        .spawn()
        .expect("run strace (.ci/setup installs it)");
    let start = Instant::now();
    while sock.symlink_metadata().is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "no socket");
        assert!(child.try_wait().unwrap().is_none(), "fdset-run exited");
    }
    let connected = std::os::unix::net::UnixStream::connect(&sock);
    let _ = child.kill();
    let _ = child.wait();
    connected.expect("connect as soon as the path exists");
}
