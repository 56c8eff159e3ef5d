//! Timing in alternating blocks, and the table of results.

use super::*;
use std::borrow::BorrowMut;

/// Per server: round-trip times, and CPU time spent over them.
#[derive(Default)]
pub(crate) struct Sample {
    pub(crate) times: Vec<Duration>,
    pub(crate) cpu: u64,
}

impl Sample {
    pub(crate) fn median(&self) -> Duration {
        pct(&self.times, 0.5)
    }
    pub(crate) fn p99(&self) -> Duration {
        pct(&self.times, 0.99)
    }
    pub(crate) fn cpu_per_op(&self) -> f64 {
        self.cpu as f64 / self.times.len().max(1) as f64 / 1e3
    }
}

pub(crate) fn pct(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(((v.len().max(1) - 1) as f64 * p) as usize)
        .copied()
        .unwrap_or_default()
}

pub(crate) fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Commands sent to one server back to back before the next server's turn.
/// A server's first commands after another's turn are slow (see
/// [`WARMUP`]), for QEMU and the shim alike; in blocks of 20 they were a
/// good part of every row's p99, which then measured the switch between
/// servers rather than a server in use. In blocks of 100, of the shim's
/// round trips over 40 µs in a full run, 99 were among the first ten of
/// their block and 14-31 among each later ten.
pub(crate) const BLOCK: usize = 100;

/// Uncounted `query-version`s that open each block. The first command
/// after the other server's turn finds the thread asleep and the caches
/// cold (on this machine 5 to 15 times a warm one, for QEMU and the shim
/// alike): its time is kept in `cold`. The next ones are still slow: in
/// blocks of 20 with one warm-up, of the shim's round trips over 40 µs in
/// a full run, 470 were the first of their block, 200 the second, then
/// 134, 98, 86, 61, and about 35 at each place from the tenth on. A vCPU
/// that was idle for the other server's whole turn wakes slowly for a
/// while (the host's halt polling, which adapts to how soon a halted vCPU
/// is woken, is the likely cause; the guest's own is off here).
pub(crate) const WARMUP: usize = 5;

/// Uncounted runs of a block's own kind of command, after the
/// [`WARMUP`] `query-version`s: the first counted command of a block was
/// still slow without them, because the other server's turn had evicted
/// the data it touches (a `query-version` reads none of the sets). In a
/// full run at 52c3452, 10 of the 17 `query-fdsets` at 1,000 sets over 3
/// times the median were the first of their block, and so were 14 of the
/// 73 `add-fd`s into new sets 1,001..10,000, against about one in 100
/// elsewhere.
pub(crate) const WARM_OPS: usize = 3;

/// `op` run `rounds` times on each server, in alternating blocks of
/// [`BLOCK`] (so that drift of the machine hits all alike, while each
/// server sees commands in a row, as from a client that has several to
/// send); samples in the order of `servers`. Each block starts with
/// [`WARMUP`] `query-version`s and [`WARM_OPS`] runs of `warm` (the same
/// work as `op`, with no lasting effect) that are not counted; the first
/// `query-version`'s time goes to `cold`.
pub(crate) fn measure<S: BorrowMut<Server>>(
    servers: &mut [S],
    rounds: usize,
    warm: impl FnMut(&mut Client),
    op: impl FnMut(&mut Client, usize),
) -> Vec<Sample> {
    let each = vec![rounds; servers.len()];
    measure_each(servers, &each, warm, op)
}

/// [`measure`] with a count of rounds per server: the blocks are as many
/// as the largest count needs, and each server's rounds are spread evenly
/// over them (a server with fewer rounds has shorter blocks, none
/// skipped while it has rounds left), so that drift still hits all alike.
/// For QEMU's slow commands, whose median is all a row needs of it, while
/// the shim's p99 needs thousands of samples.
pub(crate) fn measure_each<S: BorrowMut<Server>>(
    servers: &mut [S],
    rounds: &[usize],
    mut warm: impl FnMut(&mut Client),
    mut op: impl FnMut(&mut Client, usize),
) -> Vec<Sample> {
    let mut samples: Vec<Sample> = servers.iter().map(|_| Sample::default()).collect();
    let blocks = rounds.iter().max().copied().unwrap_or(0).div_ceil(BLOCK);
    for block in 0..blocks {
        for ((s, sample), &total) in servers.iter_mut().zip(&mut samples).zip(rounds) {
            let (first, end) = (total * block / blocks, total * (block + 1) / blocks);
            if first == end {
                continue;
            }
            let s: &mut Server = s.borrow_mut();
            for i in 0..WARMUP {
                let t = Instant::now();
                let r = s.client.cmd(b"{\"execute\": \"query-version\"}", None);
                assert!(r.starts_with(b"{\"return\""), "query-version");
                if i == 0 {
                    s.cold.push(t.elapsed());
                }
            }
            for _ in 0..WARM_OPS {
                warm(&mut s.client);
            }
            let c0 = cpu_ns(s.pid);
            for round in first..end {
                let t = Instant::now();
                op(&mut s.client, round);
                sample.times.push(t.elapsed());
            }
            sample.cpu += cpu_ns(s.pid) - c0;
        }
    }
    samples
}

