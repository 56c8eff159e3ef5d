//! `open`, `openat`, `creat`, `fopen`, `freopen`, `opendir` and their
//! 64-bit and fortified twins: a set path gets a dup of a member (spec
//! section 2).

use super::{cancel, guarded};
use crate::libc_real;
use crate::state::fdtable::{self, FdKind};
use fdset_core::paths::SetNumber;
use libc::{FILE, c_char, c_int, c_uint, mode_t};
use std::ffi::CStr;

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

/// The slow path of every open-shaped hook: a dup of the set's member.
fn open_fdset<'p>(text: impl Fn() -> &'p [u8], number: SetNumber, flags: c_int) -> c_int {
    crate::ops::open::open_set(text, number, flags)
}

/// The same for the stream openers (`fopen`, `freopen`, `opendir`), which
/// have their path at hand: one instance of the open between them, kept
/// out of line, so that the open hooks' own stays as the compiler made it
/// before there were three.
#[inline(never)]
fn open_for_stream(path: &[u8], number: SetNumber, flags: c_int) -> c_int {
    // Signals held back as in the open hooks' slow paths (which hold them
    // for all of theirs): a handler that jumped out between the dup and its
    // record would leave a dup the registry does not know.
    crate::state::deferred_signals::holding(|| crate::ops::open::open_set(|| path, number, flags))
}

