//! The runner of the real-program suite: each case run on its sets (the
//! shim preloaded, the files inherited as descriptors named in
//! `FDSET_ADD_FD`) and on the ordinary paths, and the two runs compared.

use super::fixtures::Fixtures;
use super::place::{Place, Scratch};
use super::{Case, Mode, SetArg};
use crate::TempDir;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `cmd`'s output, read while it runs (outputs larger than a pipe's buffer
/// are fine); a program still running after `limit` is killed and reported.
pub(super) fn output_within(mut cmd: Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for the program") {
            break st;
        }
        if !killed && start.elapsed() > limit {
            // Not reaped yet: the pid is still this child's.
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert!(
        !killed,
        "{cmd:?} still running after {limit:?}: killed; stderr {}",
        short(&out.stderr)
    );
    out
}

/// What one case came to.
pub struct CaseResult {
    pub name: &'static str,
    /// `Ok(what was compared)` or `Err(how the runs differ)`.
    pub outcome: Result<String, String>,
}

fn substitute(arg: &str, sets: &[(u32, String)], dir: &str) -> String {
    let mut s = arg.replace("{dir}", dir);
    for (set, path) in sets {
        s = s.replace(&format!("{{set{set}}}"), path);
    }
    s
}

fn open_member(path: &Path, mode: Mode) -> Vec<File> {
    let open = |read: bool, write: bool| {
        OpenOptions::new()
            .read(read)
            .write(write)
            .open(path)
            .expect("open a member")
    };
    match mode {
        Mode::Ro => vec![open(true, false)],
        Mode::Wo => vec![open(false, true)],
        Mode::Rw => vec![open(true, true), open(true, false)],
        Mode::RoWo => vec![open(true, false), open(false, true)],
    }
}

pub(super) fn short(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s: String = s.chars().take(160).collect();
    format!("{s:?}")
}

/// The two runs of one program, set up: the set run's files (a host folder
/// the program is never told about) and descriptors, the ordinary run's
/// copies of the same fixtures, a `{dir}` for each.
pub(super) struct Runs {
    _set_files: TempDir,
    _plain_sets: Scratch,
    pub(super) work_set: Scratch,
    work_plain: Scratch,
    set_paths: Vec<(u32, String)>,
    plain_paths: Vec<(u32, String)>,
    /// Per set argument: its file behind the set, and the ordinary copy.
    pub(super) files: Vec<(PathBuf, PathBuf)>,
    members: Vec<(File, i32)>,
    add_fd: Vec<String>,
}

impl Runs {
    pub(super) fn prepare(
        place: &dyn Place,
        fx: &Fixtures,
        sets: &[SetArg],
        work: &[&str],
    ) -> Runs {
        let set_files = TempDir::new("suite-set-files");
        let plain_sets = place.scratch("suite-plain-sets");
        let work_set = place.scratch("suite-work-set");
        let work_plain = place.scratch("suite-work-plain");
        for w in work {
            for d in [&work_set, &work_plain] {
                std::fs::copy(fx.path(w), d.host.join(w)).expect("copy a work file");
            }
        }
        let mut runs = Runs {
            set_paths: Vec::new(),
            plain_paths: Vec::new(),
            files: Vec::new(),
            members: Vec::new(),
            add_fd: Vec::new(),
            _set_files: set_files,
            _plain_sets: plain_sets,
            work_set,
            work_plain,
        };
        let mut fd = 3;
        for s in sets {
            let sub = format!("{}", s.set);
            let set_dir = runs._set_files.path().join(&sub);
            let plain_dir = runs._plain_sets.host.join(&sub);
            std::fs::create_dir_all(&set_dir).unwrap();
            std::fs::create_dir_all(&plain_dir).unwrap();
            let in_set = set_dir.join(s.fixture);
            std::fs::copy(fx.path(s.fixture), &in_set).expect("copy a set file");
            let plain = plain_dir.join(s.fixture);
            std::fs::copy(fx.path(s.fixture), &plain).expect("copy a set file");
            for f in open_member(&in_set, s.mode) {
                runs.members.push((f, fd));
                runs.add_fd.push(format!("fd={fd},set={}", s.set));
                fd += 1;
            }
            runs.set_paths
                .push((s.set, format!("/dev/fdset/{}", s.set)));
            runs.plain_paths.push((
                s.set,
                format!("{}/{sub}/{}", runs._plain_sets.inside, s.fixture),
            ));
            runs.files.push((in_set, plain));
        }
        runs
    }

    /// Run `argv` on the sets (preloaded) and on the ordinary paths.
    pub(super) fn run(
        &mut self,
        place: &dyn Place,
        argv: &[&str],
        stdin: &dyn Fn() -> Stdio,
    ) -> (Output, Output) {
        let argv_set: Vec<String> = argv
            .iter()
            .map(|a| substitute(a, &self.set_paths, &self.work_set.inside))
            .collect();
        let argv_plain: Vec<String> = argv
            .iter()
            .map(|a| substitute(a, &self.plain_paths, &self.work_plain.inside))
            .collect();
        let env_set = vec![
            ("LD_PRELOAD".to_string(), place.shim()),
            ("FDSET_ADD_FD".to_string(), self.add_fd.join(";")),
            ("HOME".to_string(), self.work_set.inside.clone()),
        ];
        let env_plain = vec![("HOME".to_string(), self.work_plain.inside.clone())];
        let limit = Duration::from_secs(60);
        let mut cmd = place.command(&argv_set, &env_set);
        cmd.stdin(stdin());
        crate::inherit_fds(&mut cmd, std::mem::take(&mut self.members));
        let on_set = output_within(cmd, limit);
        let mut cmd = place.command(&argv_plain, &env_plain);
        cmd.stdin(stdin());
        let on_path = output_within(cmd, limit);
        (on_set, on_path)
    }

