//! The shim's process-wide state and the slow paths of the hooks: everything
//! between the thin C layer (`hooks.rs`) and the plain rules (`registry.rs`).

use crate::fdtable;
use crate::owner_lock::{OwnerGuard, OwnerLock};
use crate::sys;
use fdset_core::paths::{PathConfig, SetNumber};
use fdset_core::registry::{ClosedMember, Errno, FdOps, MemberInfo, OpenOutcome, RawFd, Registry};
use once_cell::sync::OnceCell;
use std::ffi::CStr;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// Numbers at or above this are used for descriptors the shim owns, away from
/// the low numbers programs expect `open()` to hand out.
pub const OWNED_FD_BASE: RawFd = 100;

pub struct State {
    pub registry: Registry,
    /// Shim-owned descriptors that are not set members (control sockets).
    pub extra_owned: Vec<RawFd>,
}

static STATE: OwnerLock<State> = OwnerLock::new(State {
    registry: Registry::new(),
    extra_owned: Vec::new(),
});

/// Settings read once from the environment at load.
#[derive(Default)]
pub struct Config {
    pub paths: PathConfig,
    pub log: bool,
}

static CONFIG: OnceCell<Config> = OnceCell::new();
static DEFAULT_CONFIG: Config = Config {
    paths: PathConfig {
        prefixes: Vec::new(),
        aliases: Vec::new(),
    },
    log: false,
};

pub fn config() -> &'static Config {
    CONFIG.get().unwrap_or(&DEFAULT_CONFIG)
}

pub fn set_config(c: Config) {
    let _ = CONFIG.set(c);
}

/// Dups closed by a signal handler while its thread held the lock.
const PENDING_SLOTS: usize = 64;
static PENDING: [AtomicI32; PENDING_SLOTS] = [const { AtomicI32::new(-1) }; PENDING_SLOTS];
static PENDING_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The registry lock. Dropping it first forgets the dups closed meanwhile by
/// signal handlers.
pub struct Locked {
    guard: OwnerGuard<'static, State>,
}

impl std::ops::Deref for Locked {
    type Target = State;
    #[inline]
    fn deref(&self) -> &State {
        &self.guard
    }
}
impl std::ops::DerefMut for Locked {
    #[inline]
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Locked {
    #[inline]
    fn drop(&mut self) {
        drain_pending(&mut self.guard);
        // The guard, dropped next, releases the lock.
    }
}

/// Take the registry lock; `None` when this thread already holds it (a signal
/// handler running inside the shim), where waiting would deadlock.
#[inline]
pub fn lock() -> Option<Locked> {
    let mut guard = STATE.lock().ok()?;
    drain_pending(&mut guard);
    Some(Locked { guard })
}

#[inline]
fn drain_pending(st: &mut State) {
    if PENDING_COUNT.load(Ordering::Acquire) != 0 {
        drain_pending_now(st);
    }
}

#[cold]
fn drain_pending_now(st: &mut State) {
    let mut closed = Vec::new();
    for slot in &PENDING {
        let fd = slot.swap(-1, Ordering::AcqRel);
        if fd < 0 {
            continue;
        }
        PENDING_COUNT.fetch_sub(1, Ordering::AcqRel);
        st.registry.forget_dup(&mut RealOps, fd, &mut closed);
        fdtable::mark(fd, fdtable::FREE);
        // SAFETY: fd is the dup the program closed; it is ours to close now.
        unsafe { sys::close(fd) };
    }
    log_closed(&closed);
}

/// Queue a dup closed from a signal handler; false when the queue is full.
fn defer_close(fd: RawFd) -> bool {
    for slot in &PENDING {
        if slot
            .compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            fdtable::mark(fd, fdtable::PENDING_CLOSE);
            PENDING_COUNT.fetch_add(1, Ordering::AcqRel);
            return true;
        }
    }
    false
}

/// The registry's operations done with the real libc functions.
pub struct RealOps;

