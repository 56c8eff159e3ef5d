//! The exported C symbols. Each one only decodes its arguments, takes the
//! fast path straight to libc when the path or descriptor is none of the
//! shim's business, and otherwise calls into `shim`. No panic crosses into C.

use crate::fdtable;
use crate::shim;
use crate::stat_family;
use crate::sys;
use libc::{FILE, c_char, c_int, c_uint, mode_t};
use std::ffi::CStr;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Run a slow path; a panic (a bug) becomes `fail` with errno EIO instead of
/// unwinding into C.
#[inline]
fn guarded<R>(fail: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            sys::set_errno(libc::EIO);
            fail
        }
    }
}

/// The variadic mode argument exists only with O_CREAT or O_TMPFILE; reading
/// it otherwise would read whatever the register holds.
#[inline]
fn mode_if_needed(flags: c_int, mode: c_uint) -> c_uint {
    if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        mode
    } else {
        0
    }
}

/// # Safety
/// `path` is a NUL-terminated string (checked non-null by the caller).
unsafe fn open_fdset(
    path: *const c_char,
    number: fdset_core::paths::SetNumber,
    flags: c_int,
) -> c_int {
    guarded(-1, || {
        // SAFETY: fdset_path only matches non-null NUL-terminated paths.
        shim::open_set(|| unsafe { CStr::from_ptr(path) }.to_bytes(), number, flags)
    })
}

// Rust cannot define a C-variadic function; on the Linux ABIs this shim
// supports (x86_64, aarch64) the one variadic integer argument of open()
// arrives exactly where a third named argument would.
macro_rules! open_hook {
    ($name:ident, $real:path) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
            // SAFETY: path comes from the caller of open().
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(path, flags, mode_if_needed(flags, mode)) },
                Some(n) => unsafe { open_fdset(path, n, flags) },
            }
        }
    };
}

macro_rules! openat_hook {
    ($name:ident, $real:path) => {
        /// An absolute fdset path ignores `dirfd`, as the kernel would.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: c_int,
            path: *const c_char,
            flags: c_int,
            mode: c_uint,
        ) -> c_int {
            // SAFETY: path comes from the caller of openat().
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(dirfd, path, flags, mode_if_needed(flags, mode)) },
                Some(n) => unsafe { open_fdset(path, n, flags) },
            }
        }
    };
}

macro_rules! open2_hook {
    ($name:ident, $real:path) => {
        /// `_FORTIFY_SOURCE` variant of open without a mode.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(path, flags) },
                Some(n) => unsafe { open_fdset(path, n, flags) },
            }
        }
    };
}

macro_rules! openat2_hook {
    ($name:ident, $real:path) => {
        /// `_FORTIFY_SOURCE` variant of openat without a mode.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(dirfd, path, flags) },
                Some(n) => unsafe { open_fdset(path, n, flags) },
            }
        }
    };
}

macro_rules! creat_hook {
    ($name:ident, $real:path) => {
        /// `creat(p, m)` is `open(p, O_CREAT|O_WRONLY|O_TRUNC, m)`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: mode_t) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(path, mode) },
                Some(n) => unsafe {
                    open_fdset(path, n, libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC)
                },
            }
        }
    };
}

open_hook!(open, sys::open);
open_hook!(open64, sys::open64);
openat_hook!(openat, sys::openat);
openat_hook!(openat64, sys::openat64);
open2_hook!(__open_2, sys::open_2);
open2_hook!(__open64_2, sys::open64_2);
openat2_hook!(__openat_2, sys::openat_2);
openat2_hook!(__openat64_2, sys::openat64_2);
creat_hook!(creat, sys::creat);
creat_hook!(creat64, sys::creat64);

/// open(2) flags for an fopen mode string, as glibc reads it; `None` for a
/// mode glibc rejects (EINVAL).
fn fopen_flags(mode: &[u8]) -> Option<c_int> {
    let (mut acc, mut extra) = match mode.first()? {
        b'r' => (libc::O_RDONLY, 0),
        b'w' => (libc::O_WRONLY, libc::O_CREAT | libc::O_TRUNC),
        b'a' => (libc::O_WRONLY, libc::O_CREAT | libc::O_APPEND),
        _ => return None,
    };
    for &c in mode[1..].iter().take(6) {
        match c {
            b'+' => acc = libc::O_RDWR,
            b'x' => extra |= libc::O_EXCL,
            b'e' => extra |= libc::O_CLOEXEC,
            b',' => break,
            _ => {}
        }
    }
    Some(acc | extra)
}

