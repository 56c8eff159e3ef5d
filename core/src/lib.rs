//! fdset-core: what fdset-shim knows, as plain Rust. The fd-set registry and
//! its close rules, the paths that name a set, the launch-time syntax, the
//! state an exec carries, the QMP protocol, and the SCM_RIGHTS sender.
//!
//! Nothing here is a hook or a process-wide static: the shim (a cdylib), the
//! launcher and client binaries, and the tests all link this crate by name.

pub mod cli;
pub mod exec_state;
pub mod launch;
pub mod log_target;
pub mod look_flags;
pub mod paths;
pub mod prefix_dir;
pub mod qmp;
pub mod registry;
pub mod scm;
pub mod syscalls;
pub mod wait_setting;