impl FdOps for RealOps {
    fn dup(&mut self, fd: RawFd, cloexec: bool) -> Result<RawFd, Errno> {
        sys::direct::dup_lowest(fd, cloexec)
    }
    fn close(&mut self, fd: RawFd) {
        fdtable::mark(fd, fdtable::FREE);
        // SAFETY: the registry only closes descriptors it owns.
        unsafe { sys::close(fd) };
    }
    fn get_status_flags(&mut self, fd: RawFd) -> Result<i32, Errno> {
        sys::direct::status_flags(fd)
    }
    fn set_status_flags(&mut self, fd: RawFd, flags: i32) -> Result<(), Errno> {
        sys::direct::set_status_flags(fd, flags)
    }
    fn truncate(&mut self, fd: RawFd) -> Result<(), Errno> {
        // SAFETY: plain syscall wrapper, not hooked.
        if unsafe { libc::ftruncate(fd, 0) } < 0 {
            Err(sys::errno())
        } else {
            Ok(())
        }
    }
    fn rewind(&mut self, fd: RawFd) -> Result<(), Errno> {
        sys::direct::rewind(fd)
    }
}

/// What a descriptor's member entry caches (spec: the access mode never
/// changes and may be cached when it is added).
pub fn member_info(fd: RawFd) -> Result<MemberInfo, Errno> {
    let flags = sys::fcntl_int(fd, libc::F_GETFL, 0);
    if flags < 0 {
        return Err(sys::errno());
    }
    // SAFETY: st is plain data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a stat buffer.
    let regular =
        unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG;
    Ok(MemberInfo {
        status_flags: flags,
        regular,
    })
}

/// Move an owned descriptor to a close-on-exec number at or above
/// `OWNED_FD_BASE` (the original is closed).
pub fn move_high(fd: RawFd) -> Result<RawFd, Errno> {
    let new = dup_high(fd)?;
    // SAFETY: fd was handed to the shim, which now owns `new` instead.
    unsafe { sys::close(fd) };
    Ok(new)
}

/// A close-on-exec duplicate of `fd` at or above `OWNED_FD_BASE`; `fd` stays.
fn dup_high(fd: RawFd) -> Result<RawFd, Errno> {
    let mut new = sys::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, OWNED_FD_BASE);
    if new < 0 {
        // A low RLIMIT_NOFILE: any number will do.
        new = sys::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, 3);
    }
    if new < 0 { Err(sys::errno()) } else { Ok(new) }
}

// ---------------------------------------------------------------- logging

pub fn log_enabled() -> bool {
    config().log
}

/// One line to stderr, prefixed `fdset-shim:`.
pub fn log(line: &str) {
    let mut s = String::with_capacity(line.len() + 13);
    s.push_str("fdset-shim: ");
    s.push_str(line);
    s.push('\n');
    sys::write_all(2, s.as_bytes());
}

#[inline]
pub fn log_closed(closed: &[ClosedMember]) {
    if !closed.is_empty() && log_enabled() {
        log_closed_now(closed);
    }
}

#[cold]
fn log_closed_now(closed: &[ClosedMember]) {
    for c in closed {
        let why = if c.removed {
            "it was removed and no dup is open"
        } else {
            "no monitor is connected and no dup is open"
        };
        log(&format!("set {}: closed member fd {} ({why})", c.set, c.fd));
    }
}

fn accmode_name(flags: i32) -> &'static str {
    match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    }
}

/// The open(2) flags that decide or change what an fdset open does, as text
/// (QEMU's probes differ only in O_DIRECT/O_SYNC/O_NONBLOCK).
fn flags_text(flags: i32) -> String {
    const NAMED: &[(i32, &str)] = &[
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECT, "O_DIRECT"),
        (libc::O_SYNC, "O_SYNC"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
    ];
    let mut s = accmode_name(flags).to_string();
    for &(bit, name) in NAMED {
        // O_SYNC includes the O_DSYNC bit: test every bit of it.
        if flags & bit == bit {
            s.push('|');
            s.push_str(name);
        }
    }
    s
}

pub(crate) fn errno_name(e: Errno) -> String {
    // SAFETY: strerror returns a static string for any errno.
    let s = unsafe { CStr::from_ptr(libc::strerror(e)) };
    s.to_string_lossy().into_owned()
}

