//! `fdset-ctl` against a program under the shim serving a
//! listening control socket: each subcommand, its output, and its errors.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

fn ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fdset-ctl"))
        .env_remove("FDSET_SOCKET")
        .args(args)
        .output()
        .expect("run fdset-ctl")
}

fn ctl_ok(args: &[&str]) -> String {
    let out = ctl(args);
    assert!(
        out.status.success(),
        "fdset-ctl {args:?}: {}",
        stderr_of(&out)
    );
    assert_eq!(stderr_of(&out), "");
    stdout_of(&out)
}

fn ctl_err(args: &[&str], code: i32) -> String {
    let out = ctl(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "fdset-ctl {args:?}: {}",
        stdout_of(&out)
    );
    assert_eq!(stdout_of(&out), "");
    stderr_of(&out)
}

/// "fdset-id N fd M MODE" (one member) -> (N, M)
fn added(out: &str) -> (u64, i32) {
    let w: Vec<&str> = out.split_whitespace().collect();
    assert_eq!((w.len(), w[0], w[2]), (5, "fdset-id", "fd"), "{out:?}");
    (w[1].parse().unwrap(), w[3].parse().unwrap())
}

/// `st_dev:st_ino` of a file, as the member table prints it.
fn dev_ino(p: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap();
    format!("{}:{}", m.dev(), m.ino())
}

/// A table's rows as words.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

// add-fd --path/--fd, query-fdsets (table and --json), remove-fd, with a
// second monitor held open so that the sets stay in use (spec section 2).
#[test]
fn subcommands_drive_a_running_program() {
    let dir = TempDir::new("ctl");
    let data = dir.file("disk.img", b"disk bytes\n");
    let (mut p, sock) = with_listener(&dir, |_| {});
    let s = sock.to_str().unwrap();
    let mut holder = Qmp::ready(&sock);
    let m1 = add_fd_by_path(&mut p, s, &data);
    let m2 = add_fd_by_fd(&mut p, s, &data);
    query_fdsets_lists_both(s, &data, m1, m2);
    let m1s = m1.to_string();
    let remove = ["--socket", s, "remove-fd", "--set", "2", "--fd", &m1s];
    assert_eq!(ctl_ok(&remove), "");
    assert!(
        !p.fds().contains_key(&m1),
        "removed member with no dup closed"
    );
    assert_eq!(
        ctl_err(&remove, 1),
        format!("fdset-ctl: remove-fd: File descriptor named 'fdset-id:2, fd:{m1}' not found\n")
    );
    assert_eq!(ctl_ok(&["--socket", s, "remove-fd", "--set", "0"]), "");
    assert_eq!(ctl_ok(&["--socket", s, "query-fdsets"]), "no fd sets\n");
    assert_eq!(
        holder.exec("query-fdsets", json!({})),
        json!({"return": []})
    );
}

/// `add-fd --set 2 --opaque disk --path DATA --mode ro`: a read-only member
/// of set 2 the program reads; its number.
fn add_fd_by_path(p: &mut Program, s: &str, data: &Path) -> i32 {
    let (set, m1) = added(&ctl_ok(&[
        "--socket",
        s,
        "add-fd",
        "--set",
        "2",
        "--opaque",
        "disk",
        "--path",
        data.to_str().unwrap(),
        "--mode",
        "ro",
    ]));
    assert_eq!(set, 2);
    assert_eq!(p.fds_to(data), [m1]);
    let dup = p.open("/dev/fdset/2", "r").unwrap();
    assert_eq!(p.step(&format!("read {dup}")), "data disk bytes|");
    assert_eq!(
        p.open("/dev/fdset/2", "w"),
        Err(libc::EACCES),
        "--mode ro gave a read-only member"
    );
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    m1
}