/// # Safety
/// `path` and `mode` are NUL-terminated strings.
unsafe fn fopen_fdset(
    path: *const c_char,
    number: fdset_core::paths::SetNumber,
    mode: *const c_char,
) -> *mut FILE {
    guarded(std::ptr::null_mut(), || {
        if mode.is_null() {
            sys::set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        }
        // SAFETY: caller's NUL-terminated strings.
        let (p, m) = unsafe {
            (
                CStr::from_ptr(path).to_bytes(),
                CStr::from_ptr(mode).to_bytes(),
            )
        };
        let Some(flags) = fopen_flags(m) else {
            sys::set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        };
        let fd = shim::open_set(|| p, number, flags);
        if fd < 0 {
            return std::ptr::null_mut();
        }
        let saved = sys::errno();
        // SAFETY: fd is a fresh descriptor; mode is the caller's.
        let fp = unsafe { sys::fdopen(fd, mode) };
        if fp.is_null() {
            let e = sys::errno();
            shim::close_marked(fd, fdtable::kind(fd));
            sys::set_errno(e);
        } else {
            sys::set_errno(saved);
        }
        fp
    })
}

macro_rules! fopen_hook {
    ($name:ident, $real:path) => {
        /// glibc's stdio opens through internal calls no preload sees.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: *const c_char) -> *mut FILE {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(path, mode) },
                Some(n) => unsafe { fopen_fdset(path, n, mode) },
            }
        }
    };
}

fopen_hook!(fopen, sys::fopen);
fopen_hook!(fopen64, sys::fopen64);