fn log_open(path: &[u8], flags: i32, outcome: &OpenOutcome) {
    let mut s = String::new();
    let _ = write!(
        s,
        "open {} flags={}: ",
        String::from_utf8_lossy(path),
        flags_text(flags)
    );
    let _ = match *outcome {
        OpenOutcome::Opened { set, member, dup } => {
            write!(s, "set {set}: dup of member fd {member} -> fd {dup}")
        }
        OpenOutcome::NoSuchSet { set } => write!(s, "ENOENT: set {set} does not exist"),
        OpenOutcome::NoMemberForMode {
            set,
            accmode,
            present,
        } => write!(
            s,
            "EACCES: {}",
            fdset_core::registry::no_member_text(set, accmode, present)
        ),
        OpenOutcome::SyncMismatch { set, member } => write!(
            s,
            "EINVAL: set {set} member fd {member} differs in O_SYNC from the request"
        ),
        OpenOutcome::SyscallFailed {
            set,
            member,
            errno,
            what,
        } => write!(
            s,
            "{}: set {set} member fd {member}: {what} failed",
            errno_name(errno)
        ),
    };
    log(&s);
}

// ---------------------------------------------------------------- paths

/// Whether `path` names an fd set. No lock, no allocation: this runs for
/// every path the program opens.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline(always)]
pub unsafe fn fdset_path(path: *const libc::c_char) -> Option<SetNumber> {
    if path.is_null() {
        return None;
    }
    // SAFETY: path is non-null and NUL-terminated.
    let first = unsafe { *path } as u8;
    if !PathConfig::may_match(first) {
        return None;
    }
    let paths = &config().paths;
    if paths.prefixes.is_empty() && paths.aliases.is_empty() {
        // Only /dev/fdset/ can match: compare in place up to the first
        // difference instead of measuring the whole path (issue 6: at most
        // 60 instructions added to an ordinary open).
        for (i, &want) in fdset_core::paths::FDSET_DIR.iter().enumerate().skip(1) {
            // SAFETY: bytes 0..i matched FDSET_DIR, which holds no NUL, so
            // byte i is still within the string.
            if unsafe { *path.add(i) } as u8 != want {
                return None;
            }
        }
        // SAFETY: the whole prefix matched, as above.
        return Some(unsafe { fdset_dir_number(path) });
    }
    // SAFETY: as above.
    unsafe { resolve_path(path, paths) }
}

/// The set number of a path that starts with `/dev/fdset/`: plain digits
/// read in place, anything else measured and parsed in full. Out of line,
/// like `resolve_path`.
///
/// # Safety
/// `path` is a NUL-terminated string that starts with `FDSET_DIR`.
#[inline(never)]
unsafe fn fdset_dir_number(path: *const libc::c_char) -> SetNumber {
    // SAFETY: per the contract, the byte after the prefix is within the string.
    let number = unsafe { path.add(fdset_core::paths::FDSET_DIR.len()) }.cast::<u8>();
    // SAFETY: as above.
    match unsafe { fdset_core::paths::plain_set_number(number) } {
        Some(n) => Ok(n),
        // SAFETY: as above.
        None => {
            fdset_core::paths::parse_set_number(unsafe { CStr::from_ptr(number.cast()) }.to_bytes())
        }
    }
}

/// The rest of `fdset_path`, out of line so that the common rejection above
/// costs the hooks no register saves.
///
/// # Safety
/// `path` is a non-null NUL-terminated string.
#[inline(never)]
unsafe fn resolve_path(path: *const libc::c_char, paths: &PathConfig) -> Option<SetNumber> {
    // SAFETY: per the contract; to_bytes only measures the string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    paths.resolve(bytes)
}

// ---------------------------------------------------------------- open