/// `add-fd --fd 0`: an fd fdset-ctl inherited (here: its stdin, opened on
/// the file read-write) becomes a member of the lowest free set, 0; its
/// number.
fn add_fd_by_fd(p: &mut Program, s: &str, data: &Path) -> i32 {
    let out = Command::new(env!("CARGO_BIN_EXE_fdset-ctl"))
        .args(["--socket", s, "add-fd", "--fd", "0"])
        .stdin(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(data)
                .unwrap(),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let (set0, m2) = added(&stdout_of(&out));
    assert_eq!(set0, 0, "lowest free id");
    let rw = p.open("/dev/fdset/0", "rw").unwrap();
    assert_eq!(p.step(&format!("close {rw}")), "ok");
    m2
}

/// The table names each member's access mode and file (the program offers
/// x-query-fdset-members), and each set's open dups; `--json` is QEMU's
/// reply.
fn query_fdsets_lists_both(s: &str, data: &Path, m1: i32, m2: i32) {
    let size = std::fs::metadata(data).unwrap().len().to_string();
    let di = dev_ino(data);
    let words = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(
        rows(&ctl_ok(&["--socket", s, "query-fdsets"])),
        [
            words(&[
                "SET", "DUPS", "FD", "MODE", "TYPE", "SIZE", "DEV:INO", "OPAQUE"
            ]),
            words(&[
                "2",
                "0",
                &m1.to_string(),
                "O_RDONLY",
                "regular",
                &size,
                &di,
                "disk"
            ]),
            words(&["0", "0", &m2.to_string(), "O_RDWR", "regular", &size, &di]),
        ]
    );
    assert_eq!(
        ctl_ok(&["--socket", s, "query-fdsets", "--json"]),
        format!(
            "{}\n",
            json!([{"fdset-id": 2, "fds": [{"fd": m1, "opaque": "disk"}]}, {"fdset-id": 0, "fds": [{"fd": m2}]}])
        )
    );
}

// fdset-ctl's tables keep one row a line: an opaque string with a newline
// (or another control character) is shown escaped, as in the JSON.
#[test]
fn an_opaque_with_a_newline_stays_on_its_row() {
    let dir = TempDir::new("ctl-newline");
    let data = dir.file("disk.img", b"x");
    let (_p, sock) = with_listener(&dir, |_| {});
    let s = sock.to_str().unwrap();
    let _holder = Qmp::ready(&sock);
    let path = data.to_str().unwrap();
    added(&ctl_ok(&[
        "--socket",
        s,
        "add-fd",
        "--path",
        path,
        "--opaque",
        "two\nlines\u{1b}",
    ]));
    let table = ctl_ok(&["--socket", s, "query-fdsets"]);
    assert_eq!(table.lines().count(), 2, "{table:?}");
    assert!(table.contains("two\\nlines\\u{1b}"), "{table:?}");
}

// Spec section 2: fdset-ctl's connection is a monitor; when it was the last
// one, its disconnect closes members that have no dup open.
#[test]
fn last_monitor_leaving_closes_what_fdset_ctl_added() {
    let dir = TempDir::new("ctl-last");
    let data = dir.file("f", b"x");
    let (p, sock) = with_listener(&dir, |_| {});
    let (_, m) = added(&ctl_ok(&[
        "--socket",
        sock.to_str().unwrap(),
        "add-fd",
        "--path",
        data.to_str().unwrap(),
    ]));
    p.wait_fds("member closed when fdset-ctl disconnected", |fds| {
        !fds.contains_key(&m)
    });
}

// Spec section 5: `cont` releases a program started with FDSET_WAIT=1.
#[test]
fn cont_releases_a_waiting_program() {
    let dir = TempDir::new("ctl-cont");
    let (mut p, sock) = waiting_program(&dir);
    assert_eq!(ctl_ok(&["--socket", sock.to_str().unwrap(), "cont"]), "");
    assert_eq!(p.line(), "main");
}

/// Usage errors (exit 2): the arguments and the first line of the message,
/// which ends with clap's hint. `SOCK` is the program's socket, `FILE` a
/// readable file.
const USAGE_ERRORS: &[(&[&str], &str)] = &[
    (
        &["query-fdsets"],
        "fdset-ctl: the following required arguments were not provided:",
    ),
    (
        &["--socket", "SOCK"],
        "fdset-ctl: 'fdset-ctl' requires a subcommand but one was not provided",
    ),
    (
        &["--socket", "SOCK", "frobnicate"],
        "fdset-ctl: unrecognized subcommand 'frobnicate'",
    ),
    (
        &["--socket", "SOCK", "add-fd"],
        "fdset-ctl: the following required arguments were not provided:",
    ),
    (
        &["--socket", "SOCK", "add-fd", "--path", "FILE", "--fd", "0"],
        "fdset-ctl: the argument '--path <FILE>' cannot be used with '--fd <N>'",
    ),
    (
        &[
            "--socket", "SOCK", "add-fd", "--path", "FILE", "--mode", "rx",
        ],
        "fdset-ctl: invalid value 'rx' for '--mode <MODE>'",
    ),
    (
        &["--socket", "SOCK", "add-fd", "--fd", "0", "--mode", "ro"],
        "fdset-ctl: the argument '--fd <N>' cannot be used with '--mode <MODE>'",
    ),
    (
        &[
            "--socket", "SOCK", "add-fd", "--set", "one", "--path", "FILE",
        ],
        "fdset-ctl: invalid value 'one' for '--set <N>': 'one' is not a set id (a number from 0 to 9223372036854775807)",
    ),
    (
        &[
            "--socket", "SOCK", "add-fd", "--set", "-1", "--path", "FILE",
        ],
        "fdset-ctl: invalid value '-1' for '--set <N>': a set id is not negative (0 to 9223372036854775807)",
    ),
    (
        &["--socket", "SOCK", "add-fd", "--fd", "-1"],
        "fdset-ctl: invalid value '-1' for '--fd <N>': a descriptor number is not negative",
    ),
    (
        &["--socket", "SOCK", "add-fd", "--fd", "five"],
        "fdset-ctl: invalid value 'five' for '--fd <N>': 'five' is not a descriptor number (0 to 2147483647)",
    ),
    (
        &["--socket", "SOCK", "remove-fd"],
        "fdset-ctl: the following required arguments were not provided:",
    ),
    (
        &[
            "--socket",
            "SOCK",
            "remove-fd",
            "--set",
            "1",
            "--opaque",
            "x",
        ],
        "fdset-ctl: unexpected argument '--opaque' found",
    ),
    (
        &["--socket", "SOCK", "cont", "--set"],
        "fdset-ctl: unexpected argument '--set' found",
    ),
    (
        &["--socket", "SOCK", "query-fdsets", "--json", "--json"],
        "fdset-ctl: the argument '--json' cannot be used multiple times",
    ),
    (
        &["--socket", "SOCK", "--timeout", "-3", "cont"],
        "fdset-ctl: invalid value '-3' for '--timeout <SECONDS>': '-3' is not a number of seconds (e.g. 10, 0.5, or 0 for no limit)",
    ),
];

/// Commands that fail once they run (exit 1): the arguments and the whole
/// message.
const COMMAND_ERRORS: &[(&[&str], &str)] = &[
    (
        &["--socket", "SOCK", "add-fd", "--path", "/nonexistent/x"],
        "fdset-ctl: cannot open /nonexistent/x for reading: No such file or directory (os error 2)\n",
    ),
    (
        &["--socket", "SOCK", "add-fd", "--path", "/"],
        "fdset-ctl: / is a directory (give a file; an open directory joins a set with add-fd --fd N)\n",
    ),
    (
        &["--socket", "SOCK", "add-fd", "--fd", "77"],
        "fdset-ctl: --fd 77: Bad file descriptor (os error 9)\n",
    ),
    (
        &["--socket", "SOCK", "remove-fd", "--set", "5"],
        "fdset-ctl: remove-fd: File descriptor named 'fdset-id:5' not found\n",
    ),
];

/// `args` with `SOCK` and `FILE` replaced by `sock` and `file`.
fn with_paths(args: &[&str], sock: &str, file: &str) -> Vec<String> {
    args.iter()
        .map(|a| match *a {
            "SOCK" => sock.to_string(),
            "FILE" => file.to_string(),
            a => a.to_string(),
        })
        .collect()
}

// clear messages and non-zero exits (2 for usage, 1 otherwise).
#[test]
fn errors_are_reported() {
    let dir = TempDir::new("ctl-err");
    let data = dir.file("f", b"x");
    let d = data.to_str().unwrap();
    let (p, sock) = with_listener(&dir, |_| {});
    let s = sock.to_str().unwrap();
    let before = p.fds();
    for (args, first) in USAGE_ERRORS {
        let args = with_paths(args, s, d);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = ctl_err(&args, 2);
        assert_eq!(e.lines().next(), Some(*first), "{args:?}: {e}");
        assert!(
            e.contains("For more information, try '--help'."),
            "{args:?}: {e}"
        );
    }
    for (args, message) in COMMAND_ERRORS {
        let args = with_paths(args, s, d);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(ctl_err(&args, 1), *message, "{args:?}");
    }
    sockets_that_do_not_answer_are_reported(&dir);
    p.wait_fds("no fd left behind by the failed commands", |fds| {
        *fds == before
    });
}

/// A socket nobody listens on, and one that is not QMP.
fn sockets_that_do_not_answer_are_reported(dir: &TempDir) {
    let missing = dir.path().join("none.sock");
    assert_eq!(
        ctl_err(&["--socket", missing.to_str().unwrap(), "cont"], 1),
        format!(
            "fdset-ctl: cannot connect to {}: No such file or directory (os error 2) \
             (is the program running, started with fdset-run --qmp PATH?)\n",
            missing.display()
        )
    );
    // A path longer than a socket address holds, said as such (the
    // standard library's words were "path must be shorter than SUN_LEN").
    let long = dir.path().join("s".repeat(120));
    assert_eq!(
        ctl_err(&["--socket", long.to_str().unwrap(), "cont"], 1),
        format!(
            "fdset-ctl: cannot connect to {}: the path is {} bytes long; a Unix socket path can be \
             at most 107 bytes (give a shorter path to it: a relative one, or a symbolic link)\n",
            long.display(),
            long.as_os_str().len()
        )
    );
    // A socket that is not QMP.
    let other = dir.path().join("other.sock");
    let l = std::os::unix::net::UnixListener::bind(&other).unwrap();
    let t = std::thread::spawn(move || {
        use std::io::Write;
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"{\"hello\": 1}\n").unwrap();
    });
    assert_eq!(
        ctl_err(&["--socket", other.to_str().unwrap(), "cont"], 1),
        format!(
            "fdset-ctl: {} does not speak QMP (greeting: {{\"hello\":1}}; a QMP monitor greets \
             with {{\"QMP\": ...}})\n",
            other.display()
        )
    );
    t.join().unwrap();
}

