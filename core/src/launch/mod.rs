//! What a launch is told: QEMU's `-add-fd` syntax (`FDSET_ADD_FD`) and
//! fdset-run's command line.

pub mod add_fd;
pub mod elf;
pub mod identity;
pub mod library;
pub mod open_modes;
pub mod options;
