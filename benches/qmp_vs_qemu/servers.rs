//! The three servers: QEMU 7.2, the shim and the floor, and their CPU time.

use super::*;

pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) pid: u32,
    pub(crate) client: Client,
    /// The first command of each block (see [`measure`]).
    pub(crate) cold: Vec<Duration>,
}

/// CPU time of all threads of `pid` so far.
pub(crate) fn cpu_ns(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.filter_map(|e| {
        let p = e.ok()?.path().join("schedstat");
        let s = std::fs::read_to_string(p).ok()?;
        s.split_whitespace().next()?.parse::<u64>().ok()
    })
    .sum()
}

/// Runs `target/qemu72`'s fetch script; the emulator's path.
pub(crate) fn fetch_qemu() -> PathBuf {
    let script = repo_root().join("benches/qemu72/fetch.sh");
    let cache = profile_dir().parent().expect("target dir").join("qemu72");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&cache)
        .stderr(Stdio::inherit())
        .output()
        .expect("run benches/qemu72/fetch.sh");
    assert!(out.status.success(), "benches/qemu72/fetch.sh failed");
    let path = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("fetch.sh names the binary")
            .trim(),
    );
    assert!(path.exists(), "{} missing", path.display());
    path
}

/// A child process killed when dropped.
pub(crate) struct Killed(pub(crate) Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_qemu(bin: &Path, dir: &TempDir) -> (Killed, Client) {
    let sock = dir.path().join("qemu.sock");
    let data = bin
        .parent()
        .and_then(|p| p.parent())
        .expect("usr/")
        .join("share/qemu");
    let mut child = Command::new(bin)
        .arg("-L")
        .arg(&data)
        .args(["-M", "none", "-nodefaults", "-display", "none", "-qmp"])
        .arg(format!("unix:{},server=on,wait=off", sock.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start qemu-system-x86_64");
    let client = Client::connect(&sock, &mut child);
    (Killed(child), client)
}

/// `c-tests/qmp_floor.c` (no shim): a thread that answers every message
/// at once, the least a round trip costs here.
pub(crate) fn start_floor(dir: &TempDir) -> (Killed, Client) {
    let sock = dir.path().join("floor.sock");
    let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let mut cmd = Command::new(c_test("qmp_floor"));
    cmd.stdin(Stdio::piped()).stdout(Stdio::null());
    inherit_fds(
        &mut cmd,
        vec![(File::from(std::os::fd::OwnedFd::from(l)), 3)],
    );
    let mut child = cmd.spawn().expect("start qmp_floor");
    let client = Client::connect(&sock, &mut child);
    (Killed(child), client)
}

/// Soft RLIMIT_NOFILE raised to the hard one (children inherit it).
pub(crate) fn raise_nofile() -> u64 {
    // SAFETY: plain struct filled by getrlimit.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
    rl.rlim_cur = rl.rlim_max;
    // SAFETY: valid pointer.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
    rl.rlim_cur
}