/// Open an fd set for a path that named one; returns the new fd or -1 with
/// errno set. On success errno is left as it was. `path` gives the path's
/// bytes for the log (measured only when logging).
pub fn open_set<'p>(path: impl Fn() -> &'p [u8], number: SetNumber, flags: i32) -> RawFd {
    let saved = sys::errno();
    let set = match number {
        Ok(n) => n,
        Err(()) => {
            if log_enabled() {
                let path = path();
                log(&format!(
                    "open {}: EINVAL: '{}' is not a set number (0..2147483647)",
                    String::from_utf8_lossy(path),
                    String::from_utf8_lossy(path.rsplit(|&b| b == b'/').next().unwrap_or(b""))
                ));
            }
            sys::set_errno(libc::EINVAL);
            return -1;
        }
    };
    let Some(mut st) = lock() else {
        // A signal handler interrupted this thread inside the shim.
        sys::set_errno(libc::EAGAIN);
        return -1;
    };
    let foreign = in_vfork_child();
    let mut closed = Vec::new();
    let outcome = if foreign {
        // A vfork child shares the parent's memory: open from a copy, and
        // record nothing (its dup is a plain descriptor of the child's).
        st.registry.clone().open(&mut RealOps, set, flags)
    } else {
        st.registry
            .open_with_closed(&mut RealOps, set, flags, &mut closed)
    };
    if let OpenOutcome::Opened { dup, .. } = outcome
        && !foreign
    {
        fdtable::mark(dup, fdtable::DUP);
    }
    drop(st);
    if log_enabled() {
        log_open(path(), flags, &outcome);
    }
    log_closed(&closed);
    match outcome.result() {
        Ok(fd) => {
            sys::set_errno(saved);
            fd
        }
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}

// ---------------------------------------------------------------- close

/// `close(fd)` for a descriptor the fd table marks (not `FREE`).
pub fn close_marked(fd: RawFd, kind: u8) -> i32 {
    match kind {
        fdtable::OWNED | fdtable::PENDING_CLOSE => {
            // The program must not close what is the shim's: to it the
            // number is not open.
            sys::set_errno(libc::EBADF);
            -1
        }
        _ => close_dup(fd),
    }
}

fn close_dup(fd: RawFd) -> i32 {
    if in_vfork_child() {
        // A vfork child: its descriptor table is its own, the registry is
        // the parent's.
        // SAFETY: the child's own close.
        return unsafe { sys::close(fd) };
    }
    let Some(mut st) = lock() else {
        // Inside a signal handler that interrupted the shim: the dup is
        // forgotten and closed when the interrupted call unlocks.
        if defer_close(fd) {
            return 0;
        }
        fdtable::mark(fd, fdtable::FREE);
        // SAFETY: the program's own close of its dup.
        return unsafe { sys::close(fd) };
    };
    let mut closed = Vec::new();
    let k = fdtable::kind(fd);
    if k == fdtable::OWNED || k == fdtable::PENDING_CLOSE {
        drop(st);
        sys::set_errno(libc::EBADF);
        return -1;
    }
    fdtable::mark(fd, fdtable::FREE);
    // SAFETY: the program closes its own descriptor; done under the lock so
    // that the number cannot be handed out again as a dup before the
    // registry forgets it.
    let r = unsafe { sys::close(fd) };
    let e = sys::errno();
    st.registry.forget_dup(&mut RealOps, fd, &mut closed);
    drop(st);
    log_closed(&closed);
    sys::set_errno(e);
    r
}

/// Before a libc call that will close `fd` by itself (`fclose`, `freopen`):
/// forget it if it is a dup; if it is the shim's own, move the shim's copy
/// away so that the call closes only the program's.
pub fn forget_before_implicit_close(fd: RawFd) {
    if fdtable::kind(fd) == fdtable::FREE || in_vfork_child() {
        return;
    }
    let Some(mut st) = lock() else {
        return;
    };
    let mut closed = Vec::new();
    match fdtable::kind(fd) {
        fdtable::DUP | fdtable::UNKNOWN => {
            st.registry.forget_dup(&mut RealOps, fd, &mut closed);
            fdtable::mark(fd, fdtable::FREE);
        }
        fdtable::OWNED => {
            let _ = disown(&mut st, fd);
        }
        _ => {}
    }
    drop(st);
    log_closed(&closed);
}

/// Hand the number `fd`, which the shim owns, over to the program: what is
/// there moves to another number, and `fd` stays open as the program's own
/// (a copy), for the caller's `dup2`/`fclose` to replace or close. Call with
/// the lock held.
pub fn disown(st: &mut State, fd: RawFd) -> Result<(), Errno> {
    let new = sys::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, OWNED_FD_BASE.max(fd + 1));
    let new = if new < 0 {
        sys::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, 3)
    } else {
        new
    };
    if new < 0 {
        return Err(sys::errno());
    }
    fdtable::mark(new, fdtable::OWNED);
    if !st.registry.renumber(fd, new) {
        if let Some(slot) = st.extra_owned.iter_mut().find(|f| **f == fd) {
            *slot = new;
        }
        crate::qmp_server::control_fd_moved(fd, new);
    }
    fdtable::mark(fd, fdtable::FREE);
    Ok(())
}

