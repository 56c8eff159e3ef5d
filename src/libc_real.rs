//! The real libc functions behind the hooks, resolved with
//! `dlsym(RTLD_NEXT, name)` once, by the constructor ([`resolve_all`]).
//!
//! Each function's slot holds the address to call. It starts at a stub that
//! resolves the symbol, stores the address (or that of a function failing
//! with `ENOSYS` when libc lacks it) and calls it, so a call that comes
//! before the constructor (from another library's constructor) works; once
//! resolved, a call is one indirect jump with nothing to check.
//!
//! Shim code never calls `libc::open`/`libc::close`/... directly: those go
//! through the PLT and would land in the shim's own hooks.

use libc::{FILE, c_char, c_int, c_uint, c_void, mode_t};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Resolve `name` (NUL-terminated) in the libraries after this one into
/// `slot`; `missing` when it is not there. Returns what was stored.
fn resolve_slot(slot: &AtomicPtr<()>, name: &'static [u8], missing: *mut ()) -> *mut () {
    // SAFETY: name is NUL-terminated; dlsym has no other precondition.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) };
    let p = if p.is_null() { missing } else { p.cast() };
    slot.store(p, Ordering::Relaxed);
    p
}

/// Resolve every real function now (the constructor, before `main`): the
/// first call of each, perhaps from a signal handler, then calls no `dlsym`.
pub fn resolve_all() {
    open_fns::resolve_all();
    int_fns::resolve_all();
    path_fns::resolve_all();
    exec_fns::resolve_all();
    file_action_fns::resolve_all();
    look_fns::resolve_all();
    resolve(&SYSCALL_SLOT, b"syscall\0");
}

/// The address of libc's `name` in `slot`, looked up once (1 marks
/// "looked up, absent"): `syscall`'s slot is resolved by [`resolve_all`]
/// and, for a call before the constructor, on first use.
fn resolve(slot: &AtomicUsize, name: &'static [u8]) -> usize {
    let cached = slot.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: name is NUL-terminated; dlsym has no other precondition.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) } as usize;
    // 1 marks "looked up, absent" so the lookup is not repeated.
    let v = if p == 0 { 1 } else { p };
    slot.store(v, Ordering::Relaxed);
    v
}

/// The slots of one group of functions: per function a module with its
/// slot, its stub and its `ENOSYS` stand-in. `$fnty` is the type of the
/// function the slot holds (for the open family, C-variadic); the stub and
/// the stand-in take the same arguments as named ones.
macro_rules! real_slots {
    ($group:ident; $( $name:ident = $sym:literal : ($($arg:ident : $ty:ty),*) -> $ret:ty, as $fnty:ty, missing $miss:expr ;)*) => {
        mod $group {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[allow(non_snake_case)]
                pub(super) mod $name {
                    use super::*;
                    pub(in super::super) type Real = $fnty;

                    static SLOT: AtomicPtr<()> = AtomicPtr::new(stub as *mut ());

                    /// What to call: libc's function, or until resolved the stub.
                    #[inline(always)]
                    pub(in super::super) fn get() -> Real {
                        // SAFETY: SLOT only ever holds the address of `stub`,
                        // of `missing` or what dlsym returned for this symbol,
                        // each a function taking these arguments (see
                        // `real_open_fns!` for the variadic ones).
                        unsafe { std::mem::transmute::<*mut (), Real>(SLOT.load(Ordering::Relaxed)) }
                    }

                    pub(in super::super) fn resolve() {
                        resolve_slot(&SLOT, concat!($sym, "\0").as_bytes(), missing as *mut ());
                    }

                    /// The first call, before the constructor resolved the symbol.
                    unsafe extern "C-unwind" fn stub($($arg: $ty),*) -> $ret {
                        resolve();
                        // SAFETY: the caller's arguments, for what the slot holds now.
                        unsafe { get()($($arg),*) }
                    }

                    /// libc has no such function.
                    unsafe extern "C-unwind" fn missing($(_: $ty),*) -> $ret {
                        set_errno(libc::ENOSYS);
                        $miss
                    }
                }
            )*

            pub(super) fn resolve_all() {
                $( $name::resolve(); )*
            }
        }
    };
}

