//! The control sockets (`FDSET_CONTROL_FD`): served by a helper thread.
//! (Filled in by the control-socket work; until then no socket is served.)

/// A control descriptor moved from `old` to `new` (the program claimed `old`).
pub fn control_fd_moved(_old: i32, _new: i32) {}

/// In a forked child no monitor is served.
pub fn after_fork_child() {}