    /// `out` with this run's `{dir}` (`dir`) written as `{dir}` and, when
    /// `to_set` (the ordinary run's), its paths written as the set paths.
    fn normalized(&self, out: &[u8], dir: &str, to_set: bool) -> String {
        let mut s = String::from_utf8_lossy(out).into_owned();
        if to_set {
            for ((_, plain), (_, set)) in self.plain_paths.iter().zip(self.set_paths.iter()) {
                s = s.replace(plain.as_str(), set);
            }
        }
        s.replace(dir, "{dir}")
    }

    /// How the two runs' exit statuses, stdout and stderr differ (the
    /// ordinary run must also exit with `status`).
    fn compare_streams(&self, status: i32, on_set: &Output, on_path: &Output) -> Vec<String> {
        let view = |o: &Output, dir: &str, to_set: bool| {
            (
                self.normalized(&o.stdout, dir, to_set),
                self.normalized(&o.stderr, dir, to_set),
            )
        };
        let (out_set, err_set) = view(on_set, &self.work_set.inside, false);
        let (out_path, err_path) = view(on_path, &self.work_plain.inside, true);
        let mut problems = Vec::new();
        if on_path.status.code() != Some(status) {
            problems.push(format!(
                "on the ordinary path: {} (expected exit {}), stderr {}",
                on_path.status,
                status,
                short(&on_path.stderr)
            ));
        }
        if on_set.status.code() != on_path.status.code() {
            problems.push(format!(
                "exit: {} on the set, {} on the path",
                on_set.status, on_path.status
            ));
        }
        if out_set != out_path {
            problems.push(format!(
                "stdout differs: set {} path {}",
                short(out_set.as_bytes()),
                short(out_path.as_bytes())
            ));
        }
        if err_set != err_path {
            problems.push(format!(
                "stderr differs: set {} path {}",
                short(err_set.as_bytes()),
                short(err_path.as_bytes())
            ));
        }
        problems
    }

    /// The files in `{dir}` the case names as outputs, compared.
    fn compare_outputs(
        &self,
        outputs: &[&str],
        compared: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) {
        for o in outputs {
            let a = std::fs::read(self.work_set.host.join(o));
            let b = std::fs::read(self.work_plain.host.join(o));
            match (a, b) {
                (Ok(a), Ok(b)) if a == b => compared.push(format!("{o} {} B", a.len())),
                (a, b) => problems.push(format!(
                    "output {o} differs: set {:?} B, path {:?} B",
                    a.map(|v| v.len()).map_err(|e| e.to_string()),
                    b.map(|v| v.len()).map_err(|e| e.to_string())
                )),
            }
        }
    }

    /// The file behind every set the program may write to, compared with
    /// the ordinary run's copy.
    fn compare_written_sets(
        &self,
        sets: &[SetArg],
        compared: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) {
        for (s, (in_set, plain)) in sets.iter().zip(self.files.iter()) {
            if s.mode == Mode::Ro {
                continue;
            }
            let a = std::fs::read(in_set).unwrap();
            let b = std::fs::read(plain).unwrap();
            if a == b {
                compared.push(format!("set {} {} B", s.set, a.len()));
            } else {
                problems.push(format!(
                    "set {}'s file differs after the run: {} B vs {} B on the path",
                    s.set,
                    a.len(),
                    b.len()
                ));
            }
        }
    }
}

/// Run one case in `place`; `Ok` says what agreed.
pub fn run_case(place: &dyn Place, fx: &Fixtures, case: &Case) -> Result<String, String> {
    let mut runs = Runs::prepare(place, fx, case.sets, case.work);
    let stdin = || match case.stdin {
        Some(f) => Stdio::from(File::open(fx.path(f)).expect("open stdin fixture")),
        None => Stdio::null(),
    };
    let (on_set, on_path) = runs.run(place, case.argv, &stdin);
    let mut problems = runs.compare_streams(case.status, &on_set, &on_path);
    let mut compared = vec![format!("stdout {} B", on_set.stdout.len())];
    runs.compare_outputs(case.outputs, &mut compared, &mut problems);
    runs.compare_written_sets(case.sets, &mut compared, &mut problems);
    if problems.is_empty() {
        Ok(compared.join(", "))
    } else {
        Err(problems.join("; "))
    }
}

/// Run every case (two at a time), in table order.
pub fn run_suite(place: &dyn Place) -> Vec<CaseResult> {
    let fx = Fixtures::make(place);
    let cases = super::cases();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&case) = cases.get(i) else { break };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_case(place, &fx, case)
                    }))
                    .unwrap_or_else(|p| {
                        Err(p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".into()))
                    });
                    results.lock().unwrap().push((
                        i,
                        CaseResult {
                            name: case.name,
                            outcome,
                        },
                    ));
                }
            });
        }
    });
    let mut v = results.into_inner().unwrap();
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

/// The results as a table, one program a line.
pub fn report(title: &str, results: &[CaseResult]) -> String {
    let passed = results.iter().filter(|r| r.outcome.is_ok()).count();
    let mut s = format!(
        "{title}: {passed} of {} programs agree with the ordinary path\n",
        results.len()
    );
    for r in results {
        match &r.outcome {
            Ok(what) => s += &format!("  ok    {:<44} {what}\n", r.name),
            Err(why) => s += &format!("  FAIL  {:<44} {why}\n", r.name),
        }
    }
    s
}
