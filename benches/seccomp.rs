//! `cargo bench --bench seccomp`: what seccomp mode costs a program, in
//! one run. A statically linked loop (c-tests/bench_seccomp.c) opens and
//! closes a path; each figure is its time under `fdset-run --seccomp`
//! against the same loop unsupervised:
//! - a set open+close (`/dev/fdset/1`) against an open+close of the
//!   member's file itself, unsupervised;
//! - an ordinary open+close (that file's path) under `--seccomp` against
//!   the same unsupervised;
//! - the floor of the mechanism: the same loop under a minimal supervisor
//!   thread (c-tests/bench_seccomp_floor.c: receive, read the path,
//!   continue), with the open and the close notified, and with the open
//!   only.
//!
//! Each configuration runs in several rounds, interleaved, and the median
//! block is reported (the machine is shared). `FDSET_BENCH_QUICK=1` runs a
//! short smoke version.

use fdset_testkit::*;
use std::path::Path;
use std::process::{Command, Stdio};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Per-block ns per open+close printed by the loop.
fn blocks(mut cmd: Command) -> Vec<f64> {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run the loop");
    assert!(out.status.success(), "{cmd:?}: {}", stderr_of(&out));
    stdout_of(&out)
        .lines()
        .map(|l| l.trim().parse().expect("a number"))
        .collect()
}

fn supervised(file: &Path, path: &str, b: &str, ops: &str) -> Command {
    let mut cmd = Command::new(bin("fdset-run"));
    without_shim_env(&mut cmd);
    cmd.arg("--seccomp")
        .arg("--file")
        .arg(file_arg(1, file, "ro"))
        .arg("--")
        .arg(c_test("bench_seccomp"))
        .args([path, b, ops]);
    cmd
}

fn main() {
    let quick = std::env::var_os("FDSET_BENCH_QUICK").is_some();
    let (rounds, b, ops) = if quick {
        (2, "5", "2000")
    } else {
        (7, "15", "20000")
    };
    let dir = TempDir::new("bench-seccomp");
    let file = dir.file("member.dat", b"benchmark data\n");
    let file_path = file.to_string_lossy().into_owned();
    let (mut plain, mut set, mut ordinary) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor, mut floor_open) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut cmd = Command::new(c_test("bench_seccomp"));
        cmd.args([&file_path, b, ops]);
        plain.extend(blocks(cmd));
        set.extend(blocks(supervised(&file, "/dev/fdset/1", b, ops)));
        ordinary.extend(blocks(supervised(&file, &file_path, b, ops)));
        for (mode, v) in [("both", &mut floor), ("open", &mut floor_open)] {
            let mut cmd = Command::new(c_test("bench_seccomp_floor"));
            cmd.args([&file_path, b, ops, mode]);
            v.extend(blocks(cmd));
        }
    }
    let n = plain.len();
    let (p, s, o) = (median(plain), median(set), median(ordinary));
    let (f, fo) = (median(floor), median(floor_open));
    println!("seccomp mode, static C loop, median of {n} blocks of {ops} open+close each:");
    println!(
        "  unsupervised open+close of a file           {:>8.0} ns",
        p
    );
    println!(
        "  set open+close (/dev/fdset/1), --seccomp    {:>8.0} ns  = {:.1} x the unsupervised open+close",
        s,
        s / p
    );
    println!(
        "  ordinary open+close, --seccomp              {:>8.0} ns  = {:.1} x the unsupervised open+close (target 3.0)",
        o,
        o / p
    );
    println!(
        "  floor: minimal supervisor, open and close    {:>8.0} ns  = {:.1} x",
        f,
        f / p
    );
    println!(
        "  floor: minimal supervisor, open only          {:>8.0} ns  = {:.1} x",
        fo,
        fo / p
    );
    println!("  (each supervised call is a round trip to fdset-run: open and close are two)");
}