macro_rules! real_fns {
    ($group:ident; $( $name:ident = $sym:literal : fn($($arg:ident : $ty:ty),*) -> $ret:ty, missing $miss:expr ;)*) => {
        $(
            /// # Safety
            /// As for the libc function of the same name.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                // SAFETY: the function the slot holds has this C prototype;
                // the caller keeps the libc function's contract.
                unsafe { $group::$name::get()($($arg),*) }
            }
        )*
        real_slots!($group; $( $name = $sym: ($($arg: $ty),*) -> $ret, as unsafe extern "C-unwind" fn($($ty),*) -> $ret, missing $miss; )*);
    };
}

/// Calls that take only integers: safe to call, so that SAFETY notes stay
/// where pointers are (what a descriptor number refers to is the caller's
/// business, as for `std::os::fd` numbers).
macro_rules! real_int_fns {
    ($group:ident; $( $name:ident = $sym:literal : fn($($arg:ident : $ty:ty),*) -> $ret:ty, missing $miss:expr ;)*) => {
        $(
            #[inline(always)]
            pub fn $name($($arg: $ty),*) -> $ret {
                // SAFETY: the function the slot holds has this C prototype,
                // and an integer-only call has no contract to keep.
                unsafe { $group::$name::get()($($arg),*) }
            }
        )*
        real_slots!($group; $( $name = $sym: ($($arg: $ty),*) -> $ret, as unsafe extern "C-unwind" fn($($ty),*) -> $ret, missing $miss; )*);
    };
}

/// The variadic opens: the mode travels as the one variadic argument. The
/// slot's stub and `ENOSYS` stand-in are not variadic (Rust cannot define
/// one) and take the mode as a third named argument: on the Linux ABIs the
/// shim supports (x86_64, aarch64) a variadic integer argument is passed
/// exactly where that named one is, as the hooks themselves rely on.
macro_rules! real_open_fns {
    ($group:ident; $( $name:ident = $sym:literal : fn($($arg:ident : $ty:ty),*; $mode:ident) ;)*) => {
        $(
            /// # Safety
            /// As for the libc function of the same name.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*, $mode: c_uint) -> c_int {
                // SAFETY: glibc's variadic open-family function (or its
                // stub, see above); the caller keeps its contract.
                unsafe { $group::$name::get()($($arg),*, $mode) }
            }
        )*
        real_slots!($group; $( $name = $sym: ($($arg: $ty),*, $mode: c_uint) -> c_int, as unsafe extern "C-unwind" fn($($ty),*, ...) -> c_int, missing -1; )*);
    };
}

real_open_fns! {
    open_fns;
    open = "open": fn(path: *const c_char, flags: c_int; mode);
    open64 = "open64": fn(path: *const c_char, flags: c_int; mode);
    openat = "openat": fn(dirfd: c_int, path: *const c_char, flags: c_int; mode);
    openat64 = "openat64": fn(dirfd: c_int, path: *const c_char, flags: c_int; mode);
}

real_int_fns! {
    int_fns;
    close = "close": fn(fd: c_int) -> c_int, missing -1;
    dup2 = "dup2": fn(old: c_int, new: c_int) -> c_int, missing -1;
    dup3 = "dup3": fn(old: c_int, new: c_int, flags: c_int) -> c_int, missing -1;
    close_range = "close_range": fn(first: c_uint, last: c_uint, flags: c_int) -> c_int, missing -1;
}

