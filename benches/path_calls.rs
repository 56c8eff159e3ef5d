//! `cargo bench --bench path_calls`: the instructions each new hook of spec
//! section 8 adds to a call on an ordinary path ("every other path goes
//! straight to libc: no lock, no allocation"; target <= 40), counted by
//! callgrind: `c-tests/bench_path_calls.c` loops of 1,000 and 11,000 calls,
//! with and without the release shim preloaded; the difference of the
//! differences over 10,000 is the hook's cost (start-up cancels out).
//! Prints one row per call; exit status 1 when a figure misses the target.
//! `FDSET_BENCH_QUICK=1`: four calls only; `FDSET_BENCH_CALLS=a,b`: those.

use fdset_testkit::*;
use std::path::Path;
use std::process::Command;

const TARGET: f64 = 40.0;

/// Instructions executed by `bench call path n` under callgrind.
fn instructions(bench: &Path, call: &str, path: &Path, n: u64, preload: bool, out: &Path) -> u64 {
    let mut cmd = if preload {
        preloaded("valgrind")
    } else {
        let mut c = Command::new("valgrind");
        without_shim_env(&mut c);
        c
    };
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(bench)
        .arg(call)
        .arg(path)
        .arg(n.to_string());
    let o = cmd.output().expect("run valgrind (installed by .ci/setup)");
    assert!(o.status.success(), "valgrind {call}: {}", stderr_of(&o));
    callgrind_totals(out)
}

fn added(bench: &Path, call: &str, path: &Path, dir: &Path) -> f64 {
    let (short, long) = (1_000u64, 11_000u64);
    let mut per_call = [0.0; 2];
    for (i, preload) in [false, true].into_iter().enumerate() {
        let f = |n| {
            instructions(
                bench,
                call,
                path,
                n,
                preload,
                &dir.join(format!("cg.{call}.{preload}.{n}")),
            )
        };
        per_call[i] = (f(long) as f64 - f(short) as f64) / (long - short) as f64;
    }
    per_call[1] - per_call[0]
}

fn main() {
    let bench = c_test("bench_path_calls");
    let dir = TempDir::new("bench-path-calls");
    let file = dir.file("data", b"0123456789");
    let quick = std::env::var_os("FDSET_BENCH_QUICK").is_some();
    let only = std::env::var("FDSET_BENCH_CALLS").ok();
    let chosen: Vec<&str> = only
        .as_deref()
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    let calls: &[&str] = if !chosen.is_empty() {
        &chosen
    } else if quick {
        &["getxattr", "readlink", "truncate", "syscall-getpid"]
    } else {
        &[
            "getxattr",
            "lgetxattr",
            "listxattr",
            "llistxattr",
            "readlink",
            "readlinkat",
            "realpath",
            "truncate",
            "utimensat",
            "statfs",
            "statvfs",
            "syscall-getpid",
            "syscall-newfstatat",
            "syscall-close",
            "stat",
            "lstat",
            "statx",
            "access",
        ]
    };
    println!("| call on an ordinary path | instructions added | target |");
    println!("|---|---|---|");
    let mut missed = false;
    for call in calls {
        let a = added(&bench, call, &file, dir.path());
        let pass = a <= TARGET;
        missed |= !pass;
        println!(
            "| {call} | {a:.1} | <= {TARGET} {} |",
            if pass { "ok" } else { "MISSED" }
        );
    }
    if missed {
        std::process::exit(1);
    }
}
