//! `cargo bench --bench lock_scaling`: what the registry lock costs when
//! threads open and close sets at once. `c-tests/bench_threads.c` runs 1
//! and 8 threads (on this machine's cores, 2 on CI) making fdset
//! open+close pairs, on a set each or all on one set, and prints the
//! process's CPU time per pair. The same threads making only the system
//! calls of such a pair (F_DUPFD, F_GETFL, lseek, close; no shim) show
//! what the kernel's own fd-table locking costs; the registry lock's share
//! is the fdset ratio over that one. Medians of alternating runs.
//! Prints MISSED beside a missed target, exits 0 (a measurement, not a
//! test). `FDSET_BENCH_QUICK=1`: fewer rounds.

use fdset_testkit::*;
use std::path::Path;
use std::process::{Command, Stdio};

const SETS: usize = 8;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// CPU ns per pair of one run.
fn run(prog: &Path, data: &Path, fdset: bool, threads: usize, pairs: usize, sets: usize) -> f64 {
    let mut cmd = if fdset {
        preloaded(prog)
    } else {
        let mut c = Command::new(prog);
        c.env_remove("LD_PRELOAD");
        c
    };
    cmd.arg(if fdset { "fdset" } else { "syscalls" })
        .arg(threads.to_string())
        .arg((pairs / threads).to_string())
        .arg(sets.to_string());
    let f = open_for_child(data, false, true);
    let files = (0..SETS)
        .map(|i| (f.try_clone().expect("dup"), 3 + i as i32))
        .collect();
    inherit_fds(&mut cmd, files);
    if fdset {
        let spec: Vec<String> = (0..SETS)
            .map(|i| format!("fd={},set={}", 3 + i, i + 1))
            .collect();
        cmd.env("FDSET_ADD_FD", spec.join(";"));
    }
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run bench_threads");
    assert!(
        out.status.success(),
        "bench_threads failed: {}",
        stderr_of(&out)
    );
    stdout_of(&out)
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .expect("CPU ns per pair")
}

fn main() {
    let quick = std::env::var("FDSET_BENCH_QUICK").is_ok_and(|v| v == "1");
    let rounds = if quick { 3 } else { 9 };
    let pairs = if quick { 100_000 } else { 400_000 };
    let prog = c_test("bench_threads");
    let _ = shim_lib();
    let dir = TempDir::new("bench-lock");
    let data = dir.file("data", b"x");
    let configs: [(&str, bool, usize, usize); 6] = [
        ("fdset, 1 thread", true, 1, SETS),
        ("fdset, 8 threads, a set each", true, 8, SETS),
        ("fdset, 8 threads, one set", true, 8, 1),
        ("system calls only, 1 thread", false, 1, SETS),
        ("system calls only, 8 threads", false, 8, SETS),
        ("system calls only, 8 threads, one fd", false, 8, 1),
    ];
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    for _ in 0..rounds {
        for (i, &(_, fdset, threads, sets)) in configs.iter().enumerate() {
            ns[i].push(run(&prog, &data, fdset, threads, pairs, sets));
        }
    }
    let m: Vec<f64> = ns.into_iter().map(median).collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "fdset open+close from threads at once: process CPU per pair, medians of {rounds} runs \
         ({pairs} pairs a run, {cores} cores; load average {})",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (i, (name, ..)) in configs.iter().enumerate() {
        println!("  {name:<40} {:>8.0} ns", m[i]);
    }
    println!("| {:<58} | {:>7} | {:<22} |", "figure", "value", "target");
    println!("|{}|{}|{}|", "-".repeat(60), "-".repeat(9), "-".repeat(24));
    let row = |name: &str, v: f64, target: Option<f64>| {
        let t = match target {
            Some(t) if v <= t => format!("<= {t:.2}: met"),
            Some(t) => format!("<= {t:.2}: MISSED"),
            None => "-".to_string(),
        };
        println!("| {name:<58} | {v:>7.3} | {t:<22} |");
    };
    let kernel = m[4] / m[3];
    let kernel_one = m[5] / m[3];
    row(
        "8 threads vs 1, a set each: CPU per pair",
        m[1] / m[0],
        None,
    );
    row("8 threads vs 1, one set: CPU per pair", m[2] / m[0], None);
    row(
        "  their system calls alone, 8 vs 1 (the kernel's share)",
        kernel,
        None,
    );
    row("  the same on one fd", kernel_one, None);
    row(
        "registry lock's share, a set each (fdset ratio / kernel's)",
        m[1] / m[0] / kernel,
        Some(1.2),
    );
    row(
        "registry lock's share, one set (fdset ratio / kernel's)",
        m[2] / m[0] / kernel_one,
        Some(1.2),
    );
}
