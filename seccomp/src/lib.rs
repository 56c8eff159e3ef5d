//! fdset-seccomp: fdset-run's seccomp mode (spec section 9). Programs that
//! `LD_PRELOAD` cannot reach (statically linked, a non-glibc interpreter,
//! their own system calls as Go makes them) run under a seccomp filter
//! whose user notifications fdset-run answers from outside: the same
//! `fdset-core` registry rules, path parsing and QMP protocol as the shim.
//!
//! - `filter`: the BPF program and its installation in the child.
//! - `serve`: the notification loop and the calls it answers (open, the
//!   look calls, truncate and the utime family, xattrs, close).
//! - `tree`: which process holds which dup (fork, exit, exec).
//! - `as_caller`: calls through a member made with the caller's rights.
//! - `control`: QMP, signals, exits.
//! - `launch`: starting the program, and the kernel checks.

mod as_caller;
mod control;
mod filter;
mod launch;
mod ops;
mod serve;
mod sys;
mod tree;

pub use launch::{Member, check_actions_avail, run};
