//! The notification loop: one thread receives each call the filter sent
//! (`SECCOMP_IOCTL_NOTIF_RECV`), reads its path from the caller's memory,
//! and either lets the kernel run it (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`:
//! every path that is not a set path) or answers it from the sets: the
//! registry's open rules with the dup installed by ADDFD, and `stat`,
//! `access`, `readlink` answers written into the caller's memory (spec
//! sections 2, 8 and 9). Closes of numbers that hold a dup drop its record.

use crate::ops::{self, LocalOps};
use crate::sys::{self, Errno};
use crate::tree::Tree;
use fdset_core::paths::{FDSET_DIR, PathConfig};
use fdset_core::registry::{self, ClosedMember, LookOutcome, OpenOutcome, RawFd, Registry};
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
            eprintln!("fdset-run: [{tid} {}] {msg}", comm.trim_end());
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
                eprintln!(
                    "fdset-run: set {}: member fd {} closed ({why})",
                    c.set, c.fd
                );
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
    loop {
        match sys::notif_recv(sh.listener, &mut req) {
            Ok(()) => {}
            Err(libc::EINTR | libc::ENOENT) => continue,
            Err(e) => {
                eprintln!(
                    "fdset-run: the seccomp listener failed ({}); the program's path calls are no longer served",
                    std::io::Error::from_raw_os_error(e)
                );
                return;
            }
        }
        // A bug met by one call must neither end the service nor leave the
        // caller blocked: it gets the kernel's own answer.
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(sh, &req)))
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

/// What a path names.
enum Target {
    Set(u64),
    /// Under a prefix, not a set number (`/dev/fdset/2-journal`).
    BadNumber,
    /// `/dev/fdset` itself, or a `--prefix` directory.
    PrefixDir,
    Other,
}

fn classify(paths: &PathConfig, path: &[u8], looking: bool) -> Target {
    if path.first() != Some(&b'/') {
        return Target::Other;
    }
    if looking && is_prefix_dir(paths, path) {
        return Target::PrefixDir;
    }
    match paths.resolve(path) {
        None => Target::Other,
        Some(Ok(set)) => Target::Set(set),
        Some(Err(_)) => Target::BadNumber,
    }
}

fn is_prefix_dir(paths: &PathConfig, path: &[u8]) -> bool {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    std::iter::once(FDSET_DIR)
        .chain(paths.prefixes.iter().map(Vec::as_slice))
        .any(|p| p.strip_suffix(b"/").unwrap_or(p) == trimmed)
}

/// Whether `path` exists as the caller sees the file system (its root).
fn exists_for(tid: i32, path: &[u8]) -> bool {
    let mut full = format!("/proc/{tid}/root").into_bytes();
    full.extend_from_slice(path);
    use std::os::unix::ffi::OsStrExt;
    std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(&full)).is_ok()
}

fn text(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}

fn errno_text(e: Errno) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

fn handle(sh: &Shared, req: &libc::seccomp_notif) -> Reply {
    let a = req.data.args;
    let nr = req.data.nr as libc::c_long;
    let c = Call {
        sh,
        req,
        tid: req.pid as i32,
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
        libc::SYS_close => c.close(a[0] as u32),
        libc::SYS_close_range => c.close_range(a[0] as u32, a[1] as u32, a[2] as u32),
        libc::SYS_dup3 => c.dup_onto(a[0] as i32, a[1] as i32, a[2] as i32),
        // The filter sends clone only without CLONE_THREAD.
        libc::SYS_clone => c.fork(),
        libc::SYS_clone3 => c.clone3(a[0], a[1]),
        _ => Reply::Continue,
    }
}

/// The caller's ids, from /proc/TID/status.
struct Ids {
    uid: [u32; 2],
    gid: [u32; 2],
    groups: Vec<u32>,
}

fn caller_ids(tid: i32) -> Option<Ids> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let nums = |key: &str| -> Vec<u32> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| {
                v.split_ascii_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (u, g) = (nums("Uid:"), nums("Gid:"));
    if u.len() < 2 || g.len() < 2 {
        return None;
    }
    Some(Ids {
        uid: [u[0], u[1]],
        gid: [g[0], g[1]],
        groups: nums("Groups:"),
    })
}

