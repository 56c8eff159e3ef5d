//! The notification loop: one thread receives each call the filter sent
//! (`SECCOMP_IOCTL_NOTIF_RECV`), reads its path from the caller's memory,
//! and either lets the kernel run it (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`:
//! every path that is not a set path) or answers it from the sets (spec
//! sections 2, 8 and 9). The calls, by what they do:
//! - `target`: what a path names (a set, a prefix directory, ...), and the
//!   caller's ids;
//! - `open`: the registry's open rules, the dup installed by ADDFD;
//! - `look`: `stat`, `statx`, `access`, `readlink`, `statfs` (one shape:
//!   [`Call::look`]), answers written into the caller's memory;
//! - `change`: `truncate` and the `utime` family through a member;
//! - `xattr`: `getxattr`, `listxattr` and their `l` forms on a member;
//! - `close`: closes of numbers that hold a dup drop its record; forks.

mod change;
mod close;
mod look;
mod open;
mod target;
mod xattr;

use crate::sys::{self, Errno};
use crate::tree::Tree;
use fdset_core::paths::PathConfig;
use fdset_core::registry::{ClosedMember, Registry};
use std::cell::RefCell;
use std::os::fd::RawFd as Fd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

pub struct State {
    pub registry: Registry,
    pub tree: Tree,
}

/// What the notification thread and the control loop share.
pub struct Shared {
    pub state: Mutex<State>,
    /// `tree.total()`, readable without the lock: a close pays nothing more
    /// than the round trip while no process holds a dup.
    pub records: AtomicUsize,
    /// `tree.forking()`, readable without the lock.
    pub forking: AtomicUsize,
    pub paths: PathConfig,
    pub verbose: bool,
    pub listener: Fd,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After the tree changed, with the lock held.
    pub fn sync_count(&self, st: &State) {
        self.records.store(st.tree.total(), Ordering::Release);
        self.forking.store(st.tree.forking(), Ordering::Release);
    }

    pub fn log(&self, tid: i32, msg: &str) {
        if self.verbose {
            let comm = std::fs::read_to_string(format!("/proc/{tid}/comm")).unwrap_or_default();
            fdset_core::cli::warn(format_args!("fdset-run: [{tid} {}] {msg}", comm.trim_end()));
        }
    }

    pub fn log_closed(&self, closed: &[ClosedMember]) {
        if self.verbose {
            for c in closed {
                let why = if c.removed {
                    "removed, no dup left"
                } else {
                    "not in use, no dup left"
                };
                fdset_core::cli::warn(format_args!(
                    "fdset-run: set {}: member fd {} closed ({why})",
                    c.set, c.fd
                ));
            }
        }
    }
}

enum Reply {
    Continue,
    Error(Errno),
    Value(i64),
    /// Answered already (ADDFD with SEND), or the caller is gone.
    Done,
}

/// Serve notifications until the listener breaks (it never does while
/// fdset-run lives).
pub fn serve(sh: &Shared) {
    let mut req: libc::seccomp_notif = sys::zeroed();
    // One path buffer for every call: nothing is zeroed or allocated per call.
    let buf = RefCell::new([0u8; PATH_BUF]);
    loop {
        match sys::notif_recv(sh.listener, &mut req) {
            Ok(()) => {}
            Err(libc::EINTR) => continue,
            // Withdrawn (the caller was interrupted), or no process uses the
            // filter any more: then the receive no longer blocks, and the
            // listener says so (POLLHUP) rather than be asked in a loop.
            Err(libc::ENOENT) if sys::listener_ended(sh.listener) => return,
            Err(libc::ENOENT) => continue,
            Err(e) => {
                fdset_core::cli::warn(format_args!(
                    "fdset-run: the seccomp listener failed ({}); the program's path calls are no longer served",
                    std::io::Error::from_raw_os_error(e)
                ));
                return;
            }
        }
        // A bug met by one call must neither end the service nor leave the
        // caller blocked: it gets the kernel's own answer.
        let reply =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(sh, &req, &buf)))
                .unwrap_or(Reply::Continue);
        let sent = match reply {
            Reply::Continue => sys::notif_send(
                sh.listener,
                req.id,
                0,
                0,
                libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
            ),
            Reply::Error(e) => sys::notif_send(sh.listener, req.id, 0, -e, 0),
            Reply::Value(v) => sys::notif_send(sh.listener, req.id, v, 0, 0),
            Reply::Done => Ok(()),
        };
        // ENOENT: the caller was interrupted or died meanwhile; an
        // interrupted call is restarted and arrives again.
        let _ = sent;
    }
}

/// Room for a path of `PATH_MAX` bytes with its NUL.
const PATH_BUF: usize = 4096;