/// `dup2`/`dup3` (`flags` is `None` for dup2) onto a number the fd table marks.
pub fn dup_onto_marked(old: RawFd, new: RawFd, flags: Option<i32>) -> i32 {
    if in_vfork_child() {
        // SAFETY: a vfork child's own descriptors; the registry is not its.
        return unsafe {
            match flags {
                None => sys::dup2(old, new),
                Some(f) => sys::dup3(old, new, f),
            }
        };
    }
    let saved = sys::errno();
    let Some(mut st) = lock() else {
        sys::set_errno(libc::EAGAIN);
        return -1;
    };
    if old == new {
        drop(st);
        // dup2(x, x) checks x and closes nothing; dup3(x, x) is EINVAL.
        // SAFETY: plain libc calls with the caller's arguments.
        return unsafe {
            match flags {
                None => sys::dup2(old, new),
                Some(f) => sys::dup3(old, new, f),
            }
        };
    }
    if fdtable::kind(old) == fdtable::OWNED || fdtable::kind(old) == fdtable::PENDING_CLOSE {
        drop(st);
        sys::set_errno(libc::EBADF);
        return -1;
    }
    let kind = fdtable::kind(new);
    if kind == fdtable::OWNED
        && let Err(e) = disown(&mut st, new)
    {
        drop(st);
        sys::set_errno(e);
        return -1;
    }
    // SAFETY: plain libc calls with the caller's arguments.
    let r = unsafe {
        match flags {
            None => sys::dup2(old, new),
            Some(f) => sys::dup3(old, new, f),
        }
    };
    let e = sys::errno();
    let mut closed = Vec::new();
    if r < 0 && kind == fdtable::OWNED {
        // The copy left at `new` by disown() was not replaced.
        // SAFETY: that copy is nobody's.
        unsafe { sys::close(new) };
    }
    if r >= 0 && kind != fdtable::OWNED {
        // The dup that was at `new` was closed by the call.
        st.registry.forget_dup(&mut RealOps, new, &mut closed);
        fdtable::mark(new, fdtable::FREE);
    }
    drop(st);
    log_closed(&closed);
    sys::set_errno(if r >= 0 { saved } else { e });
    r
}