// An empty FDSET_SOCKET is named as the cause (clap's text spoke of a
// --socket the user never gave); an empty --socket keeps clap's words.
#[test]
fn an_empty_fdset_socket_is_named() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fdset-ctl"))
            .env("FDSET_SOCKET", "")
            .args(args)
            .output()
            .expect("run fdset-ctl")
    };
    let out = run(&["query-fdsets"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr_of(&out),
        "fdset-ctl: FDSET_SOCKET is set but empty (set it to the program's QMP socket, give \
         --socket PATH, or unset it)\n"
    );
    // Another bad value is that value's error.
    let out = run(&["add-fd", "--path", "/x", "--mode", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).starts_with("fdset-ctl: invalid value 'bogus' for '--mode <MODE>'"),
        "{}",
        stderr_of(&out)
    );
    let out = run(&["--socket=", "query-fdsets"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).starts_with("fdset-ctl: a value is required for '--socket <PATH>'"),
        "{}",
        stderr_of(&out)
    );
}

// A peer whose reply to the listing is not a list of sets gets an error
// (exit 1) naming the command, not a table made of whatever came.
#[test]
fn a_listing_that_is_not_a_list_of_sets_is_an_error() {
    use std::io::{BufRead, BufReader, Write};
    let dir = TempDir::new("ctl-malformed");
    let sock = dir.path().join("odd.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let t = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        let mut w = c.try_clone().unwrap();
        w.write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n")
            .unwrap();
        let mut r = BufReader::new(c);
        for reply in [
            &b"{\"return\": {}}\r\n"[..],
            b"{\"return\": [{\"fdset-id\": \"x\", \"fds\": 5}]}\r\n",
        ] {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            w.write_all(reply).unwrap();
        }
    });
    assert_eq!(
        ctl_err(&["--socket", sock.to_str().unwrap(), "query-fdsets"], 1),
        "fdset-ctl: x-query-fdset-members: the reply is not a list of sets \
         ([{\"fds\":5,\"fdset-id\":\"x\"}])\n"
    );
    t.join().unwrap();
}