/// `freopen` closes the stream's descriptor internally: forget it first if
/// it was a dup. An fdset path is opened by the shim and put in place of the
/// descriptor that `freopen("/dev/null")` gave the stream.
///
/// # Safety
/// As for freopen.
unsafe fn freopen_any(
    real: unsafe fn(*const c_char, *const c_char, *mut FILE) -> *mut FILE,
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    if stream.is_null() {
        // SAFETY: libc reports the error.
        return unsafe { real(path, mode, stream) };
    }
    // SAFETY: stream is the caller's FILE.
    let old = unsafe { libc::fileno(stream) };
    // SAFETY: path from the caller.
    let number = unsafe { shim::fdset_path(path) };
    if fdtable::kind(old) == fdtable::FREE && number.is_none() {
        // SAFETY: plain pass-through.
        return unsafe { real(path, mode, stream) };
    }
    guarded(std::ptr::null_mut(), || {
        let Some(number) = number else {
            shim::forget_before_implicit_close(old);
            // SAFETY: plain pass-through.
            return unsafe { real(path, mode, stream) };
        };
        if mode.is_null() {
            sys::set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        }
        // SAFETY: caller's NUL-terminated strings.
        let (p, m) = unsafe {
            (
                CStr::from_ptr(path).to_bytes(),
                CStr::from_ptr(mode).to_bytes(),
            )
        };
        let Some(flags) = fopen_flags(m) else {
            sys::set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        };
        let fd = shim::open_set(|| p, number, flags);
        if fd < 0 {
            // C: the original stream is closed even when the open fails.
            let e = sys::errno();
            shim::forget_before_implicit_close(old);
            // SAFETY: the caller's stream, closed as freopen would.
            unsafe { sys::fclose(stream) };
            sys::set_errno(e);
            return std::ptr::null_mut();
        }
        shim::forget_before_implicit_close(old);
        // /dev/null accepts any mode but 'x' (it exists).
        let null_mode: Vec<u8> = m
            .iter()
            .copied()
            .filter(|&c| c != b'x')
            .chain([0])
            .collect();
        // SAFETY: a valid path and mode; stream is the caller's.
        let fp = unsafe { real(c"/dev/null".as_ptr(), null_mode.as_ptr().cast(), stream) };
        if fp.is_null() {
            let e = sys::errno();
            shim::close_marked(fd, fdtable::kind(fd));
            sys::set_errno(e);
            return fp;
        }
        // SAFETY: fp is the reopened stream.
        let target = unsafe { libc::fileno(fp) };
        if shim::move_dup(fd, target, flags & libc::O_CLOEXEC != 0) < 0 {
            return std::ptr::null_mut();
        }
        fp
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn freopen(
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    // SAFETY: forwarded as given.
    unsafe { freopen_any(sys::freopen, path, mode, stream) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn freopen64(
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    // SAFETY: forwarded as given.
    unsafe { freopen_any(sys::freopen64, path, mode, stream) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let kind = fdtable::kind(fd);
    if kind == fdtable::FREE {
        // SAFETY: the program's own descriptor.
        return unsafe { sys::close(fd) };
    }
    guarded(-1, || shim::close_marked(fd, kind))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fclose(stream: *mut FILE) -> c_int {
    if !stream.is_null() {
        // SAFETY: the caller's stream.
        let fd = unsafe { libc::fileno(stream) };
        if fdtable::kind(fd) != fdtable::FREE {
            guarded((), || shim::forget_before_implicit_close(fd));
        }
    }
    // SAFETY: the caller's stream.
    unsafe { sys::fclose(stream) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if fdtable::kind(new) == fdtable::FREE && fdtable::kind(old) == fdtable::FREE {
        // SAFETY: the program's own descriptors.
        return unsafe { sys::dup2(old, new) };
    }
    guarded(-1, || shim::dup_onto_marked(old, new, None))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if fdtable::kind(new) == fdtable::FREE && fdtable::kind(old) == fdtable::FREE {
        // SAFETY: the program's own descriptors.
        return unsafe { sys::dup3(old, new, flags) };
    }
    guarded(-1, || shim::dup_onto_marked(old, new, Some(flags)))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    guarded(-1, || shim::close_range(first, last, flags))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn closefrom(lowfd: c_int) {
    guarded((), || shim::closefrom(lowfd))
}

// ------------------------------------------------ stat/access family (issue 4)

/// # Safety
/// `path` is non-null and NUL-terminated (fdset_path matched it).
unsafe fn path_bytes<'a>(path: *const c_char) -> &'a [u8] {
    // SAFETY: as documented.
    unsafe { CStr::from_ptr(path) }.to_bytes()
}

macro_rules! stat_hook {
    ($name:ident, $real:path) => {
        /// An fdset path answers with `fstat` of the set's newest member.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut libc::stat) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(path, buf) },
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    stat_family::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

macro_rules! fstatat_hook {
    ($name:ident, $real:path) => {
        /// An absolute fdset path ignores `dirfd` and `flags`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: c_int,
            path: *const c_char,
            buf: *mut libc::stat,
            flags: c_int,
        ) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(dirfd, path, buf, flags) },
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    stat_family::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

/// glibc's `_STAT_VER` values whose buffer is the kernel's `struct stat`
/// (`_STAT_VER_KERNEL` 0, `_STAT_VER_LINUX` 1); glibc rejects others.
fn stat_version_ok(ver: c_int) -> bool {
    ver == 0 || ver == 1
}

macro_rules! xstat_hook {
    ($name:ident, $real:path) => {
        /// glibc before 2.33 compiled `stat()` into a call to this.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            path: *const c_char,
            buf: *mut libc::stat,
        ) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(ver, path, buf) },
                Some(_) if !stat_version_ok(ver) => {
                    sys::set_errno(libc::EINVAL);
                    -1
                }
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    stat_family::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

macro_rules! fxstatat_hook {
    ($name:ident, $real:path) => {
        /// glibc before 2.33 compiled `fstatat()` into a call to this.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            dirfd: c_int,
            path: *const c_char,
            buf: *mut libc::stat,
            flags: c_int,
        ) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(ver, dirfd, path, buf, flags) },
                Some(_) if !stat_version_ok(ver) => {
                    sys::set_errno(libc::EINVAL);
                    -1
                }
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    stat_family::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

stat_hook!(stat, sys::stat);
stat_hook!(stat64, sys::stat64);
stat_hook!(lstat, sys::lstat);
stat_hook!(lstat64, sys::lstat64);
fstatat_hook!(fstatat, sys::fstatat);
fstatat_hook!(fstatat64, sys::fstatat64);
xstat_hook!(__xstat, sys::xstat);
xstat_hook!(__xstat64, sys::xstat64);
xstat_hook!(__lxstat, sys::lxstat);
xstat_hook!(__lxstat64, sys::lxstat64);
fxstatat_hook!(__fxstatat, sys::fxstatat);
fxstatat_hook!(__fxstatat64, sys::fxstatat64);

/// `statx` (coreutils' `stat` and `ls`): the member's own statx.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    buf: *mut libc::statx,
) -> c_int {
    // SAFETY: path comes from the caller.
    match unsafe { shim::fdset_path(path) } {
        None => unsafe { sys::statx(dirfd, path, flags, mask, buf) },
        // SAFETY: fdset_path only matches NUL-terminated paths.
        Some(n) => guarded(-1, || unsafe {
            stat_family::statx_set(path_bytes(path), n, flags, mask, buf)
        }),
    }
}

macro_rules! access_hook {
    ($name:ident, $real:path, $effective:expr) => {
        /// `R_OK`/`W_OK` by the modes the set serves, `X_OK` by the file's mode.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: c_int) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { shim::fdset_path(path) } {
                None => unsafe { $real(path, mode) },
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || {
                    stat_family::access_set(
                        stringify!($name),
                        unsafe { path_bytes(path) },
                        n,
                        mode,
                        $effective,
                    )
                }),
            }
        }
    };
}

access_hook!(access, sys::access, false);
access_hook!(euidaccess, sys::euidaccess, true);
access_hook!(eaccess, sys::eaccess, true);

/// `faccessat`: `AT_EACCESS` checks with the effective ids.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faccessat(
    dirfd: c_int,
    path: *const c_char,
    mode: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: path comes from the caller.
    match unsafe { shim::fdset_path(path) } {
        None => unsafe { sys::faccessat(dirfd, path, mode, flags) },
        // SAFETY: fdset_path only matches NUL-terminated paths.
        Some(n) => guarded(-1, || {
            let effective = flags & libc::AT_EACCESS != 0;
            stat_family::access_set("faccessat", unsafe { path_bytes(path) }, n, mode, effective)
        }),
    }
}

// ------------------------------------------------------------ exec and spawn
// Programs started from a preloaded program see its sets (spec section 7).

use crate::exec_carry::run_exec;
use crate::spawn_carry;
use crate::sys::CharPP;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn execve(path: *const c_char, argv: CharPP, envp: CharPP) -> c_int {
    guarded(-1, || unsafe {
        run_exec(
            envp,
            |e| sys::execve(path, argv, e),
            || sys::execve(path, argv, envp),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn execv(path: *const c_char, argv: CharPP) -> c_int {
    guarded(-1, || unsafe {
        run_exec(
            std::ptr::null(),
            |e| sys::execve(path, argv, e),
            || sys::execv(path, argv),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: CharPP) -> c_int {
    guarded(-1, || unsafe {
        run_exec(
            std::ptr::null(),
            |e| sys::execvpe(file, argv, e),
            || sys::execvp(file, argv),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: CharPP, envp: CharPP) -> c_int {
    guarded(-1, || unsafe {
        run_exec(
            envp,
            |e| sys::execvpe(file, argv, e),
            || sys::execvpe(file, argv, envp),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: CharPP,
    envp: CharPP,
    flags: c_int,
) -> c_int {
    guarded(-1, || unsafe {
        run_exec(
            envp,
            |e| sys::execveat(dirfd, path, argv, e, flags),
            || sys::execveat(dirfd, path, argv, envp, flags),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: CharPP, envp: CharPP) -> c_int {
    guarded(-1, || unsafe {
        run_exec(
            envp,
            |e| sys::fexecve(fd, argv, e),
            || sys::fexecve(fd, argv, envp),
        )
    })
}

/// `execl(path, arg0, ..., NULL)`: the trampoline hands over the variadic
/// list as an argv array.
unsafe extern "C" fn execl_list(path: *const c_char, argv: CharPP) -> c_int {
    // SAFETY: argv is the caller's NULL-terminated list.
    unsafe { execv(path, argv) }
}

/// `execle(path, arg0, ..., NULL, envp)`: envp follows the NULL.
unsafe extern "C" fn execle_list(path: *const c_char, argv: CharPP) -> c_int {
    let mut end = argv;
    // SAFETY: the list is NULL-terminated and envp follows it.
    unsafe {
        while !(*end).is_null() {
            end = end.add(1);
        }
        let envp = *(end.add(1)) as CharPP;
        execve(path, argv, envp)
    }
}

unsafe extern "C" fn execlp_list(file: *const c_char, argv: CharPP) -> c_int {
    // SAFETY: argv is the caller's NULL-terminated list.
    unsafe { execvp(file, argv) }
}

// Rust cannot define C-variadic functions. On x86_64 the variadic arguments
// after `path` are in rsi, rdx, rcx, r8, r9 and then on the caller's stack:
// pushing the five registers below the stack ones lays the whole list out as
// one array, whose address goes to the Rust function; the stack is put back
// before returning (the exec failed).
macro_rules! list_trampoline {
    ($name:ident, $imp:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[unsafe(naked)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name() {
            core::arch::naked_asm!(
                "pop r11",
                "push r9",
                "push r8",
                "push rcx",
                "push rdx",
                "push rsi",
                "mov rsi, rsp",
                "push r11",
                "call {imp}",
                "pop r11",
                "add rsp, 40",
                "push r11",
                "ret",
                imp = sym $imp,
            )
        }
    };
}

list_trampoline!(execl, execl_list);
list_trampoline!(execle, execle_list);
list_trampoline!(execlp, execlp_list);

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: CharPP,
    envp: CharPP,
) -> c_int {
    guarded(libc::EIO, || unsafe {
        spawn_carry::spawn(sys::posix_spawn, pid, path, fa, attr, argv, envp)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut libc::pid_t,
    file: *const c_char,
    fa: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: CharPP,
    envp: CharPP,
) -> c_int {
    guarded(libc::EIO, || unsafe {
        spawn_carry::spawn(sys::posix_spawnp, pid, file, fa, attr, argv, envp)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn system(cmd: *const c_char) -> c_int {
    if cmd.is_null() {
        // SAFETY: "is there a shell" query.
        return unsafe { sys::system(cmd) };
    }
    guarded(-1, || unsafe {
        spawn_carry::system(cmd).unwrap_or_else(|| sys::system(cmd))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn popen(cmd: *const c_char, mode: *const c_char) -> *mut FILE {
    guarded(std::ptr::null_mut(), || unsafe {
        spawn_carry::popen(cmd, mode).unwrap_or_else(|| sys::popen(cmd, mode))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pclose(stream: *mut FILE) -> c_int {
    guarded(-1, || unsafe {
        spawn_carry::pclose(stream).unwrap_or_else(|| sys::pclose(stream))
    })
}

// ------------------------------------------------------------------ vfork
// A vfork child runs on its parent's memory until it execs: hooks in it must
// not change the registry. Counting the vforks under way lets the hot paths
// skip the `getpid` that tells a vfork child apart (shim::in_vfork_child).

/// The error path of the trampoline: undo the count, set errno.
extern "C" fn vfork_failed(err: c_int) -> c_int {
    shim::VFORKS_ACTIVE.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    sys::set_errno(err);
    -1
}

/// `vfork` as glibc does it (the return address kept in a register, as the
/// child may overwrite the stack), around a count of vforks under way: the
/// parent decrements it when it resumes; the child returns 0 untouched.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfork() -> libc::pid_t {
    core::arch::naked_asm!(
        "lock inc qword ptr [rip + {active}]",
        "pop rdi",
        "mov eax, 58", // SYS_vfork
        "syscall",
        "push rdi",
        "test rax, rax",
        "jz 2f",
        "cmp rax, -4095",
        "jae 3f",
        "lock dec qword ptr [rip + {active}]",
        "2:",
        "ret",
        "3:",
        "neg eax",
        "mov edi, eax",
        "jmp {failed}",
        active = sym shim::VFORKS_ACTIVE,
        failed = sym vfork_failed,
    )
}
