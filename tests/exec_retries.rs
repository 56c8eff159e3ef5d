//! Spec section 7, "exec in the same process": the monitors are handed to
//! the new image. A shell's `exec NAME` tries each PATH directory in turn,
//! so the hand-off is asked for again right after a failed exec resumed
//! the control thread; the new request must be served at once, not lost
//! until the exec'ing thread's 5 s wait runs out (which made every failed
//! try cost 5 s).
use fdset_testkit::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn execs_retried_along_path_keep_the_monitors_without_waiting() {
    let d = TempDir::new("exec-retries");
    let f = d.file("in.txt", b"after eight failed execs\n");
    let sock = d.path().join("q");
    let missing: Vec<String> = (0..8)
        .map(|i| {
            d.path()
                .join(format!("no-such-dir-{i}"))
                .display()
                .to_string()
        })
        .collect();
    let path = format!("{}:/usr/bin:/bin", missing.join(":"));
    let mut cmd = fdset_run();
    cmd.arg("--qmp")
        .arg(&sock)
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args(["--", "/bin/sh", "-c", "exec cat /dev/fdset/1"])
        .env("PATH", &path);
    let start = Instant::now();
    let out = output_within(cmd, Duration::from_secs(120));
    let took = start.elapsed();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "after eight failed execs\n");
    assert!(
        took < Duration::from_secs(4),
        "eight failed execs took {took:?} (a lost hand-off request costs 5 s)"
    );
    // The same without a monitor: nothing to hand off.
    let mut plain = Command::new(bin("fdset-run"));
    without_shim_env(&mut plain);
    let out = plain
        .arg("--file")
        .arg(file_arg(1, &f, "ro"))
        .args(["--", "/bin/sh", "-c", "exec cat /dev/fdset/1"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "after eight failed execs\n");
}
