//! How each figure is taken: runs of the C benchmark, medians, callgrind
//! counts, and the table they are printed in.

use fdset_testkit::*;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Row {
    pub(crate) figure: String,
    pub(crate) value: String,
    pub(crate) target: String,
    pub(crate) pass: Option<bool>,
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A command for `program`, with or without the release shim preloaded.
pub(crate) fn command(program: &Path, preload: bool) -> Command {
    if preload {
        preloaded(program)
    } else {
        let mut cmd = Command::new(program);
        cmd.env_remove("LD_PRELOAD");
        cmd
    }
}

/// Run to completion within `limit`; stdout as numbers. `None` on timeout.
pub(crate) fn run_numbers(mut cmd: Command, limit: Duration) -> Option<Vec<f64>> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn benchmark");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait benchmark") {
            let out = child.wait_with_output().expect("benchmark output");
            assert!(status.success(), "{cmd:?} failed: {}", stderr_of(&out));
            return Some(
                stdout_of(&out)
                    .split_whitespace()
                    .map(|w| w.parse().expect("a number"))
                    .collect(),
            );
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One `bench_hooks paired KIND` figure over `rounds` pairs of processes
/// run without and with the shim in alternation (so that drift of the
/// machine hits both): the medians of each process's ratio of the program's
/// call to libc's own, with and without the preload, and the medians of the
/// program's call alone.
pub(crate) struct Paired {
    pub(crate) ratio_on: f64,
    pub(crate) ratio_off: f64,
    pub(crate) ns_on: f64,
    pub(crate) ns_off: f64,
}

pub(crate) fn paired(bench: &Path, kind: &str, path: &str, n: &str, rounds: usize) -> Paired {
    let (mut ratio, mut ns) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for _ in 0..rounds {
        for (i, preload) in [false, true].into_iter().enumerate() {
            let mut cmd = command(bench, preload);
            cmd.args(["paired", kind, path, n]);
            let v = run_numbers(cmd, Duration::from_secs(120)).expect("benchmark finished");
            ratio[i].push(v[0] / v[1]);
            ns[i].push(v[0]);
        }
    }
    let [r_off, r_on] = ratio;
    let [n_off, n_on] = ns;
    Paired {
        ratio_on: median(r_on),
        ratio_off: median(r_off),
        ns_on: median(n_on),
        ns_off: median(n_off),
    }
}

pub(crate) fn ratio_row(
    rows: &mut Vec<Row>,
    figure: &str,
    ratio: f64,
    detail: String,
    target: f64,
) {
    rows.push(Row {
        figure: figure.to_string(),
        value: format!("{ratio:.3} ({detail})"),
        target: format!("<= {target}"),
        pass: Some(ratio <= target),
    });
}

/// Instructions executed by `bench args` under callgrind.
pub(crate) fn instructions(bench: &Path, args: &[&str], preload: bool, out: &Path) -> u64 {
    let mut cmd = command(Path::new("valgrind"), preload);
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(bench)
        .args(args);
    let o = cmd.output().expect("run valgrind (installed by .ci/setup)");
    assert!(o.status.success(), "valgrind failed: {}", stderr_of(&o));
    callgrind_totals(out)
}

/// User-space instructions of one open+close of `/dev/fdset/1` (the C
/// loop's own included), a member of `data` given at launch. valgrind's
/// launcher, preloaded, would take the set and carry nothing into its
/// static tool (README, "Not supported"): the tool is started directly.
pub(crate) fn set_open_instructions(bench: &Path, data: &Path, dir: &Path) -> f64 {
    let (short, long) = (1_000u64, 11_000u64);
    let count = |n: u64| {
        let out = dir.join(format!("cg.set-open.{n}"));
        let mut cmd = preloaded("/usr/libexec/valgrind/callgrind-amd64-linux");
        cmd.env("VALGRIND_LIB", "/usr/libexec/valgrind")
            .env("VALGRIND_LAUNCHER", "/usr/bin/valgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(bench)
            .args(["open", "/dev/fdset/1", &n.to_string()]);
        launch_sets(&mut cmd, data, 1);
        let o = cmd
            .output()
            .expect("run callgrind (valgrind is installed by .ci/setup)");
        assert!(o.status.success(), "callgrind failed: {}", stderr_of(&o));
        callgrind_totals(&out)
    };
    (count(long) as f64 - count(short) as f64) / (long - short) as f64
}

/// Instructions the shim adds to one call: the difference between loops of
/// two lengths cancels start-up, the difference with/without preload leaves
/// the hook.
pub(crate) fn added_instructions(bench: &Path, mode: &str, path: &str, dir: &Path) -> f64 {
    let (short, long) = (1_000u64, 11_000u64);
    let mut per_call = [0.0; 2];
    for (i, preload) in [false, true].into_iter().enumerate() {
        let f = |n: u64| {
            let n = n.to_string();
            instructions(
                bench,
                &[mode, path, &n],
                preload,
                &dir.join(format!("cg.{mode}.{preload}.{n}")),
            )
        };
        per_call[i] = (f(long) as f64 - f(short) as f64) / (long - short) as f64;
    }
    per_call[1] - per_call[0]
}

/// Mean milliseconds to start and reap `program` (run `n` times).
pub(crate) fn start_ms(
    program: &Path,
    preload: bool,
    n: usize,
    setup: &dyn Fn(&mut Command),
) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        let mut cmd = command(program, preload);
        setup(&mut cmd);
        let st = cmd.stdout(Stdio::null()).status().expect("start program");
        assert!(st.success(), "{cmd:?} failed");
    }
    t.elapsed().as_secs_f64() * 1e3 / n as f64
}

