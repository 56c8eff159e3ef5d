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
mod clone;
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
use crate::state::deferred_signals;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Run a slow path; a panic (a bug) becomes `fail` with errno EIO instead of
/// unwinding into C. Cancellation is disabled meanwhile (see `cancel`): the
/// real functions the slow path calls cannot be cancelled half way. Out of
/// line: the hooks' fast paths then need no registers saved.
#[inline(never)]
fn guarded<R>(fail: R, f: impl FnOnce() -> R) -> R {
    let state = cancel::disable();
    caught(fail, false, f, || cancel::restore(state))
}

/// For the open and close of sets, whose slow paths make only direct
/// system calls (no cancellation point inside, `libc_real::close_nocancel`,
/// the log's `write_all`): a cancellation already requested acts first, as
/// at the entry of libc's function; then the slow path runs with nothing
/// that could act on one, so cancellation need not be disabled (two calls
/// fewer on the path the fdset benchmark measures). Signals are held back
/// for the whole slow path (`deferred_signals`): none of its system calls
/// blocks, and a handler that jumps out between the dup and its record
/// would leave a dup the registry does not know.
#[inline(never)]
fn guarded_at_point<R>(fail: R, f: impl FnOnce() -> R) -> R {
    cancel::point();
    caught(fail, true, f, || ())
}

/// The slow path `f` inside `catch_unwind`, then `after` (cancellation
/// restored), then the handlers of signals held back meanwhile, outside
/// the catch (where they may be cancelled or jump away as after any libc
/// call); errno is the slow path's.
#[inline(always)]
fn caught<R>(fail: R, holding: bool, f: impl FnOnce() -> R, after: impl FnOnce()) -> R {
    let slow = deferred_signals::enter_slow_path(holding);
    let r = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            libc_real::set_errno(libc::EIO);
            fail
        }
    };
    after();
    // Keeps errno: the handlers it may call run inside a save and restore.
    deferred_signals::leave_slow_path(slow);
    r
}

/// [`guarded`] for a hook whose libc function is a cancellation point
/// (`open`, `close`, `fopen`, `fclose`, `system`, ...): a cancellation
/// already requested acts first, before anything is done.
#[inline(never)]
fn guarded_cancellation_point<R>(fail: R, f: impl FnOnce() -> R) -> R {
    cancel::point();
    guarded(fail, f)
}
