//! The exported C symbols. Each one only decodes its arguments, takes the
//! fast path straight to libc when the path or descriptor is none of the
//! shim's business, and otherwise calls into `ops` or `carry`. No panic
//! crosses into C. Every hook that takes a path is written with one macro,
//! [`path_hook!`].

#[macro_use]
mod path_hook;
#[macro_use]
mod look_hook;

mod cancel;
mod close;
mod exec;
mod file_actions;
mod open;
mod path_info;
mod signal;
mod spawn;
mod stat;
mod syscall;
mod underscore_fork;
mod vfork;
mod xattr;

use crate::libc_real;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Run a slow path; a panic (a bug) becomes `fail` with errno EIO instead of
/// unwinding into C. Cancellation is disabled meanwhile (see `cancel`): the
/// real functions the slow path calls cannot be cancelled half way.
#[inline]
fn guarded<R>(fail: R, f: impl FnOnce() -> R) -> R {
    let state = cancel::disable();
    let r = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            libc_real::set_errno(libc::EIO);
            fail
        }
    };
    cancel::restore(state);
    r
}

/// [`guarded`] for a hook whose libc function is a cancellation point
/// (`open`, `close`, `fopen`, `fclose`, `system`, ...): a cancellation
/// already requested acts first, before anything is done.
#[inline]
fn guarded_cancellation_point<R>(fail: R, f: impl FnOnce() -> R) -> R {
    cancel::point();
    guarded(fail, f)
}