fn handle(sh: &Shared, req: &libc::seccomp_notif, buf: &RefCell<[u8; PATH_BUF]>) -> Reply {
    let a = req.data.args;
    let nr = req.data.nr as libc::c_long;
    let c = Call {
        sh,
        req,
        tid: req.pid as i32,
        buf,
    };
    // A thread that forked is past its fork now: its child exists.
    if sh.forking.load(Ordering::Acquire) > 0 {
        let mut st = sh.lock();
        st.tree.fork_done(c.tid);
        sh.sync_count(&st);
    }
    #[cfg(target_arch = "x86_64")]
    match nr {
        libc::SYS_open => return c.open(a[0], a[1] as i32),
        libc::SYS_creat => return c.open(a[0], libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC),
        libc::SYS_stat => return c.stat("stat", a[0], a[1], 0),
        libc::SYS_lstat => return c.stat("lstat", a[0], a[1], libc::AT_SYMLINK_NOFOLLOW),
        libc::SYS_access => return c.access("access", a[0], a[1] as i32, 0),
        libc::SYS_readlink => return c.readlink(a[0], a[2] as i64),
        libc::SYS_utime => return c.utime(a[0], a[1]),
        libc::SYS_utimes => return c.utimes("utimes", a[0], a[1]),
        libc::SYS_futimesat => return c.utimes("futimesat", a[1], a[2]),
        libc::SYS_dup2 => return c.dup_onto(a[0] as i32, a[1] as i32, 0),
        libc::SYS_fork | libc::SYS_vfork => return c.fork(),
        _ => {}
    }
    match nr {
        libc::SYS_openat => c.open(a[1], a[2] as i32),
        libc::SYS_openat2 => c.openat2(a[1], a[2], a[3]),
        libc::SYS_newfstatat => c.stat("fstatat", a[1], a[2], a[3] as i32),
        libc::SYS_statx => c.statx(a[1], a[2] as i32, a[3] as u32, a[4]),
        libc::SYS_faccessat => c.access("faccessat", a[1], a[2] as i32, 0),
        libc::SYS_faccessat2 => c.access("faccessat2", a[1], a[2] as i32, a[3] as i32),
        libc::SYS_readlinkat => c.readlink(a[1], a[3] as i64),
        libc::SYS_statfs => c.statfs(a[0], a[1]),
        libc::SYS_truncate => c.truncate(a[0], a[1] as i64),
        libc::SYS_utimensat => c.utimensat(a[1], a[2], a[3] as i32),
        libc::SYS_getxattr => c.getxattr("getxattr", a[0], a[1], a[2], a[3]),
        libc::SYS_lgetxattr => c.getxattr("lgetxattr", a[0], a[1], a[2], a[3]),
        libc::SYS_listxattr => c.listxattr("listxattr", a[0], a[1], a[2]),
        libc::SYS_llistxattr => c.listxattr("llistxattr", a[0], a[1], a[2]),
        libc::SYS_close => c.close(a[0] as u32),
        libc::SYS_close_range => c.close_range(a[0] as u32, a[1] as u32, a[2] as u32),
        libc::SYS_dup3 => c.dup_onto(a[0] as i32, a[1] as i32, a[2] as i32),
        // The filter sends clone only without CLONE_THREAD.
        libc::SYS_clone => c.fork(),
        libc::SYS_clone3 => c.clone3(a[0], a[1]),
        _ => Reply::Continue,
    }
}

/// One notification being answered.
struct Call<'a> {
    sh: &'a Shared,
    req: &'a libc::seccomp_notif,
    tid: i32,
    buf: &'a RefCell<[u8; PATH_BUF]>,
}

/// The path a call names, in the loop's buffer.
type PathRef<'a> = std::cell::RefMut<'a, [u8]>;

impl Call<'_> {
    fn log(&self, msg: &str) {
        self.sh.log(self.tid, msg);
    }

    /// The path argument, or `None` (unreadable, or longer than PATH_MAX):
    /// the kernel then answers the call itself. One path per call.
    fn path(&self, addr: u64) -> Option<PathRef<'_>> {
        let mut buf = self.buf.borrow_mut();
        let n = sys::read_cstr(self.tid, addr, &mut buf[..]).ok()?;
        Some(std::cell::RefMut::map(buf, |b| &mut b[..n]))
    }

    /// Write an answer into the caller's memory; only while the call is
    /// still pending (so the thread id is still the caller's). The call
    /// then returns `val`.
    fn write_answer_value(&self, addr: u64, bytes: &[u8], val: i64) -> Reply {
        if !sys::notif_id_valid(self.sh.listener, self.req.id) {
            return Reply::Done;
        }
        match sys::write_mem(self.tid, addr, bytes) {
            Ok(()) => Reply::Value(val),
            Err(_) => Reply::Error(libc::EFAULT),
        }
    }

    /// As [`Call::write_answer_value`], for calls that return 0.
    fn write_answer(&self, addr: u64, bytes: &[u8]) -> Reply {
        self.write_answer_value(addr, bytes, 0)
    }
}

fn text(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}

fn errno_text(e: Errno) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}
