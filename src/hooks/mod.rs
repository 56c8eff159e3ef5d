//! The exported C symbols. Each one only decodes its arguments, takes the
//! fast path straight to libc when the path or descriptor is none of the
//! shim's business, and otherwise calls into `ops` or `carry`. No panic
//! crosses into C. Every hook that takes a path is written with one macro,
//! [`path_hook!`].

#[macro_use]
mod path_hook;
#[macro_use]
mod look_hook;

mod close;
mod exec;
mod open;
mod path_info;
mod spawn;
mod stat;
mod syscall;
mod vfork;
mod xattr;

use crate::libc_real;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Run a slow path; a panic (a bug) becomes `fail` with errno EIO instead of
/// unwinding into C.
#[inline]
fn guarded<R>(fail: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            libc_real::set_errno(libc::EIO);
            fail
        }
    }
}