/// One sample of two taken apart (their times in order, their CPU added).
pub(crate) fn join(mut a: Sample, b: Sample) -> Sample {
    a.times.extend(b.times);
    a.cpu += b.cpu;
    a
}

pub(crate) struct Table {
    pub(crate) missed: usize,
}

impl Table {
    pub(crate) fn header(&self) {
        println!(
            "| {:<40} | {:>22} | {:>22} | {:>8} | {:<34} |",
            "figure", "QEMU 7.2 median / p99", "shim median / p99", "QEMU/shim", "targets"
        );
        println!(
            "|{}|{}|{}|{}|{}|",
            "-".repeat(42),
            "-".repeat(24),
            "-".repeat(24),
            "-".repeat(10),
            "-".repeat(36)
        );
    }

    /// One row: `qemu` and `shim` samples, in µs; `extra` targets are
    /// (text, pass).
    pub(crate) fn row(
        &mut self,
        figure: &str,
        qemu: &Sample,
        shim: &Sample,
        extra: &[(String, bool)],
    ) {
        self.row_with(figure, qemu, shim, extra, true)
    }

    /// A row printed for information: no target.
    pub(crate) fn info_row(&mut self, figure: &str, qemu: &Sample, shim: &Sample) {
        self.row_with(figure, qemu, shim, &[], false)
    }

    pub(crate) fn row_with(
        &mut self,
        figure: &str,
        qemu: &Sample,
        shim: &Sample,
        extra: &[(String, bool)],
        with_targets: bool,
    ) {
        let (qm, sm) = (us(qemu.median()), us(shim.median()));
        let ratio = qm / sm;
        let p99 = us(shim.p99()) / sm;
        list_slow(figure, shim);
        let mut targets = Vec::new();
        if with_targets {
            targets.push((format!(">=20x: {}", ok(ratio >= 20.0)), ratio >= 20.0));
            targets.push((format!("p99<=3x: {p99:.1}x {}", ok(p99 <= 3.0)), p99 <= 3.0));
        } else {
            targets.push(("(information)".to_string(), true));
        }
        targets.extend(extra.iter().cloned());
        self.missed += targets.iter().filter(|t| !t.1).count();
        let t: Vec<String> = targets.into_iter().map(|t| t.0).collect();
        println!(
            "| {:<40} | {:>22} | {:>22} | {:>8.1}x | {:<34} |",
            figure,
            format!("{qm:.1} / {:.1} µs", us(qemu.p99())),
            format!("{sm:.1} / {:.1} µs", us(shim.p99())),
            ratio,
            t.join(", ")
        );
        println!(
            "| {:<40} | {:>22} | {:>22} | {:>8} | {:<34} |",
            "  server CPU per operation (information)",
            format!("{:.1} µs", qemu.cpu_per_op()),
            format!("{:.1} µs", shim.cpu_per_op()),
            "",
            ""
        );
    }
}

impl Table {
    /// The floor's figures under a row: what a round trip costs at least.
    pub(crate) fn floor(&self, floor: &Sample) {
        list_slow("floor", floor);
        println!(
            "| {:<40} | {:>22} | {:>22} | {:>8} | {:<34} |",
            "  floor: C thread answering at once",
            "",
            format!("{:.1} / {:.1} µs", us(floor.median()), us(floor.p99())),
            "",
            format!(
                "p99 {:.1}x median; CPU {:.1} µs",
                us(floor.p99()) / us(floor.median()),
                floor.cpu_per_op()
            )
        );
    }
}

/// With `FDSET_BENCH_SLOW=1`: on standard error, the round trips of a
/// row over 3 times its median, as place in the row (a block is
/// [`BLOCK`] long) and µs. Where the slow ones fall says what they are:
/// the first of each block, spells in a row, or one here and there.
fn list_slow(figure: &str, s: &Sample) {
    if std::env::var_os("FDSET_BENCH_SLOW").is_none_or(|v| v != "1") {
        return;
    }
    let limit = 3.0 * us(s.median());
    let slow: Vec<String> = s
        .times
        .iter()
        .enumerate()
        .filter(|(_, t)| us(**t) > limit)
        .map(|(i, t)| format!("{i}:{:.0}", us(*t)))
        .collect();
    eprintln!(
        "slow ({figure}): {} of {} ({:.2}%): {}",
        slow.len(),
        s.times.len(),
        100.0 * slow.len() as f64 / s.times.len().max(1) as f64,
        slow.join(" ")
    );
}

/// The machine's 1, 5 and 15 minute load averages (a shared machine's
/// figures are only as good as its quiet).
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn ok(pass: bool) -> &'static str {
    if pass { "met" } else { "MISSED" }
}
