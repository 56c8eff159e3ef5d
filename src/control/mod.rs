//! The control sockets (`FDSET_CONTROL_FD`, spec section 3): the control
//! thread does the socket I/O around `fdset_core::qmp`.
//!
//! Every descriptor the control thread holds (control sockets, accepted connections,
//! queued received fds, its wake-up eventfd) is the shim's: marked `OWNED`
//! and listed in `State::extra_owned`, so the program cannot close it. When
//! the program `dup2`s onto one, `ops::close::disown` moves it, under the
//! registry lock, and records the move in `state::control_fds`. The control thread takes note of such moves
//! before every use of a number: socket calls (all nonblocking) run while
//! `MOVES` is held, and fds are created or closed only under the registry
//! lock, after the moves recorded so far are applied. Lock order: registry,
//! then `MOVES`; the control thread never takes the registry lock while holding
//! `MOVES`, and never holds the registry lock during socket I/O.

mod exec_handoff;
mod monitor;
mod poll_loop;
mod server_ops;
mod startup;

pub use exec_handoff::{export_for_exec, resume_after_failed_exec, resume_from_exec};
pub use startup::start;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

/// The control thread is running in this process.
pub(crate) static SERVING: AtomicBool = AtomicBool::new(false);

/// Whether the control thread serves monitors in this process.
pub fn serving() -> bool {
    SERVING.load(Ordering::Acquire) && !crate::state::control_fds::in_forked_child()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    Idle,
    Waiting,
    Released,
    /// No listener and no connection is left that could send `cont`.
    Hopeless,
}
pub(crate) static WAIT: Mutex<Wait> = Mutex::new(Wait::Idle);
pub(crate) static WAIT_CV: Condvar = Condvar::new();

/// Bytes asked of one `recvmsg`.
pub(crate) const READ_SIZE: usize = 64 * 1024;
/// Reads from one connection before the others get their turn.
pub(crate) const READS_PER_TURN: usize = 16;
