//! fdset-testkit: what the integration tests and benches of fdset-shim
//! share. Where the built shim, binaries and C test programs are, how to run a
//! program under the preloaded shim, a QMP client (`qmp`), a recording fake
//! of the registry's descriptor operations (`fake_fdops`) and the registry
//! driven through it (`registry_ops`), the real-program suite (`programs`)
//! with the Debian 13 chroot it also runs in (`trixie`), and what the
//! seccomp-mode suites share (`seccomp`).

pub mod fake_fdops;
pub mod programs;
pub mod qmp;
pub mod registry_ops;
pub mod seccomp;
pub mod trixie;

use std::path::PathBuf;
use std::process::{Command, Output};

/// `target/<profile>/`, where cargo puts the shim and the binaries (the test
/// executable lives in `target/<profile>/deps/`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf()
}

/// `target/<profile>/libfdset_shim.so`. `cargo test` builds a cdylib-only
/// library for nobody, so the first test to ask builds it with the same
/// profile (a no-op when it is up to date).
pub fn shim_lib() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = profile_dir();
            let release = dir.file_name().is_some_and(|n| n == "release");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--lib", "--quiet", "--manifest-path"])
                .arg(repo_root().join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", dir.parent().expect("target dir"));
            if release {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build --lib");
            assert!(status.success(), "cargo build --lib failed");
            let lib = dir.join("libfdset_shim.so");
            assert!(lib.exists(), "{} was not built", lib.display());
            lib
        })
        .clone()
}

/// The workspace root (this crate is `tests/common` in it).
pub fn repo_root() -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(|p| p.parent())
        .expect("tests/common has a root")
        .to_path_buf()
}

/// One of the workspace's binaries (`fdset-run`, `fdset-ctl`), as cargo
/// built it for the tests.
///
/// With `FDSET_TEST_INSTALLED=DIR` (the package check in CI), the installed
/// one in DIR instead, which finds its library where the package put it.
pub fn bin(name: &str) -> PathBuf {
    let p = match std::env::var_os("FDSET_TEST_INSTALLED") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => profile_dir().join(name),
    };
    assert!(p.exists(), "{} was not built", p.display());
    p
}

/// A C test program compiled by build.rs from `c-tests/NAME.c` into
/// `target/<profile>/c-tests/`.
pub fn c_test(name: &str) -> PathBuf {
    let p = profile_dir().join("c-tests").join(name);
    assert!(p.exists(), "{} was not built", p.display());
    p
}

/// A command for `program` with the shim preloaded and no inherited
/// FDSET_* variables.
pub fn preloaded(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("FDSET_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("LD_PRELOAD", shim_lib());
    cmd
}

/// A scratch directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "fdset-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
    /// Create a file with `content`, return its path.
    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Open `path` with `flags` so that the child inherits it as fd `target`
/// (not close-on-exec); returns the pre_exec-ready raw fd.
pub fn open_for_child(path: &std::path::Path, write: bool, read: bool) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(read)
        .write(write)
        .open(path)
        .expect("open file for the child")
}

/// Start the child with a limit of `n` open files (`RLIMIT_NOFILE`, soft
/// and hard), set between fork and exec.
pub fn limit_open_files(cmd: &mut Command, n: libc::rlim_t) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let rl = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Make the child see `files[i].0` at fd `files[i].1`, inheritable.
pub fn inherit_fds(cmd: &mut Command, files: Vec<(std::fs::File, i32)>) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    // Keep the files alive until spawn; the raw numbers are used after fork.
    let raw: Vec<(i32, i32)> = files.iter().map(|(f, t)| (f.as_raw_fd(), *t)).collect();
    let keep = std::sync::Arc::new(files);
    // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let _ = &keep;
            // First move every source out of the way of every target.
            let mut moved = Vec::with_capacity(raw.len());
            for &(src, _) in &raw {
                let hi = libc::fcntl(src, libc::F_DUPFD, 500);
                if hi < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved.push(hi);
            }
            for (i, &(_, target)) in raw.iter().enumerate() {
                if libc::dup2(moved[i], target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(moved[i]);
            }
            Ok(())
        });
    }
}

pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The launcher `fdset-run`, with the shim it preloads built beside it, and
/// no inherited FDSET_* variables or LD_PRELOAD.
pub fn fdset_run() -> Command {
    shim_lib();
    let mut cmd = Command::new(bin("fdset-run"));
    without_shim_env(&mut cmd);
    cmd
}

/// Leave out of `cmd`'s environment every FDSET_* variable and LD_PRELOAD
/// this test process may have inherited.
pub fn without_shim_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("FDSET_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env_remove("LD_PRELOAD");
}

