//! `cargo bench --bench qmp_vs_qemu`: the control socket against QEMU 7.2's
//! own QMP monitor, in the same run, driven by the same client.
//!
//! QEMU 7.2 is Debian 12's `qemu-system-x86`, unpacked (never installed) by
//! `benches/qemu72/fetch.sh` into `target/qemu72/` and started with `-M none
//! -nodefaults -display none -qmp unix:...`. The shim side is
//! `c-tests/qmp_step.c` under the release shim, serving a listening socket.
//! A third server, `c-tests/qmp_floor.c` (no shim: a thread that answers
//! every message at once with a fixed line), shows the least a round trip
//! costs on this machine. One client (std only; an `add-fd` sends its fd in
//! the same `sendmsg` as the command, as libvirt does) sends each server
//! blocks of 100 commands in turn, so that drift of the machine hits all
//! alike; each block opens with five uncounted `query-version`s (the
//! first commands after the others' turn are slow, see
//! `samples::WARMUP`; the first is printed as a row of its own) and three
//! uncounted runs of the block's own command (`samples::WARM_OPS`). The
//! shim's p99 is taken over [`P99_ROUNDS`] samples on every row (a short
//! range of sets is filled again until it has them). The
//! client waits for replies with `poll`, as libvirt does (see
//! `client::Client`). Times are wall-clock round trips (command sent to
//! reply line read); the server's CPU time (all its threads, from
//! `/proc/PID/task/*/schedstat`) per operation is printed for information.
//!
//! Rows: `add-fd` + `remove-fd` pair; `add-fd` into a new set (while the
//! sets are filled); `query-fdsets` at 100, 1,000 and 10,000 sets (fewer
//! when RLIMIT_NOFILE's hard limit is lower: the count used is printed).
//! Targets beside each row: QEMU's median at least 20 times the shim's, the
//! shim's p99 at most 3 times its median, and the shim's cost per set of
//! `query-fdsets` (its time minus that of a `query-version` alternated with
//! it in the same blocks, over the number of sets) within 1.5 times from
//! 100 to 10,000 sets. That cost is taken from three programs under the
//! shim, holding 100, 1,000 and 10,000 sets, measured in turn in the same
//! blocks: the machine's drift over a run (twice as slow for a minute is
//! seen here) then hits every count alike. A missed target prints MISSED; the exit status is
//! non-zero only when something could not be set up. `FDSET_BENCH_QUICK=1`:
//! fewer rounds. `FDSET_BENCH_SLOW=1`: each row's round trips over 3 times
//! its median, listed on standard error.

use fdset_core::scm::send_fds;
use fdset_testkit::qmp::{Program, with_listener};
use fdset_testkit::*;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SETS: [usize; 3] = [100, 1_000, 10_000];

mod client;
mod per_set;
mod samples;
mod servers;
use client::*;
use per_set::*;
use samples::*;
use servers::*;

fn main() {
    // `cargo bench` passes --bench; nothing else is understood.
    let quick = std::env::var_os("FDSET_BENCH_QUICK").is_some_and(|v| v == "1");
    let limit = raise_nofile();
    // Each server holds one member fd per set, plus its own few dozen.
    let max_sets = (limit as usize).saturating_sub(200);
    let counts: Vec<usize> = SETS.iter().map(|&n| n.min(max_sets)).collect();
    assert!(
        counts[0] >= 100,
        "RLIMIT_NOFILE {limit} is too low for 100 sets"
    );
    let qemu_bin = fetch_qemu();
    let dir = TempDir::new("bench-qmp-vs-qemu");
    let data = dir.file("data", b"x");
    let file = File::open(&data).unwrap();
    let fd = file.as_raw_fd();
    let (mut servers, children) = start_servers(&qemu_bin, &dir);
    for s in &mut servers {
        let v = s.client.cmd(b"{\"execute\": \"query-version\"}", None);
        eprintln!("{}: {}", s.name, String::from_utf8_lossy(v).trim_end());
    }
    let pairs = p99_rounds(quick);

    // Warm both up (page faults, first allocations).
    let pair = |c: &mut Client, _| add_and_remove(c, 0, fd);
    let warm_pair = |c: &mut Client| add_and_remove(c, 0, fd);
    let warm_query = |c: &mut Client| query(c, 0);
    measure(&mut servers, 100, warm_pair, pair);
    let empty = measure(&mut servers, p99_rounds(quick), warm_query, query);

    let mut table = Table { missed: 0 };
    println!("load average at the start: {}", loadavg());
    println!(
        "QMP over a Unix socket, QEMU 7.2 vs the shim, same client ({}; RLIMIT_NOFILE {limit}: up to {} sets)",
        if quick { "quick" } else { "full" },
        counts[2]
    );
    table.header();
    let p = measure(&mut servers, pairs, warm_pair, pair);
    table.row("add-fd + remove-fd pair, no other set", &p[0], &p[1], &[]);
    table.floor(&p[2]);

    let filled = fill_sets(&mut servers, &counts, fd, quick);
    for (from, to, adds) in &filled.add_rows {
        table.row(
            &format!("add-fd into a new set ({from}..{to})"),
            &adds[0],
            &adds[1],
            &[],
        );
    }
    table.info_row("query-fdsets, no set", &empty[0], &empty[1]);
    table.floor(&empty[2]);
    let distinct: Vec<usize> = filled.query_rows.iter().map(|(n, _)| *n).collect();
    // 1,000 of each command per count: the difference of two medians over
    // only 100 sets is easily moved by noise (300 gave 1.6-2.2x "flat"
    // misses in two of five runs once the blocks were warmed up).
    let per_set = per_set_costs(&mut servers[1], &distinct, fd, p99_rounds(quick) / 3);
    query_rows(&mut table, &filled, &per_set);
    let p = measure(&mut servers[..2], pairs, warm_pair, pair);
    table.row(
        &format!("add-fd + remove-fd pair, {} other sets", counts[2]),
        &p[0],
        &p[1],
        &[],
    );
    summary(&servers, &table);
    drop(children);
}

