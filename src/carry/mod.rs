//! Carrying the sets into programs this one starts: `exec*` in this process,
//! and `posix_spawn`/`system`/`popen` children.

pub mod environment;
pub mod exec;
pub mod file_actions;
pub mod privileged;
pub mod restore;
pub mod spawn;
