//! The process's life around the shim: the constructor, the launch-time
//! sets, and the fork handlers (which call state and control from above).

pub mod fork;
mod init;
pub mod launch_sets;