/// QEMU 7.2, a program under the shim and the floor (a C thread answering
/// at once), each with a connected client; the children stop when dropped.
fn start_servers(qemu_bin: &Path, dir: &TempDir) -> ([Server; 3], (Program, Killed, Killed)) {
    let (qemu_child, qemu_client) = start_qemu(qemu_bin, dir);
    let (mut program, sock) = with_listener(dir, |_| {});
    let shim_client = Client::connect(&sock, &mut program.child);
    let (floor_child, floor_client) = start_floor(dir);
    // QEMU and the shim; the floor only where it is printed.
    let servers = [
        Server {
            name: "QEMU 7.2",
            pid: qemu_child.0.id(),
            client: qemu_client,
            cold: Vec::new(),
        },
        Server {
            name: "shim",
            pid: program.pid(),
            client: shim_client,
            cold: Vec::new(),
        },
        Server {
            name: "floor",
            pid: floor_child.0.id(),
            client: floor_client,
            cold: Vec::new(),
        },
    ];
    (servers, (program, qemu_child, floor_child))
}

/// The shim's samples in a row with a p99 target: its 99th percentile is
/// then the 30th slowest, which one slow round trip in a hundred does not
/// decide (of 30 samples, as the large `query-fdsets` rows had before,
/// "p99" was the second slowest).
const P99_ROUNDS: usize = 3_000;

fn p99_rounds(quick: bool) -> usize {
    if quick { P99_ROUNDS / 5 } else { P99_ROUNDS }
}

/// How many `query-fdsets` QEMU gets at `n` sets (fewer for the big
/// replies, which take it up to 60 ms each; only its median is compared).
fn qemu_query_rounds(n: usize, quick: bool) -> usize {
    let r = if n >= 10_000 {
        30
    } else if n >= 1_000 {
        100
    } else {
        300
    };
    if quick { r / 5 } else { r }
}

/// `add-fd` of `fd` to set `set` and `remove-fd` of the member it made
/// (the set is gone again if it had no other member).
fn add_and_remove(c: &mut Client, set: usize, fd: i32) {
    let add = format!("{{\"execute\": \"add-fd\", \"arguments\": {{\"fdset-id\": {set}}}}}");
    let r = c.cmd(add.as_bytes(), Some(fd));
    let member =
        number_after(r, "fd").unwrap_or_else(|| panic!("add-fd: {}", String::from_utf8_lossy(r)));
    let rm = format!(
        "{{\"execute\": \"remove-fd\", \"arguments\": {{\"fdset-id\": {set}, \"fd\": {member}}}}}"
    );
    let r = c.cmd(rm.as_bytes(), None);
    assert!(
        r.starts_with(b"{\"return\""),
        "remove-fd: {}",
        String::from_utf8_lossy(r)
    );
}

fn query(c: &mut Client, _: usize) {
    let r = c.cmd(b"{\"execute\": \"query-fdsets\"}", None);
    assert!(r.starts_with(b"{\"return\""), "query-fdsets");
}

/// What filling the sets measured: the add-fd rows, and per count the
/// query-fdsets samples.
struct Filled {
    add_rows: Vec<(usize, usize, Vec<Sample>)>,
    query_rows: Vec<(usize, Vec<Sample>)>,
}

