//! Shared by the QMP integration tests: a C program stepped through its
//! stdin under the shim, a minimal QMP client over Unix sockets (with
//! SCM_RIGHTS), and the program's fd table from /proc.
use crate::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// `c-tests/qmp_step.c` running under the shim.
pub struct Program {
    pub child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Program {
    /// Spawn `cmd` (stdin/stdout piped) and wait for its `main` to run.
    pub fn spawn(cmd: Command) -> Program {
        let mut p = Program::spawn_waiting(cmd);
        assert_eq!(p.line(), "main");
        p
    }

    /// Spawn without waiting for `main` (FDSET_WAIT).
    pub fn spawn_waiting(mut cmd: Command) -> Program {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn qmp_step");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Program {
            child,
            stdin,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).expect("read program output");
        s.trim_end().to_string()
    }

    /// One command, its reply line.
    pub fn step(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").expect("write to program");
        self.stdin.flush().expect("flush");
        self.line()
    }

    /// `open PATH MODE` -> the new fd.
    pub fn open(&mut self, path: &str, mode: &str) -> Result<RawFd, i32> {
        let r = self.step(&format!("open {path} {mode}"));
        if let Some(fd) = r.strip_prefix("fd ") {
            return Ok(fd.parse().unwrap());
        }
        Err(r
            .strip_prefix("err ")
            .unwrap_or_else(|| panic!("{r}"))
            .parse()
            .unwrap())
    }

    /// Open `path` read-only and close it again (a use that ends).
    pub fn open_close(&mut self, path: &str) {
        let fd = self
            .open(path, "r")
            .unwrap_or_else(|e| panic!("open {path}: errno {e}"));
        assert_eq!(self.step(&format!("close {fd}")), "ok");
    }

    /// Descriptor number -> what it refers to (readlink of /proc/PID/fd/N).
    pub fn fds(&self) -> BTreeMap<RawFd, String> {
        let dir = format!("/proc/{}/fd", self.pid());
        let mut m = BTreeMap::new();
        for e in std::fs::read_dir(&dir).expect("read /proc/PID/fd") {
            let e = e.unwrap();
            let Ok(n) = e.file_name().to_string_lossy().parse::<RawFd>() else {
                continue;
            };
            if let Ok(t) = std::fs::read_link(e.path()) {
                m.insert(n, t.to_string_lossy().into_owned());
            }
        }
        m
    }

    /// Numbers open that refer to `target` (a path).
    pub fn fds_to(&self, target: &Path) -> Vec<RawFd> {
        let t = target.to_string_lossy();
        self.fds()
            .into_iter()
            .filter(|(_, v)| *v == t)
            .map(|(k, _)| k)
            .collect()
    }

