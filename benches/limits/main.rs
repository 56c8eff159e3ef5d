//! `cargo bench --bench limits`: the performance limits (spec
//! section 6 "A program that never touches a set pays almost nothing"),
//! measured against a baseline taken in the same run. Prints one table row
//! per figure: value, target, pass/fail. Exit status 1 when a target is missed.
//!
//! `FDSET_BENCH_QUICK=1` runs fewer rounds (a smoke run; figures noisier).

use fdset_testkit::*;
use std::path::PathBuf;

mod measure;
mod rows;
use measure::*;
use rows::*;

/// What every row needs: the C benchmark, a data file, the rounds.
pub(crate) struct Ctx {
    pub(crate) bench: PathBuf,
    pub(crate) data: PathBuf,
    pub(crate) data_s: String,
    pub(crate) rounds: usize,
    pub(crate) scale: usize,
    pub(crate) quick: bool,
    pub(crate) dir: TempDir,
}

fn main() {
    // cargo bench passes `--bench`; anything else is ignored.
    let quick = std::env::var("FDSET_BENCH_QUICK").is_ok_and(|v| v == "1");
    let dir = TempDir::new("bench");
    let data: PathBuf = dir.file("data.bin", &[7u8; 4096]);
    let ctx = Ctx {
        bench: c_test("bench_hooks"),
        data_s: data.to_str().expect("utf-8 temp path").to_string(),
        data,
        rounds: if quick { 3 } else { 15 },
        scale: if quick { 5 } else { 1 },
        quick,
        dir,
    };
    let (rounds, data) = (ctx.rounds, &ctx.data);
    let mut rows = Vec::new();
    eprintln!("shim: {}", shim_lib().display());
    // 1-4: an ordinary call, a set against its path, many sets, many dups,
    // threads, instructions.
    ordinary_call_rows(&mut rows, &ctx);
    fdset_open_rows(&mut rows, &ctx);
    many_sets_row(&mut rows, &ctx);
    many_dups_rows(&mut rows, &ctx);
    thread_rows(&mut rows, &ctx);
    instruction_rows(&mut rows, &ctx);
    // 5. Process start.
    start_row(
        &mut rows,
        "process start, with/without",
        rounds,
        1.0,
        &|_| {},
    );
    start_row(
        &mut rows,
        "process start with 100 launch-time sets, with/without",
        rounds,
        2.0,
        &|cmd| launch_sets(cmd, data, 100),
    );

    // 6. What a fork costs the parent (the exec gate's share and the
    // registry lock taken around it by the fork handlers).
    fork_row(&mut rows, rounds, data);

    // 7. Carrying the sets across an exec (spec section 7), and the
    // launcher against `env`.
    exec_rows(&mut rows, rounds, data);
    launcher_row(&mut rows, rounds, data);

    qmp_rows(&mut rows, &ctx);
    print_table(&rows);
    if rows.iter().any(|r| r.pass == Some(false)) {
        std::process::exit(1);
    }
}
