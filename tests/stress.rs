//! Stress and faults: C programs under the preloaded shim, each
//! with a deadline (a deadlock fails the test instead of hanging it).
//! `FDSET_STRESS_LONG=1` runs the long versions (README "Guarantees").
use fdset_testkit::qmp::Qmp;
use fdset_testkit::*;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var("FDSET_STRESS_LONG").is_ok_and(|v| v == "1")
}

/// Short run by default, long run with FDSET_STRESS_LONG=1.
fn count(short: u64, long_count: u64) -> String {
    if long() { long_count } else { short }.to_string()
}

/// Run to completion or fail after `limit` (the child is killed).
fn run_with_deadline(cmd: Command, limit: Duration) -> Output {
    output_within(cmd, limit)
}

fn run_with_deadline_child(child: std::process::Child, limit: Duration) -> Output {
    wait_within(child, limit)
}

/// Long enough that only a hang misses it: on a 2-core machine shared with
/// other builds a default run took up to 90 s (a few seconds when quiet).
fn deadline() -> Duration {
    Duration::from_secs(if long() { 1800 } else { 240 })
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}; stderr: {}",
        out.status,
        stderr_of(out)
    );
    assert!(
        stdout_of(out)
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("ok")),
        "stdout: {}",
        stdout_of(out)
    );
}

/// Set 1: a read-only member holding "set one".
fn with_set_one(cmd: &mut Command, dir: &TempDir) {
    let a = dir.file("a.txt", b"set one");
    cmd.env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(cmd, vec![(open_for_child(&a, false, true), 3)]);
}

// "8 threads x 100,000 mixed opens and closes of set paths and
// ordinary files: no deadlock, no fd leaked, no fd of the program's closed".
#[test]
fn eight_threads_mixed_opens_and_closes() {
    let dir = TempDir::new("stress-threads");
    let a = dir.file("a.txt", b"set one");
    let b = dir.file("b.txt", b"set two");
    dir.file("c.txt", b"set three");
    let mut cmd = preloaded(c_test("stress_threads"));
    cmd.arg(count(5_000, 100_000)).arg(dir.path());
    cmd.env("FDSET_ADD_FD", "fd=3,set=1;fd=4,set=2")
        .stdin(Stdio::null());
    inherit_fds(
        &mut cmd,
        vec![
            (open_for_child(&a, false, true), 3),
            (open_for_child(&b, true, true), 4),
        ],
    );
    assert_ok(&run_with_deadline(cmd, deadline()));
}

// the same "while a QMP client adds and removes members and
// connects and disconnects" (set 3, which the threads open when it exists).
#[test]
fn eight_threads_while_a_qmp_client_adds_removes_and_reconnects() {
    let dir = TempDir::new("stress-threads-qmp");
    let a = dir.file("a.txt", b"set one");
    let b = dir.file("b.txt", b"set two");
    let c = dir.file("c.txt", b"set three");
    let sock = dir.path().join("ctl.qmp");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let mut cmd = preloaded(c_test("stress_threads"));
    cmd.arg(count(5_000, 100_000)).arg(dir.path());
    cmd.env("FDSET_ADD_FD", "fd=3,set=1;fd=4,set=2")
        .env("FDSET_CONTROL_FD", "5");
    cmd.stdin(Stdio::piped());
    inherit_fds(
        &mut cmd,
        vec![
            (open_for_child(&a, false, true), 3),
            (open_for_child(&b, true, true), 4),
            (std::fs::File::from(std::os::fd::OwnedFd::from(listener)), 5),
        ],
    );
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdin = child.stdin.take();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));

    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("the program's first line");
    assert_eq!(line, "ready\n");
    line.clear();
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let client = {
        let (stop, rounds, sock, c) = (stop.clone(), rounds.clone(), sock.clone(), c.clone());
        std::thread::spawn(move || {
            let file = std::fs::File::open(&c).expect("open c.txt");
            while !stop.load(Ordering::Acquire) {
                let mut q = Qmp::ready(&sock);
                for _ in 0..5 {
                    let r = q.add_fd(&file, json!({"fdset-id": 3}));
                    let fd = r["return"]["fd"]
                        .as_i64()
                        .unwrap_or_else(|| panic!("add-fd: {r}"));
                    assert!(q.exec("query-fdsets", json!({}))["return"].is_array());
                    assert_eq!(
                        q.exec("remove-fd", json!({"fdset-id": 3, "fd": fd})),
                        json!({"return": {}})
                    );
                }
                rounds.fetch_add(1, Ordering::Relaxed);
                // Dropping q disconnects: the last monitor leaving runs cleanup.
            }
        })
    };
    let start = Instant::now();
    let read = stdout.read_line(&mut line);
    stop.store(true, Ordering::Release);
    let client_result = client.join();
    drop(stdin); // EOF: the program takes its final snapshot.
    let mut out = run_with_deadline_child(child, deadline().saturating_sub(start.elapsed()));
    std::io::Read::read_to_end(&mut stdout, &mut out.stdout).expect("the program's last output");
    assert!(client_result.is_ok(), "the QMP client failed");
    assert!(
        read.is_ok() && line == "threads done\n",
        "got {line:?}; stderr: {}",
        stderr_of(&out)
    );
    assert!(
        rounds.load(Ordering::Relaxed) > 0,
        "the client never completed a round"
    );
    assert_ok(&out);
}

// "fork from a busy thread 1,000 times; each child opens a set and exits".
#[test]
fn fork_from_a_busy_process_1000_times() {
    let dir = TempDir::new("stress-fork");
    let mut cmd = preloaded(c_test("stress_fork"));
    cmd.arg(count(1_000, 10_000));
    with_set_one(&mut cmd, &dir);
    assert_ok(&run_with_deadline(cmd, deadline()));
}

// "A signal handler that closes a dup while the interrupted thread
// is inside the shim: no deadlock."
#[test]
fn signal_handler_closes_a_dup_while_the_shim_is_busy() {
    let dir = TempDir::new("stress-signal");
    let mut cmd = preloaded(c_test("stress_signal"));
    cmd.arg(count(100_000, 2_000_000));
    with_set_one(&mut cmd, &dir);
    // A signal every 20 us that lands inside the shim is held back and its
    // handler called when the shim's section ends: on a loaded 2-core VM
    // this run takes up to about a minute.
    let out = run_with_deadline(cmd, deadline() * 2);
    assert_ok(&out);
}

// Spec section 6: closefrom, close_range, close over 3..1023 and
// dup2/dup3 onto a member leave the sets working.
#[test]
fn program_that_closes_everything_keeps_its_sets() {
    let dir = TempDir::new("stress-closeall");
    let mut cmd = preloaded(c_test("stress_closeall"));
    cmd.arg(dir.path().join("a.txt"));
    with_set_one(&mut cmd, &dir);
    assert_ok(&run_with_deadline(cmd, deadline()));
}

// "RLIMIT_NOFILE exhausted: opening a set path fails with EMFILE,
// nothing leaks, the next open after a close works."
#[test]
fn exhausted_descriptor_limit_gives_emfile_and_leaks_nothing() {
    let dir = TempDir::new("stress-rlimit");
    let mut cmd = preloaded(c_test("stress_rlimit"));
    with_set_one(&mut cmd, &dir);
    assert_ok(&run_with_deadline(cmd, deadline()));
}
