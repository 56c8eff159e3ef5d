//! `cargo bench --bench qmp`: QMP round trips from a client on the same
//! machine: `add-fd` + `remove-fd` pairs, and `query-fdsets` with
//! 10,000 sets, against `c-tests/qmp_step.c` under the release shim serving
//! a listening socket. The soft RLIMIT_NOFILE is raised (the program holds
//! one member fd per set). `FDSET_BENCH_QUICK=1`: fewer rounds.

use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::fs::File;
use std::time::{Duration, Instant};

const SETS: usize = 10_000;

fn raise_nofile(want: u64) -> u64 {
    // SAFETY: plain struct filled by getrlimit.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
    if rl.rlim_max < want {
        // Root may raise the hard limit; others keep theirs.
        let up = libc::rlimit {
            rlim_cur: want,
            rlim_max: want,
        };
        // SAFETY: valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &up) } == 0 {
            return want;
        }
    }
    rl.rlim_cur = rl.rlim_max.min(want.max(rl.rlim_cur));
    // SAFETY: valid pointer.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
    rl.rlim_cur
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is understood.
    let quick = std::env::var_os("FDSET_BENCH_QUICK").is_some_and(|v| v == "1");
    let limit = raise_nofile(4 * SETS as u64);
    assert!(
        limit as usize > SETS + 100,
        "RLIMIT_NOFILE {limit} is too low for {SETS} sets"
    );
    let dir = TempDir::new("bench-qmp");
    let data = dir.file("data", b"x");
    let (_p, sock) = with_listener(&dir, |_| {});
    let mut q = Qmp::ready(&sock);
    let file = File::open(&data).unwrap();
    let pairs = if quick { 500 } else { 5_000 };

    let mut pair_times = Vec::with_capacity(pairs);
    let measure_pairs = |q: &mut Qmp, times: &mut Vec<Duration>, set: u64| {
        for _ in 0..pairs {
            let t = Instant::now();
            let r = q.add_fd(&file, json!({"fdset-id": set}));
            let fd = r["return"]["fd"].clone();
            let r2 = q.exec("remove-fd", json!({"fdset-id": set, "fd": fd}));
            times.push(t.elapsed());
            assert_eq!(r2, json!({"return": {}}), "{r}");
        }
    };
    measure_pairs(&mut q, &mut pair_times, 0);

    let t = Instant::now();
    for id in 1..=SETS as u64 {
        let r = q.add_fd(&file, json!({"fdset-id": id}));
        assert!(r.get("return").is_some(), "{r}");
    }
    let fill = t.elapsed();

    let queries = if quick { 10 } else { 50 };
    let mut query_times = Vec::with_capacity(queries);
    let mut reply_len = 0;
    for _ in 0..queries {
        let t = Instant::now();
        q.send(b"{\"execute\": \"query-fdsets\"}");
        let line = q.raw_line();
        query_times.push(t.elapsed());
        reply_len = line.len();
    }
    let all = q.exec("query-fdsets", json!({}));
    assert_eq!(
        all["return"].as_array().map(Vec::len),
        Some(SETS),
        "sets 1..={SETS}"
    );

    let mut full_pairs = Vec::with_capacity(pairs);
    measure_pairs(&mut q, &mut full_pairs, 0);

    println!(
        "QMP round trips over a Unix socket ({} rounds{})",
        pairs,
        if quick { ", quick" } else { "" }
    );
    println!("{:<58} {:>12} {:>12}", "figure", "median", "p99");
    let row = |name: &str, v: &mut Vec<Duration>| {
        let (m, p99) = (percentile(v, 0.5), percentile(v, 0.99));
        println!("{name:<58} {:>12} {:>12}", us(m), us(p99));
    };
    row(
        "add-fd + remove-fd pair (fd sent first), no other sets",
        &mut pair_times,
    );
    row(
        &format!("add-fd + remove-fd pair, {SETS} other sets"),
        &mut full_pairs,
    );
    row(
        &format!("query-fdsets, {SETS} sets ({} KiB reply)", reply_len / 1024),
        &mut query_times,
    );
    println!(
        "{:<58} {:>12}",
        format!("add-fd into {SETS} new sets, per add (fill)"),
        us(fill / SETS as u32)
    );
}
