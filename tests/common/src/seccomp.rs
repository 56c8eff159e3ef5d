//! What the seccomp-mode suites (`tests/seccomp_*.rs`) share: fdset-run with
//! `--file` sets in front of a program, the process it started, what that
//! process's descriptors refer to, and a stepped program compared with the
//! same program on the file itself.

use crate::qmp::Program;
use crate::{fdset_run, file_arg, output_within, profile_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long one program of these suites may run.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Run `cmd` to completion within [`LIMIT`].
pub fn run_out(cmd: Command) -> Output {
    output_within(cmd, LIMIT)
}

/// `target/`, for caches that outlive a test run (Go's build cache, the
/// unpacked busybox package).
pub fn target_dir() -> PathBuf {
    profile_dir().parent().expect("target/").to_path_buf()
}

/// The process fdset-run started (its only child).
pub fn program_pid(launcher: u32) -> u32 {
    let start = Instant::now();
    loop {
        let mut kids = Vec::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{launcher}/task")) {
            for t in dir.flatten() {
                if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                    kids.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
                }
            }
        }
        if let Some(&k) = kids.first() {
            return k;
        }
        assert!(start.elapsed() < LIMIT, "fdset-run {launcher} has no child");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What descriptors of process `pid` refer to.
pub fn fd_targets(pid: u32) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in dir.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                v.push(t.to_string_lossy().into_owned());
            }
        }
    }
    v
}

/// Whether process `pid` holds a descriptor of `file`.
pub fn holds(pid: u32, file: &Path) -> bool {
    let f = file.to_string_lossy();
    fd_targets(pid).iter().any(|t| *t == f)
}

/// `fdset-run [--seccomp] --file set=S,path=P,mode=M ... -- PROGRAM ARGS`.
pub fn launcher(
    seccomp: bool,
    files: &[(u32, &Path, &str)],
    program: &Path,
    args: &[&str],
) -> Command {
    let mut cmd = fdset_run();
    if seccomp {
        cmd.arg("--seccomp");
    }
    for (set, path, mode) in files {
        cmd.arg("--file").arg(file_arg(*set, path, mode));
    }
    cmd.arg("--").arg(program).args(args);
    cmd
}

/// The same command lines against a set path and against the file itself
/// give the same answers (descriptor numbers included); `@` in a step is
/// the path.
pub fn same_answers(
    set_side: &mut Program,
    file_side: &mut Program,
    set_path: &str,
    file: &Path,
    steps: &[&str],
) -> Vec<String> {
    let file = file.to_string_lossy();
    let mut answers = Vec::new();
    for step in steps {
        let a = set_side.step(&step.replace("@", set_path));
        let b = file_side.step(&step.replace("@", &file));
        assert_eq!(a, b, "{step}: set path vs the file");
        answers.push(a);
    }
    answers
}