/// `close_range(first, last, flags)`: dups in the range are forgotten, the
/// shim's own descriptors are stepped over.
pub fn close_range(first: u32, last: u32, flags: i32) -> i32 {
    let known = libc::CLOSE_RANGE_CLOEXEC as i32 | libc::CLOSE_RANGE_UNSHARE as i32;
    if first > last || flags & !known != 0 || flags & libc::CLOSE_RANGE_CLOEXEC as i32 != 0 {
        // Errors, and marking close-on-exec (the shim's descriptors already
        // are), are the kernel's business alone.
        // SAFETY: plain libc call with the caller's arguments.
        return unsafe { sys::close_range(first, last, flags) };
    }
    let saved = sys::errno();
    let Some(mut st) = lock() else {
        sys::set_errno(libc::EAGAIN);
        return -1;
    };
    let in_range = |fd: RawFd| fd >= 0 && (fd as u32) >= first && (fd as u32) <= last;
    let mut owned: Vec<RawFd> = st
        .registry
        .member_fds()
        .chain(st.extra_owned.iter().copied())
        .filter(|&fd| in_range(fd))
        .collect();
    let mut pending = Vec::new();
    for slot in &PENDING {
        let fd = slot.load(Ordering::Acquire);
        if in_range(fd) {
            pending.push(fd);
        }
    }
    owned.extend(pending);
    owned.sort_unstable();
    owned.dedup();
    let foreign = in_vfork_child();
    let dups: Vec<RawFd> = if foreign {
        Vec::new()
    } else {
        st.registry.dup_fds().filter(|&fd| in_range(fd)).collect()
    };
    for &fd in &dups {
        fdtable::mark(fd, fdtable::FREE);
    }
    let mut r = 0;
    let mut e = 0;
    let mut lo = first;
    for &fd in &owned {
        let fd = fd as u32;
        if fd > lo {
            // SAFETY: closes only numbers that are not the shim's.
            if unsafe { sys::close_range(lo, fd - 1, flags) } < 0 && r == 0 {
                r = -1;
                e = sys::errno();
            }
        }
        lo = fd.saturating_add(1);
        if fd == u32::MAX {
            break;
        }
    }
    if owned.last().is_none_or(|&l| (l as u32) < last) && lo <= last {
        // SAFETY: as above.
        if unsafe { sys::close_range(lo, last, flags) } < 0 && r == 0 {
            r = -1;
            e = sys::errno();
        }
    }
    let mut closed = Vec::new();
    for fd in dups {
        st.registry.forget_dup(&mut RealOps, fd, &mut closed);
    }
    drop(st);
    log_closed(&closed);
    sys::set_errno(if r == 0 { saved } else { e });
    r
}

/// `closefrom(low)`: `close_range(low, ~0U, 0)`, falling back to closing
/// one by one when the kernel has no close_range.
pub fn closefrom(low: i32) {
    let low = low.max(0) as u32;
    let saved = sys::errno();
    if close_range(low, u32::MAX, 0) < 0 && sys::errno() == libc::ENOSYS {
        // SAFETY: getrlimit fills a plain struct.
        let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer.
        let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
            rl.rlim_cur.min(fdtable::TABLE_SIZE as u64) as u32
        } else {
            1024
        };
        for fd in low..max {
            let fd = fd as i32;
            let k = fdtable::kind(fd);
            if k == fdtable::FREE {
                // SAFETY: closing the program's own numbers, as closefrom would.
                unsafe { sys::close(fd) };
            } else if k != fdtable::OWNED {
                close_marked(fd, k);
            }
        }
    }
    sys::set_errno(saved);
}

/// Put dup `fd` at number `target` (which the program's stream holds) and
/// close `fd`; the registry follows. Returns `target` or -1.
pub fn move_dup(fd: RawFd, target: RawFd, cloexec: bool) -> RawFd {
    let Some(mut st) = lock() else {
        sys::set_errno(libc::EAGAIN);
        return -1;
    };
    let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
    // SAFETY: both numbers are open; target is the stream's.
    if unsafe { sys::dup3(fd, target, flags) } < 0 {
        let e = sys::errno();
        drop(st);
        close_marked(fd, fdtable::kind(fd));
        sys::set_errno(e);
        return -1;
    }
    st.registry.renumber_dup(fd, target);
    fdtable::mark(target, fdtable::DUP);
    fdtable::mark(fd, fdtable::FREE);
    // SAFETY: the old number of the dup, now held at target.
    unsafe { sys::close(fd) };
    target
}

// ---------------------------------------------------------------- launch