// Rust cannot define a C-variadic function; on the Linux ABIs this shim
// supports (x86_64, aarch64) the one variadic integer argument of open()
// arrives exactly where a third named argument would.
macro_rules! open_hook {
    ($name:ident, $real:path) => {
        path_hook! {
            fn $name(path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
            path: path;
            fast: $real(path, flags, mode_if_needed(flags, mode));
            real: $real;
            cancellation direct;
            fail: -1;
            set |n, text| open_fdset(text, n, flags)
        }
    };
}

macro_rules! openat_hook {
    ($name:ident, $real:path) => {
        path_hook! {
            /// An absolute fdset path ignores `dirfd`, as the kernel would.
            fn $name(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
            path: path;
            fast: $real(dirfd, path, flags, mode_if_needed(flags, mode));
            real: $real;
            cancellation direct;
            fail: -1;
            set |n, text| open_fdset(text, n, flags)
        }
    };
}

open_hook!(open, libc_real::open);
open_hook!(open64, libc_real::open64);
openat_hook!(openat, libc_real::openat);
openat_hook!(openat64, libc_real::openat64);

path_hook! {
    /// `_FORTIFY_SOURCE` variant of open without a mode.
    fn __open_2(path: *const c_char, flags: c_int) -> c_int;
    path: path; real: libc_real::open_2; cancellation direct; fail: -1;
    set |n, text| open_fdset(text, n, flags)
}
path_hook! {
    /// `_FORTIFY_SOURCE` variant of open64 without a mode.
    fn __open64_2(path: *const c_char, flags: c_int) -> c_int;
    path: path; real: libc_real::open64_2; cancellation direct; fail: -1;
    set |n, text| open_fdset(text, n, flags)
}
path_hook! {
    /// `_FORTIFY_SOURCE` variant of openat without a mode.
    fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
    path: path; real: libc_real::openat_2; cancellation direct; fail: -1;
    set |n, text| open_fdset(text, n, flags)
}
path_hook! {
    /// `_FORTIFY_SOURCE` variant of openat64 without a mode.
    fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int;
    path: path; real: libc_real::openat64_2; cancellation direct; fail: -1;
    set |n, text| open_fdset(text, n, flags)
}

/// The flags `creat` stands for.
const CREAT_FLAGS: c_int = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;
path_hook! {
    /// `creat(p, m)` is `open(p, O_CREAT|O_WRONLY|O_TRUNC, m)`.
    fn creat(path: *const c_char, mode: mode_t) -> c_int;
    path: path; real: libc_real::creat; cancellation direct; fail: -1;
    set |n, text| open_fdset(text, n, CREAT_FLAGS)
}
path_hook! {
    /// `creat64(p, m)` is `open64(p, O_CREAT|O_WRONLY|O_TRUNC, m)`.
    fn creat64(path: *const c_char, mode: mode_t) -> c_int;
    path: path; real: libc_real::creat64; cancellation direct; fail: -1;
    set |n, text| open_fdset(text, n, CREAT_FLAGS)
}

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

/// Where glibc's own `fopen` leaves a fresh stream, for the append modes:
/// `"a"` at the end (glibc seeks there), `"a+"` at the start (a fresh
/// open's offset, where its reads begin). The set's open leaves an
/// `O_APPEND` open where the shared description is (spec section 2, Open
/// step 4), and `fdopen` seeks only when it adds `O_APPEND` itself.
fn place_like_fopen(fd: c_int, flags: c_int) {
    if flags & libc::O_APPEND == 0 {
        return;
    }
    let whence = if flags & libc::O_ACCMODE == libc::O_WRONLY {
        libc::SEEK_END
    } else {
        libc::SEEK_SET
    };
    let saved = libc_real::errno();
    // SAFETY: our fresh descriptor; a pipe or socket member only says ESPIPE.
    unsafe { libc::lseek(fd, 0, whence) };
    libc_real::set_errno(saved);
}

/// The slow path of `fopen`: the open's flags from the mode string, then
/// `fdopen` of the dup (closed again if `fdopen` fails).
fn fopen_fdset(path: &[u8], number: SetNumber, mode: *const c_char) -> *mut FILE {
    if mode.is_null() {
        libc_real::set_errno(libc::EINVAL);
        return std::ptr::null_mut();
    }
    // SAFETY: fopen's mode is a NUL-terminated string (checked non-null).
    let m = unsafe { CStr::from_ptr(mode) }.to_bytes();
    let Some(flags) = fopen_flags(m) else {
        libc_real::set_errno(libc::EINVAL);
        return std::ptr::null_mut();
    };
    let fd = open_for_stream(path, number, flags);
    if fd < 0 {
        return std::ptr::null_mut();
    }
    place_like_fopen(fd, flags);
    // SAFETY: fd is a fresh descriptor; mode is the caller's string.
    stream_on(fd, || unsafe { libc_real::fdopen(fd, mode) })
}

/// `make`'s stream on the fresh dup `fd` (errno as it was), or, when it
/// fails, the dup closed again and `make`'s errno.
fn stream_on<T>(fd: c_int, make: impl FnOnce() -> *mut T) -> *mut T {
    let saved = libc_real::errno();
    let stream = make();
    if stream.is_null() {
        let e = libc_real::errno();
        crate::ops::close::close_marked(fd, fdtable::kind(fd));
        libc_real::set_errno(e);
    } else {
        libc_real::set_errno(saved);
    }
    stream
}

macro_rules! fopen_hook {
    ($name:ident, $real:path) => {
        path_hook! {
            /// glibc's stdio opens through internal calls no preload sees.
            fn $name(path: *const c_char, mode: *const c_char) -> *mut FILE;
            path: path; real: $real; cancellation point; fail: std::ptr::null_mut();
            set |n, text| fopen_fdset(text(), n, mode)
        }
    };
}

fopen_hook!(fopen, libc_real::fopen);
fopen_hook!(fopen64, libc_real::fopen64);

/// The slow path of `opendir`: a dup of a directory member (`O_DIRECTORY`:
/// `ENOTDIR` for a member that is not one), then `fdopendir` of it (closed
/// again if that fails), rewound: the dup shares the member's position,
/// which an earlier listing left at the end, and a fresh `opendir` starts
/// at the first entry. `closedir` forgets the dup (hooks::close).
fn opendir_fdset(path: &[u8], number: SetNumber) -> *mut libc::DIR {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let fd = open_for_stream(path, number, flags);
    if fd < 0 {
        return std::ptr::null_mut();
    }
    stream_on(fd, || {
        // SAFETY: fd is a fresh descriptor of a directory; rewinddir gets
        // the stream just made.
        unsafe {
            let dir = libc_real::fdopendir(fd);
            if !dir.is_null() {
                libc::rewinddir(dir);
            }
            dir
        }
    })
}

path_hook! {
    /// glibc's `opendir` opens through an internal call no preload sees.
    fn opendir(path: *const c_char) -> *mut libc::DIR;
    path: path; real: libc_real::opendir; cancellation point; fail: std::ptr::null_mut();
    set |n, text| opendir_fdset(text(), n)
}

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
    let number = unsafe { crate::ops::set_path::fdset_path(path) };
    if fdtable::kind(old) == FdKind::Free && number.is_none() {
        // SAFETY: plain pass-through.
        return unsafe { real(path, mode, stream) };
    }
    cancel::point();
    guarded(std::ptr::null_mut(), || {
        let Some(number) = number else {
            crate::ops::close::forget_before_implicit_close(old);
            // SAFETY: plain pass-through.
            return unsafe { real(path, mode, stream) };
        };
        if mode.is_null() {
            libc_real::set_errno(libc::EINVAL);
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
            libc_real::set_errno(libc::EINVAL);
            return std::ptr::null_mut();
        };
        let mut fd = open_for_stream(p, number, flags);
        if fd >= 0 && fd == old {
            // The stream's number was free (its descriptor closed before),
            // so the dup got it; the freopen below closes the stream's
            // number: the dup moves out of its way first.
            fd = crate::ops::close::move_dup_elsewhere(fd);
        }
        if fd < 0 {
            // C: the original stream is closed even when the open fails.
            let e = libc_real::errno();
            crate::ops::close::forget_before_implicit_close(old);
            // SAFETY: the caller's stream, closed as freopen would.
            unsafe { libc_real::fclose(stream) };
            libc_real::set_errno(e);
            return std::ptr::null_mut();
        }
        place_like_fopen(fd, flags);
        crate::ops::close::forget_before_implicit_close(old);
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
            let e = libc_real::errno();
            crate::ops::close::close_marked(fd, fdtable::kind(fd));
            libc_real::set_errno(e);
            return fp;
        }
        // SAFETY: fp is the reopened stream.
        let target = unsafe { libc::fileno(fp) };
        if crate::ops::close::move_dup(fd, target, flags & libc::O_CLOEXEC != 0) < 0 {
            return std::ptr::null_mut();
        }
        fp
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn freopen(
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    // SAFETY: forwarded as given.
    unsafe { freopen_any(libc_real::freopen, path, mode, stream) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn freopen64(
    path: *const c_char,
    mode: *const c_char,
    stream: *mut FILE,
) -> *mut FILE {
    // SAFETY: forwarded as given.
    unsafe { freopen_any(libc_real::freopen64, path, mode, stream) }
}
