//! fdset-run and fdset-ctl when their own output cannot be written (stderr
//! on a full device, stdout a pipe whose reader has gone): a launch still
//! happens, and the exit status is the documented one, never Rust's 101
//! for a panic in `eprintln!`/`println!`. fdset-run's `--help`: "125 when
//! fdset-run itself refuses or fails"; fdset-ctl's: "1 on any error".
use fdset_testkit::*;
use std::fs::File;
use std::process::{Command, Stdio};

fn dev_full() -> Stdio {
    Stdio::from(
        File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

/// A pipe whose reading end is already closed.
fn reader_gone() -> Stdio {
    let (r, w) = std::io::pipe().expect("pipe");
    drop(r);
    Stdio::from(w)
}

fn status_of(mut cmd: Command) -> (Option<i32>, String) {
    let out = output_of_fresh_executable(&mut cmd);
    (out.status.code(), stderr_of(&out))
}

#[test]
fn fdset_run_refusals_and_launches_keep_their_exit_status() {
    let d = TempDir::new("unwritable-run");
    // A refusal it cannot print is still a refusal: 125.
    let mut cmd = fdset_run();
    cmd.args(["--file", "set=1,path=/nonexistent/x", "--", "true"]);
    cmd.stderr(dev_full());
    assert_eq!(status_of(cmd).0, Some(125));
    // A launch whose -v lines cannot be printed still runs the program.
    let marker = d.path().join("ran");
    let f = d.file("f", b"x");
    let mut cmd = fdset_run();
    cmd.arg("-v")
        .arg("--file")
        .arg(format!("set=1,path={}", f.display()));
    cmd.args(["--", "touch"]).arg(&marker).stderr(dev_full());
    assert_eq!(status_of(cmd).0, Some(0));
    assert!(marker.exists(), "the program did not run");
    // --help into a pipe nobody reads: an error, not a panic.
    let mut cmd = fdset_run();
    cmd.arg("--help").stdout(reader_gone());
    let (code, stderr) = status_of(cmd);
    assert_eq!(code, Some(125), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_static_program_runs_when_the_seccomp_note_cannot_be_printed() {
    let d = TempDir::new("unwritable-static");
    let src = d.file("p.c", b"#include <stdio.h>\nint main(int c, char **v) { FILE *f = fopen(v[1], \"w\"); return f ? 0 : 1; }\n");
    let prog = d.path().join("static-prog");
    let built = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&prog)
        .arg(&src)
        .status();
    assert!(built.expect("run gcc").success(), "gcc -static");
    let marker = d.path().join("ran");
    let mut cmd = fdset_run();
    cmd.arg("--").arg(&prog).arg(&marker).stderr(dev_full());
    assert_eq!(status_of(cmd).0, Some(0));
    assert!(marker.exists(), "the static program did not run");
}

#[test]
fn fdset_ctl_errors_stay_1_and_output_it_cannot_write_is_an_error() {
    let mut cmd = Command::new(bin("fdset-ctl"));
    cmd.args(["--socket", "/nonexistent/sock", "query-fdsets"])
        .stderr(dev_full());
    assert_eq!(status_of(cmd).0, Some(1));
    let mut cmd = Command::new(bin("fdset-ctl"));
    cmd.arg("--help").stdout(reader_gone());
    let (code, stderr) = status_of(cmd);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