/// A read-only directory owned by the caller's effective ids (spec section
/// 8: the prefix directories, when none exists on disk).
fn prefix_dir_stat(ids: &Ids) -> libc::stat {
    let mut st: libc::stat = sys::zeroed();
    st.st_mode = libc::S_IFDIR | 0o555;
    st.st_nlink = 2;
    st.st_uid = ids.uid[1];
    st.st_gid = ids.gid[1];
    st.st_blksize = 4096;
    st
}

fn prefix_dir_statx(ids: &Ids) -> libc::statx {
    let mut st: libc::statx = sys::zeroed();
    st.stx_mask =
        libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_NLINK | libc::STATX_UID | libc::STATX_GID;
    st.stx_mode = (libc::S_IFDIR | 0o555) as u16;
    st.stx_nlink = 2;
    st.stx_uid = ids.uid[1];
    st.stx_gid = ids.gid[1];
    st.stx_blksize = 4096;
    st
}

struct Call<'a> {
    sh: &'a Shared,
    req: &'a libc::seccomp_notif,
    tid: i32,
}

impl Call<'_> {
    fn log(&self, msg: &str) {
        self.sh.log(self.tid, msg);
    }

    /// The path argument, or `None` (unreadable, or longer than PATH_MAX):
    /// the kernel then answers the call itself.
    fn path<'b>(&self, addr: u64, buf: &'b mut [u8; 4096]) -> Option<&'b [u8]> {
        let n = sys::read_cstr(self.tid, addr, buf)?;
        Some(&buf[..n])
    }

    /// Write an answer into the caller's memory; only while the call is
    /// still pending (so the thread id is still the caller's).
    fn write_answer(&self, addr: u64, bytes: &[u8]) -> Reply {
        if !sys::notif_id_valid(self.sh.listener, self.req.id) {
            return Reply::Done;
        }
        match sys::write_mem(self.tid, addr, bytes) {
            Ok(()) => Reply::Value(0),
            Err(_) => Reply::Error(libc::EFAULT),
        }
    }

    // ------------------------------------------------------------ open

    fn open(&self, addr: u64, flags: i32) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        match classify(&self.sh.paths, path, false) {
            Target::Other | Target::PrefixDir => Reply::Continue,
            Target::BadNumber => {
                self.log(&format!(
                    "open {}: EINVAL: not a set number (0..2147483647)",
                    text(path)
                ));
                Reply::Error(libc::EINVAL)
            }
            Target::Set(set) => self.open_set(path, set, flags),
        }
    }

    fn openat2(&self, addr: u64, how_addr: u64, size: u64) -> Reply {
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct OpenHow {
            flags: u64,
            mode: u64,
            resolve: u64,
        }
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        let Target::Set(set) = classify(&self.sh.paths, path, false) else {
            // A bad number is EINVAL as for openat; anything else is the kernel's.
            if matches!(classify(&self.sh.paths, path, false), Target::BadNumber) {
                return Reply::Error(libc::EINVAL);
            }
            return Reply::Continue;
        };
        // A short or odd size, and any resolve rule that confines the
        // lookup, are the kernel's to judge (spec section 8).
        if !(24..=4096).contains(&size) {
            return Reply::Continue;
        }
        let Ok(how) = sys::read_struct::<OpenHow>(self.tid, how_addr, 24) else {
            return Reply::Continue;
        };
        const RESOLVE_BENEATH: u64 = 0x08;
        const RESOLVE_IN_ROOT: u64 = 0x10;
        if how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 || how.flags > u32::MAX as u64 {
            return Reply::Continue;
        }
        self.open_set(path, set, how.flags as i32)
    }

    fn open_set(&self, path: &[u8], set: u64, flags: i32) -> Reply {
        let cloexec = flags & libc::O_CLOEXEC != 0;
        let mut st = self.sh.lock();
        let Some(pid) = st.tree.tgid(self.tid, true) else {
            // /proc has no such thread: the caller is gone (or /proc is
            // hidden from fdset-run); without its process no dup can be counted.
            return Reply::Error(libc::EAGAIN);
        };
        if flags & libc::O_PATH != 0 {
            return self.open_path(&st.registry, path, set, flags);
        }
        if flags & libc::O_DIRECTORY != 0 {
            let want = flags & libc::O_ACCMODE;
            let chosen = st.registry.set(set).and_then(|s| {
                s.members
                    .iter()
                    .rev()
                    .find(|m| !m.removed && m.info.status_flags & libc::O_ACCMODE == want)
            });
            if let Some(m) = chosen
                && !ops::is_directory(m.fd)
            {
                self.log(&format!(
                    "open {}: ENOTDIR: set {set} member fd {} is not a directory",
                    text(path),
                    m.fd
                ));
                return Reply::Error(libc::ENOTDIR);
            }
        }
        let mut closed = Vec::new();
        let State { registry, tree } = &mut *st;
        if !tree.prepare(registry, pid) {
            self.sh.sync_count(&st);
            return Reply::Error(libc::EAGAIN);
        }
        let outcome = registry.open_with_closed(&mut LocalOps, set, flags, &mut closed);
        let reply = match outcome {
            OpenOutcome::Opened { member, dup, .. } => {
                match sys::notif_addfd_send(self.sh.listener, self.req.id, dup, cloexec) {
                    Ok(fd) => {
                        if !tree.insert(registry, pid, fd, set, dup, &mut closed) {
                            // Ended meanwhile: its descriptors are gone.
                            registry.forget_dup(&mut LocalOps, dup, &mut closed);
                            sys::close(dup);
                        }
                        self.log(&format!(
                            "open {} flags {flags:#o}: set {set}: member fd {member} -> fd {fd}",
                            text(path)
                        ));
                        Reply::Done
                    }
                    Err(e) => {
                        registry.forget_dup(&mut LocalOps, dup, &mut closed);
                        sys::close(dup);
                        if e == libc::ENOENT {
                            // Interrupted: the call starts again.
                            Reply::Done
                        } else {
                            self.log(&format!(
                                "open {}: installing the dup failed: {}",
                                text(path),
                                errno_text(e)
                            ));
                            Reply::Error(e)
                        }
                    }
                }
            }
            other => {
                let e = other.result().err().unwrap_or(libc::EIO);
                self.log(&format!(
                    "open {}: {}: {other:?}",
                    text(path),
                    errno_text(e)
                ));
                Reply::Error(e)
            }
        };
        self.sh.sync_count(&st);
        drop(st);
        self.sh.log_closed(&closed);
        reply
    }

    /// `O_PATH`: the newest visible member's file, not a recorded dup
    /// (spec section 2, step 7). The kernel cannot install an O_PATH
    /// descriptor in another process (ADDFD takes no O_PATH file), so the
    /// program gets a duplicate of that member (README "Seccomp mode").
    fn open_path(&self, registry: &Registry, path: &[u8], set: u64, flags: i32) -> Reply {
        let member = match registry.look(set) {
            LookOutcome::Answered { member, .. } => member,
            _ => return Reply::Error(libc::ENOENT),
        };
        if flags & libc::O_DIRECTORY != 0 && !ops::is_directory(member) {
            return Reply::Error(libc::ENOTDIR);
        }
        let r = sys::notif_addfd_send(
            self.sh.listener,
            self.req.id,
            member,
            flags & libc::O_CLOEXEC != 0,
        );
        match r {
            Ok(n) => {
                self.log(&format!(
                    "open {} O_PATH: set {set}: member fd {member} -> fd {n} (not counted)",
                    text(path)
                ));
                Reply::Done
            }
            Err(libc::ENOENT) => Reply::Done,
            Err(e) => Reply::Error(e),
        }
    }

    // ------------------------------------------------------------ look

    /// The member that answers for `set`, run through `f` under the lock.
    fn with_member<T>(
        &self,
        what: &str,
        set: u64,
        f: impl FnOnce(RawFd, registry::ServedModes) -> T,
    ) -> Result<T, Errno> {
        let st = self.sh.lock();
        match st.registry.look(set) {
            LookOutcome::Answered { member, modes, .. } => {
                let r = f(member, modes);
                drop(st);
                self.log(&format!("{what}: set {set}: member fd {member} answers"));
                Ok(r)
            }
            LookOutcome::NoSuchSet { .. } => {
                drop(st);
                self.log(&format!("{what}: ENOENT: set {set} does not exist"));
                Err(libc::ENOENT)
            }
            LookOutcome::NoVisibleMember { .. } => {
                drop(st);
                self.log(&format!("{what}: ENOENT: set {set} has no member left (all removed; only open dups keep it)"));
                Err(libc::ENOENT)
            }
        }
    }

    fn stat(&self, call: &str, addr: u64, buf_addr: u64, flags: i32) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        let known = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT | libc::AT_EMPTY_PATH;
        if flags & !known != 0 {
            return Reply::Continue;
        }
        let what = format!("{call} {}", text(path));
        match classify(&self.sh.paths, path, true) {
            Target::Other => Reply::Continue,
            Target::PrefixDir => {
                if exists_for(self.tid, path) {
                    return Reply::Continue;
                }
                let Some(ids) = caller_ids(self.tid) else {
                    return Reply::Continue;
                };
                self.log(&format!("{what}: a prefix directory (0555)"));
                self.write_answer(buf_addr, sys::bytes_of(&prefix_dir_stat(&ids)))
            }
            Target::BadNumber => {
                self.log(&format!("{what}: ENOENT: not a set number"));
                Reply::Error(libc::ENOENT)
            }
            Target::Set(set) => match self.with_member(&what, set, |m, _| sys::fstat(m)) {
                Ok(Ok(st)) => self.write_answer(buf_addr, sys::bytes_of(&st)),
                Ok(Err(e)) | Err(e) => Reply::Error(e),
            },
        }
    }

    fn statx(&self, addr: u64, flags: i32, mask: u32, buf_addr: u64) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        let known = libc::AT_SYMLINK_NOFOLLOW
            | libc::AT_NO_AUTOMOUNT
            | libc::AT_EMPTY_PATH
            | libc::AT_STATX_SYNC_TYPE;
        if flags & !known != 0 || flags & libc::AT_STATX_SYNC_TYPE == libc::AT_STATX_SYNC_TYPE {
            return Reply::Continue;
        }
        let what = format!("statx {}", text(path));
        match classify(&self.sh.paths, path, true) {
            Target::Other => Reply::Continue,
            Target::PrefixDir => {
                if exists_for(self.tid, path) {
                    return Reply::Continue;
                }
                let Some(ids) = caller_ids(self.tid) else {
                    return Reply::Continue;
                };
                self.log(&format!("{what}: a prefix directory (0555)"));
                self.write_answer(buf_addr, sys::bytes_of(&prefix_dir_statx(&ids)))
            }
            Target::BadNumber => Reply::Error(libc::ENOENT),
            Target::Set(set) => {
                match self.with_member(&what, set, |m, _| sys::fstatx(m, flags, mask)) {
                    Ok(Ok(st)) => self.write_answer(buf_addr, sys::bytes_of(&st)),
                    Ok(Err(e)) | Err(e) => Reply::Error(e),
                }
            }
        }
    }

    fn access(&self, call: &str, addr: u64, mode: i32, flags: i32) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        let known = libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;
        if flags & !known != 0 || mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
            // The kernel's EINVAL.
            return Reply::Continue;
        }
        let effective = flags & libc::AT_EACCESS != 0;
        let what = format!("{call} {} mode={mode}", text(path));
        match classify(&self.sh.paths, path, true) {
            Target::Other => Reply::Continue,
            Target::PrefixDir => {
                if exists_for(self.tid, path) {
                    return Reply::Continue;
                }
                let Some(ids) = caller_ids(self.tid) else {
                    return Reply::Continue;
                };
                let uid = ids.uid[usize::from(effective)];
                if mode & libc::W_OK != 0 && uid != 0 {
                    return Reply::Error(libc::EACCES);
                }
                Reply::Value(0)
            }
            Target::BadNumber => Reply::Error(libc::ENOENT),
            Target::Set(set) => {
                let r = self.with_member(&what, set, |m, modes| {
                    registry::access_allowed(modes, mode).map_err(|_| libc::EACCES)?;
                    if mode & libc::X_OK != 0 {
                        let st = sys::fstat(m)?;
                        let ids = caller_ids(self.tid).ok_or(libc::ESRCH)?;
                        let i = usize::from(effective);
                        let groups = &ids.groups;
                        let gid = ids.gid[i];
                        if !registry::exec_permitted(
                            st.st_mode,
                            st.st_uid,
                            st.st_gid,
                            ids.uid[i],
                            |g| g == gid || groups.contains(&g),
                        ) {
                            return Err(libc::EACCES);
                        }
                    }
                    Ok(())
                });
                match r {
                    Ok(Ok(())) => Reply::Value(0),
                    Ok(Err(e)) | Err(e) => {
                        self.log(&format!("{what}: {}", errno_text(e)));
                        Reply::Error(e)
                    }
                }
            }
        }
    }

    fn readlink(&self, addr: u64, size: i64) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        if size <= 0 || size > i32::MAX as i64 {
            return Reply::Continue;
        }
        match classify(&self.sh.paths, path, true) {
            Target::Other => Reply::Continue,
            // A directory is not a symbolic link either.
            Target::PrefixDir if exists_for(self.tid, path) => Reply::Continue,
            Target::PrefixDir => Reply::Error(libc::EINVAL),
            Target::BadNumber => Reply::Error(libc::ENOENT),
            Target::Set(set) => {
                let what = format!("readlink {}", text(path));
                match self.with_member(&what, set, |_, _| ()) {
                    Ok(()) => Reply::Error(libc::EINVAL),
                    Err(e) => Reply::Error(e),
                }
            }
        }
    }

    /// `statfs`: the member's file system.
    fn statfs(&self, addr: u64, buf_addr: u64) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        match classify(&self.sh.paths, path, true) {
            Target::Other | Target::PrefixDir => Reply::Continue,
            Target::BadNumber => Reply::Error(libc::ENOENT),
            Target::Set(set) => {
                let what = format!("statfs {}", text(path));
                match self.with_member(&what, set, |m, _| sys::fstatfs(m)) {
                    Ok(Ok(st)) => self.write_answer(buf_addr, sys::bytes_of(&st)),
                    Ok(Err(e)) | Err(e) => Reply::Error(e),
                }
            }
        }
    }

    /// `truncate` through the newest visible member that can write, else
    /// `EACCES` (spec section 8).
    fn truncate(&self, addr: u64, length: i64) -> Reply {
        let mut buf = [0u8; 4096];
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        let set = match classify(&self.sh.paths, path, true) {
            Target::Other | Target::PrefixDir => return Reply::Continue,
            Target::BadNumber => return Reply::Error(libc::ENOENT),
            Target::Set(set) => set,
        };
        let st = self.sh.lock();
        if !matches!(st.registry.look(set), LookOutcome::Answered { .. }) {
            return Reply::Error(libc::ENOENT);
        }
        let writer = st.registry.set(set).and_then(|s| {
            s.members
                .iter()
                .rev()
                .find(|m| !m.removed && m.info.status_flags & libc::O_ACCMODE != libc::O_RDONLY)
                .map(|m| m.fd)
        });
        let Some(m) = writer else {
            drop(st);
            self.log(&format!(
                "truncate {}: EACCES: set {set} has no member that can write",
                text(path)
            ));
            return Reply::Error(libc::EACCES);
        };
        // SAFETY: plain system call on a member of ours.
        let r = unsafe { libc::ftruncate(m, length) };
        let e = sys::errno();
        drop(st);
        self.log(&format!(
            "truncate {} to {length}: set {set}: member fd {m}",
            text(path)
        ));
        if r < 0 {
            Reply::Error(e)
        } else {
            Reply::Value(0)
        }
    }

    /// `utimensat` (touch) through the newest visible member.
    fn utimensat(&self, addr: u64, times_addr: u64, flags: i32) -> Reply {
        let mut buf = [0u8; 4096];
        // A NULL path is futimens on the descriptor: the kernel's.
        if addr == 0 {
            return Reply::Continue;
        }
        let Some(path) = self.path(addr, &mut buf) else {
            return Reply::Continue;
        };
        if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
            return Reply::Continue;
        }
        let set = match classify(&self.sh.paths, path, true) {
            Target::Other | Target::PrefixDir => return Reply::Continue,
            Target::BadNumber => return Reply::Error(libc::ENOENT),
            Target::Set(set) => set,
        };
        let times = if times_addr == 0 {
            None
        } else {
            match sys::read_struct::<[libc::timespec; 2]>(self.tid, times_addr, 32) {
                Ok(t) => Some(t),
                Err(_) => return Reply::Error(libc::EFAULT),
            }
        };
        let what = format!("utimensat {}", text(path));
        let r = self.with_member(&what, set, |m, _| {
            let ptr = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
            // SAFETY: ptr is null or two timespecs of ours; m is a member.
            let r = unsafe { libc::futimens(m, ptr) };
            if r < 0 { Err(sys::errno()) } else { Ok(()) }
        });
        match r {
            Ok(Ok(())) => Reply::Value(0),
            Ok(Err(e)) | Err(e) => Reply::Error(e),
        }
    }

    // ------------------------------------------------------------ fork

    /// A new process is about to hold copies of the caller's dups: the
    /// next record drop walks the tree for it (Tree::discover).
    fn fork(&self) -> Reply {
        let mut st = self.sh.lock();
        st.tree.fork_started(self.tid);
        self.sh.sync_count(&st);
        Reply::Continue
    }

    fn clone3(&self, args: u64, size: u64) -> Reply {
        // struct clone_args starts with the u64 flags.
        match sys::read_struct::<u64>(self.tid, args, 8) {
            Ok(flags) if size >= 8 && flags & libc::CLONE_THREAD as u64 != 0 => Reply::Continue,
            _ => self.fork(),
        }
    }

    // ------------------------------------------------------------ close

    /// The process of the caller, when it holds a record at one of `fds`
    /// (checked again with the lock held).
    fn drop_if_recorded(&self, pick: impl Fn(&Tree, i32) -> Vec<RawFd>) -> Reply {
        if self.sh.records.load(Ordering::Acquire) == 0 {
            return Reply::Continue;
        }
        let mut st = self.sh.lock();
        let Some(pid) = st.tree.tgid(self.tid, false) else {
            return Reply::Continue;
        };
        if pick(&st.tree, pid).is_empty() {
            return Reply::Continue;
        }
        // Thread ids are reused: make sure this thread is that process's.
        let Some(pid) = st.tree.tgid(self.tid, true) else {
            return Reply::Continue;
        };
        let fds = pick(&st.tree, pid);
        let mut closed = Vec::new();
        let State { registry, tree } = &mut *st;
        tree.drop_records(registry, pid, &fds, &mut closed);
        self.sh.sync_count(&st);
        drop(st);
        for fd in &fds {
            self.log(&format!("close {fd}: a dup, no longer counted"));
        }
        self.sh.log_closed(&closed);
        Reply::Continue
    }

    fn close(&self, fd: u32) -> Reply {
        let Ok(fd) = RawFd::try_from(fd) else {
            return Reply::Continue;
        };
        self.drop_if_recorded(|t, pid| t.record_at(pid, fd).map(|_| vec![fd]).unwrap_or_default())
    }

    fn close_range(&self, first: u32, last: u32, flags: u32) -> Reply {
        // CLOSE_RANGE_CLOEXEC closes nothing now (an exec may, later: see
        // Tree::validate); a bad range or flag is the kernel's EINVAL.
        const CLOSE_RANGE_UNSHARE: u32 = 2;
        if flags & !CLOSE_RANGE_UNSHARE != 0 || first > last {
            return Reply::Continue;
        }
        let Ok(first) = RawFd::try_from(first) else {
            return Reply::Continue;
        };
        let last = RawFd::try_from(last).unwrap_or(RawFd::MAX);
        self.drop_if_recorded(|t, pid| t.in_range(pid, first, last))
    }

    /// `dup2`/`dup3` onto a dup's number closes the dup, when it succeeds.
    fn dup_onto(&self, old: RawFd, new: RawFd, flags: i32) -> Reply {
        if old == new || flags & !libc::O_CLOEXEC != 0 || new < 0 {
            return Reply::Continue;
        }
        let tid = self.tid;
        self.drop_if_recorded(|t, pid| {
            if t.record_at(pid, new).is_none() {
                return Vec::new();
            }
            // dup2 of a number that is not open fails and closes nothing.
            match sys::same_file(tid, old, tid, old) {
                Ok(true) => vec![new],
                _ => Vec::new(),
            }
        })
    }
}