/// Fill QEMU's and the shim's sets, one new set per add-fd, and time
/// query-fdsets at each count. A range of sets too short for a p99 of its
/// own (fewer than [`P99_ROUNDS`] sets) is filled, emptied with untimed
/// `remove-fd`s and filled again until its row has that many samples: the
/// first fill's times include growing the heap and the kernel's fd table,
/// the later ones run in memory already grown.
fn fill_sets(servers: &mut [Server], counts: &[usize], fd: i32, quick: bool) -> Filled {
    let mut next = 1;
    let mut query_rows = Vec::new();
    let mut add_rows = Vec::new();
    for &n in counts {
        if n < next {
            continue;
        }
        let from = next;
        let fills = (p99_rounds(quick) / (n + 1 - from)).max(1);
        let mut adds: Vec<Sample> = (0..2).map(|_| Sample::default()).collect();
        for fill in 0..fills {
            if fill > 0 {
                for s in &mut servers[..2] {
                    for id in from..=n {
                        remove_set(&mut s.client, id);
                    }
                }
            }
            // Warmed up by a new set past the row's last, removed at once.
            let this = measure(
                &mut servers[..2],
                n + 1 - from,
                |c| add_and_remove(c, n + 1, fd),
                |c, i| add_into_new_set(c, from + i, fd),
            );
            adds = adds
                .into_iter()
                .zip(this)
                .map(|(a, b)| join(a, b))
                .collect();
        }
        next = n + 1;
        add_rows.push((from, n, adds));
        let q = measure_each(
            &mut servers[..2],
            &[qemu_query_rounds(n, quick), p99_rounds(quick)],
            |c| query(c, 0),
            query,
        );
        // Check the last reply once: n sets.
        for s in &mut servers[..2] {
            let r = s.client.cmd(b"{\"execute\": \"query-fdsets\"}", None);
            let v: serde_json::Value = serde_json::from_slice(r).expect("query-fdsets is JSON");
            assert_eq!(
                v["return"].as_array().map(Vec::len),
                Some(n),
                "{}: query-fdsets",
                s.name
            );
        }
        query_rows.push((n, q));
    }
    Filled {
        add_rows,
        query_rows,
    }
}

/// `remove-fd` of every member of set `id` (the set goes with them).
fn remove_set(c: &mut Client, id: usize) {
    let cmd = format!("{{\"execute\": \"remove-fd\", \"arguments\": {{\"fdset-id\": {id}}}}}");
    let r = c.cmd(cmd.as_bytes(), None);
    assert!(
        r.starts_with(b"{\"return\""),
        "remove-fd of set {id}: {}",
        String::from_utf8_lossy(r)
    );
}

/// The query-fdsets rows, with the shim's cost per set and its flatness.
fn query_rows(table: &mut Table, filled: &Filled, per_set: &[(usize, f64)]) {
    // Flat: each count's cost per set within 1.5 times the lowest of them
    // (a difference at or below zero is noise: no verdict but MISSED).
    let lowest = per_set.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    for ((n, q), &(_, marginal)) in filled.query_rows.iter().zip(per_set) {
        let flat = marginal / lowest;
        let pass = lowest > 0.0 && flat <= 1.5;
        let text = if lowest > 0.0 {
            format!("flat<=1.5x: {flat:.2}x {}", ok(pass))
        } else {
            "flat<=1.5x: too noisy, MISSED".to_string()
        };
        table.row(
            &format!("query-fdsets, {n} sets"),
            &q[0],
            &q[1],
            &[(text, pass)],
        );
        // QEMU defers part of a large reply's cost to the command after it
        // (its query-version right after a query-fdsets of 10,000 sets is
        // slow), so the same difference says nothing about QEMU's cost per
        // set: only the shim's is shown.
        println!(
            "| {:<40} | {:>22} | {:>22} | {:>8} | {:<34} |",
            "  shim per set, minus query-version",
            "-",
            format!("{marginal:.3} µs"),
            "",
            "(all counts in the same blocks)"
        );
    }
}

/// The cold first commands, skipped events, the load, and the verdict.
fn summary(servers: &[Server], table: &Table) {
    let cold: Vec<Sample> = servers
        .iter()
        .map(|s| Sample {
            times: s.cold.clone(),
            cpu: 0,
        })
        .collect();
    println!(
        "| {:<40} | {:>22} | {:>22} | {:>8.1}x | {:<34} |",
        "query-version after the others' turn",
        format!("{:.1} / {:.1} µs", us(cold[0].median()), us(cold[0].p99())),
        format!("{:.1} / {:.1} µs", us(cold[1].median()), us(cold[1].p99())),
        us(cold[0].median()) / us(cold[1].median()),
        format!("(information; floor {:.1} µs)", us(cold[2].median()))
    );
    for s in servers {
        if s.client.events > 0 {
            println!("({}: {} events skipped)", s.name, s.client.events);
        }
    }
    println!("load average at the end: {}", loadavg());
    if table.missed > 0 {
        println!("MISSED: {} target(s) not met", table.missed);
    } else {
        println!("all targets met");
    }
}