    /// Wait (up to TIMEOUT) until the fd table satisfies `ok`; the helper
    /// thread reacts to a disconnect on its own time.
    pub fn wait_fds(&self, what: &str, ok: impl Fn(&BTreeMap<RawFd, String>) -> bool) {
        let start = Instant::now();
        loop {
            let fds = self.fds();
            if ok(&fds) {
                return;
            }
            assert!(start.elapsed() < TIMEOUT, "{what}: fd table {fds:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The shim's own descriptors (>= 100) that are sockets.
    pub fn owned_sockets(&self) -> Vec<RawFd> {
        self.fds()
            .into_iter()
            .filter(|(k, v)| *k >= 100 && v.starts_with("socket:"))
            .map(|(k, _)| k)
            .collect()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `qmp_step` under the shim, `control` inherited as fd 3 and named in
/// FDSET_CONTROL_FD.
pub fn step_program(control: OwnedFd) -> Command {
    let mut cmd = preloaded(c_test("qmp_step"));
    cmd.env("FDSET_CONTROL_FD", "3");
    inherit_fds(&mut cmd, vec![(File::from(control), 3)]);
    cmd
}

/// A program whose control socket is one end of a socketpair; the other
/// end, a monitor from the program's start.
pub fn with_socketpair(extra: impl FnOnce(&mut Command)) -> (Program, Qmp) {
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let mut cmd = step_program(theirs.into());
    extra(&mut cmd);
    let p = Program::spawn(cmd);
    (p, Qmp::new(ours))
}

/// `with_socketpair`, its monitor past the greeting and negotiated.
pub fn ready_socketpair(extra: impl FnOnce(&mut Command)) -> (Program, Qmp) {
    let (p, mut q) = with_socketpair(extra);
    q.greeting();
    q.negotiate();
    (p, q)
}

/// A program started with FDSET_WAIT=1 serving `dir/qmp.sock`, its `main`
/// not yet running.
pub fn waiting_program(dir: &TempDir) -> (Program, PathBuf) {
    let path = dir.path().join("qmp.sock");
    let l = UnixListener::bind(&path).expect("bind");
    let mut cmd = step_program(l.into());
    cmd.env("FDSET_WAIT", "1");
    (Program::spawn_waiting(cmd), path)
}

/// A program serving a listening socket at `dir/qmp.sock`.
pub fn with_listener(dir: &TempDir, extra: impl FnOnce(&mut Command)) -> (Program, PathBuf) {
    let path = dir.path().join("qmp.sock");
    let l = UnixListener::bind(&path).expect("bind");
    let mut cmd = step_program(l.into());
    extra(&mut cmd);
    (Program::spawn(cmd), path)
}

pub struct Qmp {
    pub stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Qmp {
    pub fn new(stream: UnixStream) -> Qmp {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Qmp { stream, reader }
    }

    pub fn connect(path: &Path) -> Qmp {
        Qmp::new(UnixStream::connect(path).expect("connect to the control socket"))
    }

    /// A connected, negotiated monitor.
    pub fn ready(path: &Path) -> Qmp {
        let mut q = Qmp::connect(path);
        q.greeting();
        q.negotiate();
        q
    }

    /// One reply line, as sent (with its line end).
    pub fn raw_line(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_line(&mut s).expect("read a reply line");
        s
    }

    pub fn reply(&mut self) -> Value {
        let l = self.raw_line();
        assert!(l.ends_with("\r\n"), "reply line {l:?}");
        serde_json::from_str(&l).unwrap_or_else(|e| panic!("{l:?}: {e}"))
    }

    /// True when the server closed the connection (EOF).
    pub fn at_eof(&mut self) -> bool {
        let mut s = String::new();
        matches!(self.reader.read_line(&mut s), Ok(0))
    }

    pub fn greeting(&mut self) -> Value {
        let g = self.reply();
        assert!(g["QMP"]["version"]["qemu"]["major"].is_u64(), "{g}");
        g
    }

    pub fn negotiate(&mut self) {
        assert_eq!(
            self.cmd(json!({"execute": "qmp_capabilities"})),
            json!({"return": {}})
        );
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .expect("send to the control socket");
    }

    pub fn cmd(&mut self, v: Value) -> Value {
        self.send(v.to_string().as_bytes());
        self.reply()
    }

    pub fn exec(&mut self, name: &str, args: Value) -> Value {
        self.cmd(json!({"execute": name, "arguments": args}))
    }

    /// `bytes` in one message carrying `fds` as SCM_RIGHTS.
    pub fn send_fds(&self, fds: &[RawFd], bytes: &[u8]) {
        send_fds(self.stream.as_raw_fd(), fds, bytes).expect("sendmsg with SCM_RIGHTS");
    }

    /// Send `file` (qemu.qmp style: one blank byte) and add it.
    pub fn add_fd(&mut self, file: &File, args: Value) -> Value {
        self.send_fds(&[file.as_raw_fd()], b" ");
        self.exec("add-fd", args)
    }
}

pub use fdset_core::scm::send_fds;

pub fn generic(desc: &str) -> Value {
    json!({"error": {"class": "GenericError", "desc": desc}})
}

/// The member's number in an `add-fd` reply.
pub fn ret_fd(r: &Value) -> i32 {
    r["return"]["fd"]
        .as_i64()
        .unwrap_or_else(|| panic!("no fd in {r}")) as i32
}
