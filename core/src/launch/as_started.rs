//! What fdset-run was started with that Rust's start-up changes before
//! `main`, put back for the program so that it starts as under `env`: a
//! closed standard descriptor (Rust reopens 0, 1, 2 on `/dev/null`; the
//! program would find its output silently discarded, or an empty input,
//! where `env` gives `EBADF`) and an ignored `SIGPIPE` (Rust ignores it in
//! its own process and `Command` resets it to the default in children).
//! fdset-run notes both in a constructor, which runs before that start-up,
//! and restores them between fork and exec (or before its exec in place).
//! An ignored `SIGCHLD` too: not Rust's doing, but fdset-run that waits for
//! the program cannot keep it ([`wait_for_the_program`]).

/// Bits 0-2: that standard descriptor was closed; bit 3: `SIGPIPE` was
/// ignored; bit 4: `SIGCHLD` was ignored.
pub type AsStarted = u8;

const SIGPIPE_IGNORED: AsStarted = 1 << 3;
const SIGCHLD_IGNORED: AsStarted = 1 << 4;

/// Look now (from a constructor: before Rust's start-up).
pub fn note() -> AsStarted {
    let mut bits = 0;
    for fd in 0..3 {
        // SAFETY: F_GETFD on a number only says whether it is open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            bits |= 1 << fd;
        }
    }
    // SAFETY: a query of the disposition into a zeroed struct.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut sa) } == 0
        && sa.sa_sigaction == libc::SIG_IGN
    {
        bits |= SIGPIPE_IGNORED;
    }
    // SAFETY: as above.
    if unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut sa) } == 0
        && sa.sa_sigaction == libc::SIG_IGN
    {
        bits |= SIGCHLD_IGNORED;
    }
    bits
}

/// Before fdset-run starts the program as its child and waits for it: an
/// ignored `SIGCHLD` makes the kernel reap the program at its exit, so
/// that no wait would ever see its status. fdset-run takes the default;
/// [`restore`] ignores it again in the child.
pub fn wait_for_the_program(bits: AsStarted) {
    if bits & SIGCHLD_IGNORED != 0 {
        // SAFETY: setting a disposition.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    }
}

/// Whether standard descriptor `fd` was closed.
pub fn was_closed(bits: AsStarted, fd: i32) -> bool {
    (0..3).contains(&fd) && bits & (1 << fd) != 0
}

/// Put it back: close again what was closed, ignore `SIGPIPE` and
/// `SIGCHLD` again.
/// Async-signal-safe (for between fork and exec); call it after `Command`
/// reset the signals, that is in a `pre_exec` closure.
pub fn restore(bits: AsStarted) {
    for fd in 0..3 {
        if was_closed(bits, fd) {
            // SAFETY: the /dev/null Rust put in place of a closed one.
            unsafe { libc::close(fd) };
        }
    }
    if bits & SIGPIPE_IGNORED != 0 {
        // SAFETY: setting a disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    }
    if bits & SIGCHLD_IGNORED != 0 {
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bits_name_the_descriptors() {
        assert!(was_closed(0b101, 0) && !was_closed(0b101, 1) && was_closed(0b101, 2));
        assert!(!was_closed(0xff, 3), "only 0, 1 and 2");
        assert!(!was_closed(SIGPIPE_IGNORED, 0));
        assert!(!was_closed(SIGCHLD_IGNORED, 1));
    }
}
