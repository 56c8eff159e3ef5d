//! `close`, `fclose`, `closedir`, `dup2`, `dup3`, `close_range`, `closefrom`: a dup
//! closes by the refcount rules, a shim-owned number is not the program's.

use super::{guarded, guarded_at_point, guarded_cancellation_point};
use crate::libc_real;
use crate::state::fdtable::{self, FdKind};
use libc::{FILE, c_int, c_uint};

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn close(fd: c_int) -> c_int {
    if fdtable::surely_free(fd) {
        return libc_real::close(fd);
    }
    close_slow(fd)
}

/// The rest of `close`, out of line: the hook's fast path then saves no
/// register and reaches libc as a plain jump. `C-unwind` like the hook (a
/// cancellation may act at its entry), so that the hook reaches it by a
/// plain jump too, with no landing pad around the call.
#[cold]
#[inline(never)]
extern "C-unwind" fn close_slow(fd: c_int) -> c_int {
    let kind = fdtable::kind(fd);
    if kind == FdKind::Free {
        return libc_real::close(fd);
    }
    guarded_at_point(-1, || crate::ops::close::close_marked(fd, kind))
}

/// A stream that libc closes inside (`fclose`, `closedir`), where no hook
/// sees the descriptor go: a dup at `fd` is forgotten first, with
/// cancellation disabled, so that a dup is never forgotten while its fd
/// stays open.
fn close_stream<R>(fd: c_int, fail: R, close: impl FnOnce() -> R) -> R {
    if fdtable::kind(fd) == FdKind::Free {
        return close();
    }
    guarded_cancellation_point(fail, || {
        crate::ops::close::forget_before_implicit_close(fd);
        close()
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn fclose(stream: *mut FILE) -> c_int {
    // SAFETY: the caller's stream.
    let close = || unsafe { libc_real::fclose(stream) };
    if stream.is_null() {
        return close();
    }
    // SAFETY: the caller's stream.
    close_stream(unsafe { libc::fileno(stream) }, libc::EOF, close)
}

/// `closedir` closes its descriptor inside libc as `fclose` does: a dup
/// behind the stream (an `opendir` of a set, an `fdopendir` of a dup) is
/// forgotten first.
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn closedir(dir: *mut libc::DIR) -> c_int {
    // SAFETY: the caller's directory stream.
    let close = || unsafe { libc_real::closedir(dir) };
    if dir.is_null() {
        return close();
    }
    // SAFETY: the caller's directory stream.
    close_stream(unsafe { libc::dirfd(dir) }, -1, close)
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dup2(old: c_int, new: c_int) -> c_int {
    if fdtable::surely_free(new) && fdtable::surely_free(old) {
        return libc_real::dup2(old, new);
    }
    dup2_slow(old, new)
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if fdtable::surely_free(new) && fdtable::surely_free(old) {
        return libc_real::dup3(old, new, flags);
    }
    dup3_slow(old, new, flags)
}

/// The rest of `dup2`, out of line (as `close_slow`).
#[cold]
#[inline(never)]
extern "C-unwind" fn dup2_slow(old: c_int, new: c_int) -> c_int {
    if fdtable::kind(new) == FdKind::Free && fdtable::kind(old) == FdKind::Free {
        return libc_real::dup2(old, new);
    }
    guarded(-1, || crate::ops::close::dup_onto_marked(old, new, None))
}

/// The rest of `dup3`, out of line (as `close_slow`).
#[cold]
#[inline(never)]
extern "C-unwind" fn dup3_slow(old: c_int, new: c_int, flags: c_int) -> c_int {
    if fdtable::kind(new) == FdKind::Free && fdtable::kind(old) == FdKind::Free {
        return libc_real::dup3(old, new, flags);
    }
    guarded(-1, || {
        crate::ops::close::dup_onto_marked(old, new, Some(flags))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    guarded(-1, || crate::ops::close::close_range(first, last, flags))
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn closefrom(lowfd: c_int) {
    guarded((), || crate::ops::close::closefrom(lowfd))
}