/// The Python interpreter itself: `python3` may be a wrapper script (pyenv)
/// that would start the interpreter in another program image.
pub fn python() -> PathBuf {
    static PY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PY.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("run python3");
        assert!(out.status.success(), "python3 -c failed");
        PathBuf::from(stdout_of(&out).trim())
    })
    .clone()
}

/// Run to completion with piped output; a program still running after
/// `limit` (a deadlock) is killed and the test fails.
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    wait_within(child, limit)
}

/// Wait for `child` to end and collect its output; one still running after
/// `limit` (a deadlock) is killed and the test fails.
pub fn wait_within(mut child: std::process::Child, limit: std::time::Duration) -> Output {
    let start = std::time::Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "still running after {limit:?} (a hang); stderr: {}",
                stderr_of(&out)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().expect("wait")
}

/// The standard output of a run that must have succeeded.
pub fn stdout_if_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        stderr_of(out)
    );
    stdout_of(out)
}

/// `files` (path, open for writing, open for reading) as the members of
/// set 1, in that order: inherited at fds 3, 4, ... and named in
/// `FDSET_ADD_FD`.
pub fn members_of_set_one(cmd: &mut Command, files: &[(&std::path::Path, bool, bool)]) {
    let specs: Vec<String> = (0..files.len())
        .map(|i| format!("fd={},set=1", 3 + i))
        .collect();
    cmd.env("FDSET_ADD_FD", specs.join(";"));
    let fds = files
        .iter()
        .enumerate()
        .map(|(i, (p, write, read))| (open_for_child(p, *write, *read), 3 + i as i32))
        .collect();
    inherit_fds(cmd, fds);
}

/// The value of `fdset-run --file`: `set=S,path=P,mode=M`.
pub fn file_arg(set: u32, path: &std::path::Path, mode: &str) -> String {
    format!("set={set},path={},mode={mode}", path.display())
}

/// `cmd.output()` for a program file the test has just written: while any
/// other test thread is between fork and exec, its child still holds the
/// file's (close-on-exec) write descriptor and exec fails with ETXTBSY.
/// That passes within milliseconds, so retry for up to 5 s.
pub fn output_of_fresh_executable(cmd: &mut Command) -> Output {
    let start = std::time::Instant::now();
    loop {
        match cmd.output() {
            Err(e)
                if e.raw_os_error() == Some(libc::ETXTBSY)
                    && start.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            r => return r.unwrap_or_else(|e| panic!("run {cmd:?}: {e}")),
        }
    }
}

/// Wait (up to 10 s) until `child` has made `path`, e.g. its listening
/// socket; fails at once if the child exits first.
pub fn wait_for_path(path: &std::path::Path, child: &mut std::process::Child) {
    let start = std::time::Instant::now();
    while !path.exists() {
        if let Some(st) = child.try_wait().expect("try_wait") {
            panic!(
                "{} never appeared: the program exited ({st:?})",
                path.display()
            );
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// bwrap arguments for a sandbox that sees `/usr` (with the `/lib`,
/// `/lib64` and `/bin` links), `libdir` (where the shim is), `/dev` and
/// `/proc`, and none of the test's files.
pub fn bwrap_usr_view(libdir: &str) -> Vec<String> {
    [
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/bin",
        "/bin",
        "--ro-bind",
        libdir,
        libdir,
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Run `cmd` to completion with `input` on its stdin, its stdout and stderr
/// piped (the input is written first: for programs that read it before
/// they write much).
pub fn output_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input)
        .expect("write the program's stdin");
    child.wait_with_output().expect("wait")
}

/// The total instruction count of a callgrind output file (its `totals:`
/// or `summary:` line).
pub fn callgrind_totals(out: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(out).expect("callgrind output");
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("callgrind totals line")
}

/// `c-tests/smoke_read /dev/null` under the shim, with a memfd named like
/// the shim's own holding `json` as its `FDSET_STATE` (at fd 9): a forged
/// state, as a test of what the constructor refuses.
pub fn run_with_forged_state(json: &str) -> Output {
    use std::os::fd::FromRawFd;
    // SAFETY: creating a memfd in the test process.
    let fd = unsafe { libc::memfd_create(c"fdset-state".as_ptr(), 0) };
    assert!(fd >= 0, "memfd_create");
    // SAFETY: writing the bytes of `json` to our memfd.
    let written = unsafe { libc::write(fd, json.as_ptr().cast(), json.len()) };
    assert_eq!(written, json.len() as isize);
    // SAFETY: fd is ours.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut cmd = preloaded(c_test("smoke_read"));
    cmd.arg("/dev/null").env("FDSET_STATE", "9");
    inherit_fds(&mut cmd, vec![(file, 9)]);
    cmd.output().expect("spawn smoke_read")
}
