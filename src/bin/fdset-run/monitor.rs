//! `--qmp`: the program runs as fdset-run's child, with the listening socket
//! and fdset-run's own monitor connection in `FDSET_CONTROL_FD`; fdset-run
//! forwards signals to it, and exits with its status.

use crate::members::Member;
use crate::program::{cannot_run, library_readable_after_switch, library_unreadable_text};
use crate::qmp_socket::{OwnSocket, qmp_listener};
use crate::signals::{CHILD_PID, FORWARDED, forwarded_set, install_forwarding};
use crate::{EXIT_LAUNCHER_FAILED, die};
use fdset_core::launch::identity::{self, Identity};
use fdset_core::launch::options::{self as launch_options, LaunchOptions};
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::atomic::Ordering;

/// The code the child writes between fork and exec when the library check
/// after the identity switch fails (the switch's own steps are 1-4).
const STEP_LIBRARY: u8 = 10;

/// The program to start, ready but for its monitor.
pub(crate) struct Launch<'a> {
    pub(crate) cmd: Command,
    pub(crate) opts: &'a LaunchOptions,
    /// The descriptors the program inherits (its members).
    pub(crate) inherit: Vec<RawFd>,
    pub(crate) members: Vec<Member>,
    pub(crate) ident: Option<Identity>,
    pub(crate) lib: &'a Path,
    pub(crate) lib_c: CString,
}

/// The program's ends of the control sockets go into `FDSET_CONTROL_FD`
/// and into what it inherits.
fn hand_control(l: &mut Launch, program_end: &UnixStream, listener: &UnixListener) {
    let control = [program_end.as_raw_fd(), listener.as_raw_fd()];
    l.inherit.extend(control);
    let control: Vec<String> = control.iter().map(|fd| fd.to_string()).collect();
    l.cmd.env(
        "FDSET_CONTROL_FD",
        launch_options::join_env(
            std::env::var("FDSET_CONTROL_FD").ok().as_deref(),
            ",",
            &control.join(","),
        ),
    );
}

/// Between fork and exec: default signal handling (what was ignored stays
/// ignored), the signal mask fdset-run was started with, the members
/// inheritable, the identity switched (a failed step reported through
/// `report_write`).
fn prepare_child(l: &mut Launch, report_write: RawFd, started_mask: libc::sigset_t) {
    let inherit = l.inherit.clone();
    let child_ident = l.ident.clone();
    let lib_c = l.lib_c.clone();
    let as_started = crate::stdio::as_started();
    // SAFETY: between fork and exec only async-signal-safe calls (signal,
    // sigprocmask, fcntl, the identity system calls, access, write), and no
    // allocation.
    unsafe {
        l.cmd.pre_exec(move || {
            fdset_core::launch::as_started::restore(as_started);
            for s in FORWARDED {
                // Ignored ones stay so (install_forwarding left them).
                let mut was: libc::sigaction = std::mem::zeroed();
                libc::sigaction(s, std::ptr::null(), &mut was);
                if was.sa_sigaction != libc::SIG_IGN {
                    libc::signal(s, libc::SIG_DFL);
                }
            }
            // The mask fdset-run was started with, as under `env`.
            libc::sigprocmask(libc::SIG_SETMASK, &started_mask, std::ptr::null_mut());
            for &fd in &inherit {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(id) = &child_ident {
                let failed = match identity::switch(id) {
                    Err((step, errno)) => Some((step as u8, errno)),
                    Ok(()) => library_readable_after_switch(&lib_c)
                        .err()
                        .map(|errno| (STEP_LIBRARY, errno)),
                };
                if let Some((code, errno)) = failed {
                    libc::write(report_write, (&code as *const u8).cast(), 1);
                    return Err(io::Error::from_raw_os_error(errno));
                }
            }
            Ok(())
        });
    }
}

/// The program did not start: say why (the identity step the child
/// reported, if any) and exit.
fn spawn_failed(
    report_read: RawFd,
    e: &io::Error,
    ident: Option<&Identity>,
    lib: &Path,
    name: &OsStr,
) -> ! {
    let mut code = 0u8;
    // SAFETY: one byte into `code` from the pipe's read end.
    let n = unsafe { libc::read(report_read, (&mut code as *mut u8).cast(), 1) };
    if let (1, Some(id)) = (n, ident) {
        let errno = e.raw_os_error().unwrap_or(0);
        if code == STEP_LIBRARY {
            die(&library_unreadable_text(id, lib, errno));
        }
        if let Some(step) = identity::Step::from_code(code) {
            die(&identity::switch_error_text(id, step, errno));
        }
    }
    cannot_run(name, e)
}

/// fdset-run's exit status: the program's, or 128 + the signal that
/// ended it.
fn exit_code(status: io::Result<ExitStatus>) -> i32 {
    match status {
        Ok(s) => s
            .code()
            .or(s.signal().map(|n| 128 + n))
            .unwrap_or(EXIT_LAUNCHER_FAILED),
        Err(e) => die(&format!("waiting for the program: {e}")),
    }
}

/// Start the program as fdset-run's child, stay its monitor for its whole
/// life (so the sets stay in use until a client removes them: spec section
/// 2, "In use"), and exit with its status.
pub(crate) fn run_with_monitor(mut l: Launch, qmp: &Path) -> ! {
    let listener = qmp_listener(qmp).unwrap_or_else(|e| die(&e));
    // Removed at the end only while PATH still names this very socket.
    let own_socket = OwnSocket::new(qmp);
    let remove_socket = || {
        if let Some(s) = &own_socket {
            s.remove_if_ours();
        }
    };
    let (monitor, program_end) = UnixStream::pair().unwrap_or_else(|e| {
        remove_socket();
        die(&format!(
            "socketpair: {e}{}",
            crate::fd_limit_hint(&e).unwrap_or("")
        ))
    });
    hand_control(&mut l, &program_end, &listener);
    // The child tells which step of the identity switch failed, if one did.
    let mut pipe = [-1; 2];
    // SAFETY: pipe2 fills two descriptors.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        remove_socket();
        let e = io::Error::last_os_error();
        die(&format!(
            "pipe: {e}{}",
            crate::fd_limit_hint(&e).unwrap_or("")
        ));
    }
    let (report_read, report_write) = (pipe[0], pipe[1]);

    let started_mask = install_forwarding();
    let unblock = forwarded_set();
    fdset_core::launch::as_started::wait_for_the_program(crate::stdio::as_started());
    prepare_child(&mut l, report_write, started_mask);
    let spawned = l.cmd.spawn();
    // SAFETY: the write end is fdset-run's own; the child has its copy.
    unsafe { libc::close(report_write) };
    let mut child = spawned.unwrap_or_else(|e| {
        remove_socket();
        spawn_failed(report_read, &e, l.ident.as_ref(), l.lib, &l.opts.program[0])
    });
    // SAFETY: the read end is fdset-run's own.
    unsafe { libc::close(report_read) };
    crate::made_files::program_started();
    CHILD_PID.store(child.id() as i32, Ordering::Relaxed);
    // SAFETY: unblocking delivers any signal that arrived meanwhile.
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut()) };
    // The program holds its own copies now.
    drop(l.members);
    drop(program_end);
    drop(listener);

    let status = child.wait();
    remove_socket();
    drop(monitor);
    std::process::exit(exit_code(status))
}