real_fns! {
    path_fns;
    open_2 = "__open_2": fn(path: *const c_char, flags: c_int) -> c_int, missing -1;
    open64_2 = "__open64_2": fn(path: *const c_char, flags: c_int) -> c_int, missing -1;
    openat_2 = "__openat_2": fn(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int, missing -1;
    openat64_2 = "__openat64_2": fn(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int, missing -1;
    creat = "creat": fn(path: *const c_char, mode: mode_t) -> c_int, missing -1;
    creat64 = "creat64": fn(path: *const c_char, mode: mode_t) -> c_int, missing -1;
    fopen = "fopen": fn(path: *const c_char, mode: *const c_char) -> *mut FILE, missing std::ptr::null_mut();
    fopen64 = "fopen64": fn(path: *const c_char, mode: *const c_char) -> *mut FILE, missing std::ptr::null_mut();
    freopen = "freopen": fn(path: *const c_char, mode: *const c_char, stream: *mut FILE) -> *mut FILE, missing std::ptr::null_mut();
    freopen64 = "freopen64": fn(path: *const c_char, mode: *const c_char, stream: *mut FILE) -> *mut FILE, missing std::ptr::null_mut();
    fdopen = "fdopen": fn(fd: c_int, mode: *const c_char) -> *mut FILE, missing std::ptr::null_mut();
    fclose = "fclose": fn(stream: *mut FILE) -> c_int, missing libc::EOF;
    opendir = "opendir": fn(path: *const c_char) -> *mut libc::DIR, missing std::ptr::null_mut();
    fdopendir = "fdopendir": fn(fd: c_int) -> *mut libc::DIR, missing std::ptr::null_mut();
    closedir = "closedir": fn(dir: *mut libc::DIR) -> c_int, missing -1;
    // The stat/access family; `stat64` is `stat` on 64-bit glibc.
    stat = "stat": fn(path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    stat64 = "stat64": fn(path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    lstat = "lstat": fn(path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    lstat64 = "lstat64": fn(path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    fstatat = "fstatat": fn(dirfd: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int, missing -1;
    fstatat64 = "fstatat64": fn(dirfd: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int, missing -1;
    xstat = "__xstat": fn(ver: c_int, path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    xstat64 = "__xstat64": fn(ver: c_int, path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    lxstat = "__lxstat": fn(ver: c_int, path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    lxstat64 = "__lxstat64": fn(ver: c_int, path: *const c_char, buf: *mut libc::stat) -> c_int, missing -1;
    fxstatat = "__fxstatat": fn(ver: c_int, dirfd: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int, missing -1;
    fxstatat64 = "__fxstatat64": fn(ver: c_int, dirfd: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int, missing -1;
    statx = "statx": fn(dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut libc::statx) -> c_int, missing -1;
    access = "access": fn(path: *const c_char, mode: c_int) -> c_int, missing -1;
    faccessat = "faccessat": fn(dirfd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int, missing -1;
    euidaccess = "euidaccess": fn(path: *const c_char, mode: c_int) -> c_int, missing -1;
    eaccess = "eaccess": fn(path: *const c_char, mode: c_int) -> c_int, missing -1;
}

#[inline]
pub fn errno() -> c_int {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

#[inline]
pub fn set_errno(e: c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e }
}

/// The descriptor operations of an fdset open, as direct system calls
/// (rustix): glibc's variadic `fcntl` wrapper costs more instructions than
/// the shim's own work there, and none of these is a cancellation point or
/// hooked. `errno` is left alone; failures return it.
pub mod direct {
    use rustix::fd::{BorrowedFd, IntoRawFd};
    use rustix::fs::{OFlags, SeekFrom};
    use std::os::fd::RawFd;

    fn errno(e: rustix::io::Errno) -> i32 {
        e.raw_os_error()
    }

    /// The registry's descriptors as rustix wants them. A number that is not
    /// open only makes the system call fail with `EBADF`; -1 (a niche of
    /// `BorrowedFd`) is refused the same way without a call.
    fn borrow(fd: RawFd) -> Result<BorrowedFd<'static>, i32> {
        if fd < 0 {
            return Err(libc::EBADF);
        }
        // SAFETY: not -1; the kernel checks the rest.
        Ok(unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// The lowest free number for the same open file description
    /// (`F_DUPFD_CLOEXEC` or `dup`, which is `F_DUPFD` from 0).
    pub fn dup_lowest(fd: RawFd, cloexec: bool) -> Result<RawFd, i32> {
        let fd = borrow(fd)?;
        let new = if cloexec {
            rustix::io::fcntl_dupfd_cloexec(fd, 0)
        } else {
            rustix::io::dup(fd)
        };
        new.map(IntoRawFd::into_raw_fd).map_err(errno)
    }

    /// `F_GETFL`.
    pub fn status_flags(fd: RawFd) -> Result<i32, i32> {
        rustix::fs::fcntl_getfl(borrow(fd)?)
            .map(|f| f.bits() as i32)
            .map_err(errno)
    }

    /// `F_SETFL`.
    pub fn set_status_flags(fd: RawFd, flags: i32) -> Result<(), i32> {
        rustix::fs::fcntl_setfl(borrow(fd)?, OFlags::from_bits_retain(flags as u32)).map_err(errno)
    }

    /// `lseek(fd, 0, SEEK_SET)`.
    pub fn rewind(fd: RawFd) -> Result<(), i32> {
        rustix::fs::seek(borrow(fd)?, SeekFrom::Start(0))
            .map(drop)
            .map_err(errno)
    }

    /// What kind of file `fd` is (`fstat`; a failure: `Other`).
    pub fn file_kind(fd: RawFd) -> fdset_core::registry::FileKind {
        use fdset_core::registry::FileKind;
        borrow(fd)
            .ok()
            .and_then(|fd| rustix::fs::fstat(fd).ok())
            .map_or(FileKind::Other, |st| FileKind::of_mode(st.st_mode))
    }
}

/// `close(2)` itself: like libc's `close`, but not a cancellation point
/// (the open and close of sets use it, so that they need not disable
/// cancellation; see `hooks::cancel`). -1 with errno set on failure.
/// Through libc's own `syscall` (its slot): `libc::syscall` would bind to
/// the shim's `syscall` hook, which sends `SYS_close` to the `close` hook.
pub fn close_nocancel(fd: c_int) -> c_int {
    // SAFETY: an integer-only system call.
    unsafe { syscall(libc::SYS_close, fd as libc::c_long, 0, 0, 0, 0, 0) as c_int }
}

/// `fcntl` is not hooked, so calling it directly is safe.
pub fn fcntl_int(fd: c_int, cmd: c_int, arg: c_int) -> c_int {
    // SAFETY: integer-argument fcntl commands only.
    unsafe { libc::fcntl(fd, cmd, arg) }
}

/// Write all of `buf` to `fd` (stderr logging); errors are ignored.
pub fn write_all(fd: c_int, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: buf is valid for its length. The system call itself, not
        // libc's write: no cancellation point inside the slow paths.
        let n = unsafe {
            syscall(
                libc::SYS_write,
                fd as libc::c_long,
                buf.as_ptr() as libc::c_long,
                buf.len() as libc::c_long,
                0,
                0,
                0,
            )
        };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return;
        }
        if n == 0 {
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// Program-starting functions: the shim wraps them to carry the sets
/// (spec section 7).
pub type CharPP = *const *const c_char;

real_fns! {
    exec_fns;
    execve = "execve": fn(path: *const c_char, argv: CharPP, envp: CharPP) -> c_int, missing -1;
    execv = "execv": fn(path: *const c_char, argv: CharPP) -> c_int, missing -1;
    execvp = "execvp": fn(file: *const c_char, argv: CharPP) -> c_int, missing -1;
    execvpe = "execvpe": fn(file: *const c_char, argv: CharPP, envp: CharPP) -> c_int, missing -1;
    execveat = "execveat": fn(dirfd: c_int, path: *const c_char, argv: CharPP, envp: CharPP, flags: c_int) -> c_int, missing -1;
    fexecve = "fexecve": fn(fd: c_int, argv: CharPP, envp: CharPP) -> c_int, missing -1;
    posix_spawn = "posix_spawn": fn(pid: *mut libc::pid_t, path: *const c_char, fa: *const libc::posix_spawn_file_actions_t, attr: *const libc::posix_spawnattr_t, argv: CharPP, envp: CharPP) -> c_int, missing libc::ENOSYS;
    posix_spawnp = "posix_spawnp": fn(pid: *mut libc::pid_t, file: *const c_char, fa: *const libc::posix_spawn_file_actions_t, attr: *const libc::posix_spawnattr_t, argv: CharPP, envp: CharPP) -> c_int, missing libc::ENOSYS;
    system = "system": fn(cmd: *const c_char) -> c_int, missing -1;
    popen = "popen": fn(cmd: *const c_char, mode: *const c_char) -> *mut FILE, missing std::ptr::null_mut();
    pclose = "pclose": fn(stream: *mut FILE) -> c_int, missing -1;
    underscore_fork = "_Fork": fn() -> libc::pid_t, missing -1;
    clone = "clone": fn(f: CloneFn, stack: *mut libc::c_void, flags: c_int, arg: *mut libc::c_void, parent_tid: *mut libc::pid_t, tls: *mut libc::c_void, child_tid: *mut libc::pid_t) -> c_int, missing -1;
    sigaction = "sigaction": fn(sig: c_int, act: *const libc::sigaction, old: *mut libc::sigaction) -> c_int, missing -1;
}

/// The function a `clone` child starts in.
pub type CloneFn = unsafe extern "C" fn(*mut libc::c_void) -> c_int;

/// `posix_spawn_file_actions_*`: the shim's own objects use these, so that
/// its hooks record only the program's.
type Fa = *mut libc::posix_spawn_file_actions_t;
real_fns! {
    file_action_fns;
    fa_init = "posix_spawn_file_actions_init": fn(fa: Fa) -> c_int, missing libc::ENOSYS;
    fa_destroy = "posix_spawn_file_actions_destroy": fn(fa: Fa) -> c_int, missing libc::ENOSYS;
    fa_addclose = "posix_spawn_file_actions_addclose": fn(fa: Fa, fd: c_int) -> c_int, missing libc::ENOSYS;
    fa_adddup2 = "posix_spawn_file_actions_adddup2": fn(fa: Fa, fd: c_int, newfd: c_int) -> c_int, missing libc::ENOSYS;
    fa_addopen = "posix_spawn_file_actions_addopen": fn(fa: Fa, fd: c_int, path: *const c_char, oflag: c_int, mode: mode_t) -> c_int, missing libc::ENOSYS;
    fa_addclosefrom = "posix_spawn_file_actions_addclosefrom_np": fn(fa: Fa, from: c_int) -> c_int, missing libc::ENOSYS;
    fa_addchdir = "posix_spawn_file_actions_addchdir_np": fn(fa: Fa, path: *const c_char) -> c_int, missing libc::ENOSYS;
    fa_addfchdir = "posix_spawn_file_actions_addfchdir_np": fn(fa: Fa, fd: c_int) -> c_int, missing libc::ENOSYS;
    fa_addtcsetpgrp = "posix_spawn_file_actions_addtcsetpgrp_np": fn(fa: Fa, tcfd: c_int) -> c_int, missing libc::ENOSYS;
}

// The calls that look at a path or change the file behind it without
// opening it (spec section 8). `ssize_t` is `isize`.
real_fns! {
    look_fns;
    getxattr = "getxattr": fn(path: *const c_char, name: *const c_char, value: *mut c_void, size: usize) -> isize, missing -1;
    lgetxattr = "lgetxattr": fn(path: *const c_char, name: *const c_char, value: *mut c_void, size: usize) -> isize, missing -1;
    listxattr = "listxattr": fn(path: *const c_char, list: *mut c_char, size: usize) -> isize, missing -1;
    llistxattr = "llistxattr": fn(path: *const c_char, list: *mut c_char, size: usize) -> isize, missing -1;
    readlink = "readlink": fn(path: *const c_char, buf: *mut c_char, size: usize) -> isize, missing -1;
    readlinkat = "readlinkat": fn(dirfd: c_int, path: *const c_char, buf: *mut c_char, size: usize) -> isize, missing -1;
    readlink_chk = "__readlink_chk": fn(path: *const c_char, buf: *mut c_char, size: usize, buflen: usize) -> isize, missing -1;
    readlinkat_chk = "__readlinkat_chk": fn(dirfd: c_int, path: *const c_char, buf: *mut c_char, size: usize, buflen: usize) -> isize, missing -1;
    realpath = "realpath": fn(path: *const c_char, resolved: *mut c_char) -> *mut c_char, missing std::ptr::null_mut();
    realpath_chk = "__realpath_chk": fn(path: *const c_char, resolved: *mut c_char, resolvedlen: usize) -> *mut c_char, missing std::ptr::null_mut();
    canonicalize_file_name = "canonicalize_file_name": fn(path: *const c_char) -> *mut c_char, missing std::ptr::null_mut();
    chk_fail = "__chk_fail": fn() -> c_int, missing -1;
    truncate = "truncate": fn(path: *const c_char, length: libc::off_t) -> c_int, missing -1;
    truncate64 = "truncate64": fn(path: *const c_char, length: libc::off64_t) -> c_int, missing -1;
    utimensat = "utimensat": fn(dirfd: c_int, path: *const c_char, times: *const libc::timespec, flags: c_int) -> c_int, missing -1;
    chmod = "chmod": fn(path: *const c_char, mode: libc::mode_t) -> c_int, missing -1;
    fchmodat = "fchmodat": fn(dirfd: c_int, path: *const c_char, mode: libc::mode_t, flags: c_int) -> c_int, missing -1;
    chown = "chown": fn(path: *const c_char, uid: libc::uid_t, gid: libc::gid_t) -> c_int, missing -1;
    lchown = "lchown": fn(path: *const c_char, uid: libc::uid_t, gid: libc::gid_t) -> c_int, missing -1;
    fchownat = "fchownat": fn(dirfd: c_int, path: *const c_char, uid: libc::uid_t, gid: libc::gid_t, flags: c_int) -> c_int, missing -1;
    utimes = "utimes": fn(path: *const c_char, times: *const libc::timeval) -> c_int, missing -1;
    lutimes = "lutimes": fn(path: *const c_char, times: *const libc::timeval) -> c_int, missing -1;
    futimesat = "futimesat": fn(dirfd: c_int, path: *const c_char, times: *const libc::timeval) -> c_int, missing -1;
    utime = "utime": fn(path: *const c_char, times: *const libc::utimbuf) -> c_int, missing -1;
    statfs = "statfs": fn(path: *const c_char, buf: *mut libc::statfs) -> c_int, missing -1;
    statfs64 = "statfs64": fn(path: *const c_char, buf: *mut libc::statfs64) -> c_int, missing -1;
    statvfs = "statvfs": fn(path: *const c_char, buf: *mut libc::statvfs) -> c_int, missing -1;
    statvfs64 = "statvfs64": fn(path: *const c_char, buf: *mut libc::statvfs64) -> c_int, missing -1;
    chdir = "chdir": fn(path: *const c_char) -> c_int, missing -1;
}

/// libc's `syscall` once resolved (0: not yet, 1: absent); the x86_64
/// hook jumps to it directly (`hooks::syscall`).
pub static SYSCALL_SLOT: AtomicUsize = AtomicUsize::new(0);

/// libc's `syscall`, called as the C-variadic function it is, with all six
/// argument words (spec section 8: other numbers pass through untouched).
/// glibc's `syscall` moves exactly six words into the system call's
/// registers whatever the caller passed, so passing six is what it sees
/// from any caller.
///
/// # Safety
/// As for the system call `nr` with those arguments.
#[allow(clippy::too_many_arguments)]
pub unsafe fn syscall(
    nr: libc::c_long,
    a1: libc::c_long,
    a2: libc::c_long,
    a3: libc::c_long,
    a4: libc::c_long,
    a5: libc::c_long,
    a6: libc::c_long,
) -> libc::c_long {
    let p = resolve(&SYSCALL_SLOT, b"syscall\0");
    if p == 1 {
        set_errno(libc::ENOSYS);
        return -1;
    }
    // SAFETY: p is glibc's `long syscall(long number, ...)`.
    unsafe {
        let f: unsafe extern "C" fn(libc::c_long, ...) -> libc::c_long = std::mem::transmute(p);
        f(nr, a1, a2, a3, a4, a5, a6)
    }
}
