//! What a launch is told: QEMU's `-add-fd` syntax (`FDSET_ADD_FD`) and
//! fdset-run's command line.

pub mod add_fd;
pub mod as_started;
pub mod control_fds;
pub mod elf;
pub mod identity;
pub mod inherited;
pub mod library;
pub mod open_modes;
pub mod options;

/// The signals fdset-run, staying as its program's parent (`--qmp`, seccomp
/// mode), forwards to the program instead of dying of them: the ones a
/// user or a supervisor sends to stop or notify a program. Died of one,
/// fdset-run would leave the program running unserved and its socket file
/// behind.
pub const FORWARDED_SIGNALS: [i32; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];