/// Several fds the child inherits at 3, 4, ... with the `FDSET_ADD_FD` that
/// makes each one set.
pub(crate) fn launch_sets(cmd: &mut Command, file: &Path, sets: usize) {
    let f = open_for_child(file, false, true);
    inherit_as_sets(
        cmd,
        (0..sets).map(|_| f.try_clone().expect("dup")).collect(),
    );
}

/// Like [`launch_sets`], but each set's member is an open of its own (its
/// own open file description), as separately opened files would be.
pub(crate) fn launch_separate_sets(cmd: &mut Command, file: &Path, sets: usize) {
    inherit_as_sets(
        cmd,
        (0..sets)
            .map(|_| open_for_child(file, false, true))
            .collect(),
    );
}

/// `files` inherited at 3, 4, ..., each named set 1, 2, ... in `FDSET_ADD_FD`.
fn inherit_as_sets(cmd: &mut Command, files: Vec<File>) {
    let spec: Vec<String> = (0..files.len())
        .map(|i| format!("fd={},set={}", 3 + i, i + 1))
        .collect();
    let numbered = files
        .into_iter()
        .enumerate()
        .map(|(i, f)| (f, 3 + i as i32))
        .collect();
    inherit_fds(cmd, numbered);
    cmd.env("FDSET_ADD_FD", spec.join(";"));
}

/// Nanoseconds per exec of `bench_exec` carrying `sets` sets (20 execs in
/// a row), with or without the shim: the process's CPU time (user and
/// system: what the exec and the shim cost, not the time spent waiting
/// for a CPU on a shared machine), then wall-clock time.
pub(crate) fn exec_ns(data: &Path, sets: usize, preload: bool) -> [f64; 2] {
    let mut cmd = command(&c_test("bench_exec"), preload);
    cmd.arg(data).arg(sets.to_string()).arg("20");
    let v = run_numbers(cmd, Duration::from_secs(120)).expect("bench_exec finished");
    [v[1], v[0]]
}

/// Mean milliseconds of `n` runs of `cmd` (stdout to /dev/null).
pub(crate) fn runs_ms(cmd: &mut Command, n: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        let st = cmd.stdout(Stdio::null()).status().expect("start");
        assert!(st.success(), "{cmd:?} failed");
    }
    t.elapsed().as_secs_f64() * 1e3 / n as f64
}

pub(crate) fn print_table(rows: &[Row]) {
    let w0 = rows.iter().map(|r| r.figure.len()).max().unwrap_or(6);
    let w1 = rows.iter().map(|r| r.value.len()).max().unwrap_or(5);
    println!(
        "| {:w0$} | {:w1$} | {:10} | result |",
        "figure", "value", "target"
    );
    println!(
        "|{}|{}|{}|--------|",
        "-".repeat(w0 + 2),
        "-".repeat(w1 + 2),
        "-".repeat(12)
    );
    for r in rows {
        let result = match r.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "n/a",
        };
        println!(
            "| {:w0$} | {:w1$} | {:10} | {result:6} |",
            r.figure, r.value, r.target
        );
    }
}