// fdset-ctl must not link the hook symbols into itself (it would
// interpose on its own open/close). Its dynamic symbol table defines none.
#[test]
fn fdset_ctl_defines_no_hook_symbols() {
    let out = Command::new("nm")
        .args(["-D", "--defined-only", env!("CARGO_BIN_EXE_fdset-ctl")])
        .output()
        .expect("run nm (binutils)");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let defined = stdout_of(&out);
    for hook in [
        "open",
        "open64",
        "openat",
        "close",
        "dup2",
        "fopen",
        "close_range",
    ] {
        assert!(
            !defined
                .lines()
                .any(|l| l.split_whitespace().last() == Some(hook)),
            "fdset-ctl defines {hook}:\n{defined}"
        );
    }
    // The same check finds the hooks in the shim itself.
    let shim = stdout_of(
        &Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(shim_lib())
            .output()
            .unwrap(),
    );
    assert!(
        shim.lines()
            .any(|l| l.split_whitespace().last() == Some("close"))
    );
}

/// Bad input loses nothing and leaves nothing behind: an `add-fd --path`
/// of a missing file with a mode that writes makes the file; when the
/// command then fails (no program answers on the socket), the file it made
/// is gone again, and one that was there is kept.
#[test]
fn a_failed_add_fd_leaves_no_file_it_made() {
    let dir = TempDir::new("ctl-made");
    let made = dir.path().join("made.img");
    let kept = dir.file("kept.img", b"");
    let nobody = dir.path().join("nobody.sock");
    for (path, mode) in [(&made, "wo"), (&made, "rw"), (&kept, "rw")] {
        let args = [
            "--socket",
            nobody.to_str().unwrap(),
            "add-fd",
            "--path",
            path.to_str().unwrap(),
            "--mode",
            mode,
        ];
        let e = ctl_err(&args, 1);
        assert!(!e.is_empty(), "{args:?}");
        assert!(!made.exists(), "{args:?}: {} left", made.display());
        assert!(kept.exists(), "{args:?}: a file that was there is kept");
    }
}
