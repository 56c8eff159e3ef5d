//! `FDSET_CONTROL_FD` (spec sections 3 and 5): comma-separated inherited
//! descriptors, each an open stream socket. Read by the shim at start-up
//! and, before anything is opened, by fdset-run, which would otherwise
//! leave the shim to refuse them after files were made. [`fd_state`]
//! asks what each descriptor is; the rules take it as a function, so that
//! they are tested without descriptors.

use std::os::fd::RawFd;

/// What a descriptor named in `FDSET_CONTROL_FD` was found to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdState {
    NotOpen,
    /// Open but close-on-exec: the program would not get it (fdset-run's
    /// view, before the exec).
    CloseOnExec,
    NotASocket,
    NotAStream,
    StreamSocket,
}

/// What `fd` is, asked with `F_GETFD`, `fstat` and `SO_TYPE` (none of them
/// hooked by the shim). `before_exec`: fdset-run's view, where a
/// close-on-exec descriptor would not reach the program.
pub fn fd_state(fd: RawFd, before_exec: bool) -> FdState {
    // SAFETY: F_GETFD on any number is harmless.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if f < 0 {
        return FdState::NotOpen;
    }
    if before_exec && f & libc::FD_CLOEXEC != 0 {
        return FdState::CloseOnExec;
    }
    // SAFETY: plain data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return FdState::NotASocket;
    }
    if socket_option(fd, libc::SO_TYPE) != Some(libc::SOCK_STREAM) {
        return FdState::NotAStream;
    }
    FdState::StreamSocket
}

/// An integer `SOL_SOCKET` option of `fd` (`None`: getsockopt failed).
pub fn socket_option(fd: RawFd, opt: libc::c_int) -> Option<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid pointers to an int and its length.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// The descriptors of `text`, each checked: a number, not a standard
/// stream, named once, not in `FDSET_ADD_FD` (`launch_fds`), and a stream
/// socket by `state_of`. Checked before anything changes.
pub fn parse_control_fds(
    text: &str,
    launch_fds: &[i64],
    mut state_of: impl FnMut(RawFd) -> FdState,
) -> Result<Vec<RawFd>, String> {
    let mut fds = Vec::new();
    for item in text.split(',') {
        let fd = item
            .parse::<RawFd>()
            .ok()
            .filter(|&fd| fd >= 0 && item.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("FDSET_CONTROL_FD: '{item}' is not a file descriptor number"))?;
        let what = |s: &str| format!("FDSET_CONTROL_FD: fd {fd} {s}");
        if fd <= 2 {
            return Err(what("is a standard I/O stream"));
        }
        if fds.contains(&fd) {
            return Err(what("is named twice"));
        }
        if launch_fds.contains(&(fd as i64)) {
            return Err(what("is also named in FDSET_ADD_FD"));
        }
        match state_of(fd) {
            FdState::NotOpen => return Err(what("is not open")),
            FdState::CloseOnExec => {
                return Err(what("is close-on-exec, so the program would not get it"));
            }
            FdState::NotASocket => return Err(what("is not a socket")),
            FdState::NotAStream => return Err(what("is not a stream socket")),
            FdState::StreamSocket => {}
        }
        fds.push(fd);
    }
    Ok(fds)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Spec section 3: control sockets are inherited stream sockets; each
    // refusal names the fd and why.
    #[test]
    fn each_refusal_names_the_fd() {
        let state = |fd: RawFd| match fd {
            3 | 4 => FdState::StreamSocket,
            5 => FdState::NotASocket,
            6 => FdState::NotAStream,
            7 => FdState::CloseOnExec,
            _ => FdState::NotOpen,
        };
        assert_eq!(parse_control_fds("3,4", &[], state), Ok(vec![3, 4]));
        for (text, launch, want) in [
            (
                "3x",
                &[][..],
                "FDSET_CONTROL_FD: '3x' is not a file descriptor number",
            ),
            (
                "",
                &[],
                "FDSET_CONTROL_FD: '' is not a file descriptor number",
            ),
            (
                "+3",
                &[],
                "FDSET_CONTROL_FD: '+3' is not a file descriptor number",
            ),
            ("1", &[], "FDSET_CONTROL_FD: fd 1 is a standard I/O stream"),
            ("3,3", &[], "FDSET_CONTROL_FD: fd 3 is named twice"),
            (
                "3",
                &[3],
                "FDSET_CONTROL_FD: fd 3 is also named in FDSET_ADD_FD",
            ),
            ("5", &[], "FDSET_CONTROL_FD: fd 5 is not a socket"),
            ("6", &[], "FDSET_CONTROL_FD: fd 6 is not a stream socket"),
            (
                "7",
                &[],
                "FDSET_CONTROL_FD: fd 7 is close-on-exec, so the program would not get it",
            ),
            ("77", &[], "FDSET_CONTROL_FD: fd 77 is not open"),
        ] {
            assert_eq!(
                parse_control_fds(text, launch, state),
                Err(want.to_string()),
                "{text}"
            );
        }
    }
}