/// Take launch-time members (`FDSET_ADD_FD`) into the registry. Every spec is
/// checked first, so that a bad one stops the program before any fd changes.
pub fn add_launch_sets(specs: &[fdset_core::launch::add_fd::AddFdSpec]) -> Result<(), String> {
    let inheritable = |fd: i32| {
        let f = sys::fcntl_int(fd, libc::F_GETFD, 0);
        f >= 0 && f & libc::FD_CLOEXEC == 0
    };
    let mut checked = Vec::with_capacity(specs.len());
    for spec in specs {
        let (fd, set) = spec.check(inheritable).map_err(str::to_string)?;
        checked.push((fd, set, spec.opaque.clone()));
    }
    let Some(mut st) = lock() else {
        return Err("internal error: registry locked at start-up".to_string());
    };
    for (fd, set, opaque) in &checked {
        let info =
            member_info(*fd).map_err(|_| fdset_core::launch::add_fd::FD_INVALID.to_string())?;
        let owned =
            dup_high(*fd).map_err(|e| format!("cannot duplicate fd {fd}: {}", errno_name(e)))?;
        fdtable::mark(owned, fdtable::OWNED);
        st.registry
            .add_member(Some(*set), owned, opaque.clone(), info);
    }
    // As QEMU does, the originals are closed only once every spec has its
    // duplicate, so one fd named in several specs is a member of each set.
    let mut originals: Vec<RawFd> = checked.iter().map(|c| c.0).collect();
    originals.sort_unstable();
    originals.dedup();
    for fd in originals {
        // SAFETY: the inherited fd was handed to the shim, which keeps duplicates.
        unsafe { sys::close(fd) };
    }
    Ok(())
}

// ---------------------------------------------------------------- fork

/// The process the registry belongs to. A child made by `vfork` (or a raw
/// `clone` that shares memory) runs hooks with the parent's memory: there,
/// nothing may change the registry or the fd table.
static OWNER_PID: AtomicI32 = AtomicI32::new(0);

pub fn record_owner_pid() {
    // SAFETY: no preconditions.
    OWNER_PID.store(unsafe { libc::getpid() }, Ordering::Release);
}

/// Whether this hook runs in a process other than the registry's owner
/// (exact: one `getpid` system call).
pub fn foreign_process() -> bool {
    // SAFETY: no preconditions.
    let pid = unsafe { libc::getpid() };
    pid != OWNER_PID.load(Ordering::Acquire)
}

/// `vfork` calls under way in this address space (the shim's `vfork`
/// counts them). Only while one is, can a hook run in a child that shares
/// the registry's memory, so the hot paths ask `getpid` only then.
pub static VFORKS_ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// [`foreign_process`] for the hot paths: free unless a `vfork` is under
/// way. (A child of a raw `clone` without `CLONE_VM` has its own copy of
/// the registry, which it may change.)
#[inline]
pub fn in_vfork_child() -> bool {
    if cfg!(target_arch = "x86_64") && VFORKS_ACTIVE.load(Ordering::Acquire) == 0 {
        return false;
    }
    foreign_process()
}

/// `pthread_atfork` handlers: the lock is taken before the fork so that the
/// child's copy of the registry is consistent and unlocked.
static FORK_HELD: AtomicUsize = AtomicUsize::new(0);

extern "C" fn atfork_prepare() {
    if let Some(l) = lock() {
        // Held across fork(); released by the parent and child handlers.
        std::mem::forget(l);
        FORK_HELD.store(1, Ordering::Release);
    }
}

fn release_after_fork() {
    if FORK_HELD.swap(0, Ordering::AcqRel) == 1 {
        // SAFETY: this thread took the lock in atfork_prepare and forgot the guard.
        unsafe { STATE.force_unlock() };
    }
}

extern "C" fn atfork_parent() {
    release_after_fork();
}

extern "C" fn atfork_child() {
    record_owner_pid();
    release_after_fork();
    // Only this thread exists in the child.
    if let Some(mut st) = lock() {
        // The child has no monitor of its own and nobody who could remove
        // its sets: they stay in use for its life (spec section 7).
        st.registry.child_after_fork();
        let control = std::mem::take(&mut st.extra_owned);
        for fd in control {
            fdtable::mark(fd, fdtable::FREE);
            // SAFETY: the child's copy of a control socket is not served.
            unsafe { sys::close(fd) };
        }
    }
    crate::qmp_server::after_fork_child();
}

pub fn register_atfork() {
    // SAFETY: the handlers are plain extern "C" functions that live forever.
    unsafe {
        libc::pthread_atfork(
            Some(atfork_prepare),
            Some(atfork_parent),
            Some(atfork_child),
        );
    }
}
