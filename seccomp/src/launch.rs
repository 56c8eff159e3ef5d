//! Starting the program under the filter: the child installs it between
//! fork and exec and hands the listener to fdset-run over a socketpair,
//! then waits until fdset-run has checked what the kernel offers; only
//! then does it exec. fdset-run serves the tree until no process of it is
//! left (it is the tree's subreaper, so orphans stay in it).

use crate::control::Control;
use crate::filter;
use crate::ops;
use crate::serve::{Shared, State};
use crate::sys;
use crate::tree::Tree;
use fdset_core::launch::options::LaunchOptions;
use fdset_core::registry::Registry;
use fdset_core::scm::{self, Received};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// A descriptor fdset-run opened (or inherited) for a set.
pub struct Member {
    pub fd: OwnedFd,
    pub set: u64,
    pub opaque: Option<String>,
    pub what: String,
}

/// The kernel's seccomp actions (`/proc/sys/kernel/seccomp/actions_avail`)
/// must include `user_notif`.
pub fn check_actions_avail(text: Option<&str>) -> Result<(), String> {
    match text {
        Some(t) if t.split_ascii_whitespace().any(|a| a == "user_notif") => Ok(()),
        Some(_) => Err("--seccomp: this kernel does not offer seccomp user notification (user_notif is not in /proc/sys/kernel/seccomp/actions_avail); Linux 5.14 or later is needed (run the program without --seccomp if it is dynamically linked to glibc)".into()),
        None => Err("--seccomp: cannot read /proc/sys/kernel/seccomp/actions_avail: this kernel has no seccomp filters (Linux 5.14 or later with CONFIG_SECCOMP_FILTER is needed)".into()),
    }
}

/// `SECCOMP_IOCTL_NOTIF_ADDFD` with `SECCOMP_ADDFD_FLAG_SEND` (Linux 5.14):
/// with no notification pending, a kernel that has it says ENOENT.
fn probe_addfd(listener: RawFd) -> Result<(), String> {
    match sys::notif_addfd_send(listener, 0, listener, false) {
        Err(libc::ENOENT) => Ok(()),
        r => Err(format!(
            "--seccomp: this kernel lacks SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND, which installs a set's descriptor in the program (Linux 5.14 or later is needed; the probe said {})",
            match r {
                Ok(_) => "success".to_string(),
                Err(e) => io::Error::from_raw_os_error(e).to_string(),
            }
        )),
    }
}

/// `CAP_SYS_ADMIN` in the effective set: the filter then needs no
/// `no_new_privs`.
fn has_cap_sys_admin() -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 21) != 0)
}

fn inheritable(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any number is harmless.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    f >= 0 && f & libc::FD_CLOEXEC == 0
}

/// How fdset-run ends when it cannot run the program.
enum Failure {
    /// fdset-run's own failure (exit status 125).
    Launcher(String),
    /// The program could not be started (126, or 127: not found).
    Exec(i32, String),
}

/// Serve `opts.program` in seccomp mode; never returns. `members` are the
/// descriptors fdset-run opened for `--file` and `--data`; `--add-fd`
/// descriptors are taken from `opts` here. `qmp` is the `--qmp` listener.
/// `as_started`: what fdset-run was started with before Rust's start-up
/// changed it (`fdset_core::launch::as_started`), restored for the program.
/// `failed`: called when the launch fails (fdset-run removes the empty
/// files it made for it).
pub fn run(
    opts: &LaunchOptions,
    members: Vec<Member>,
    qmp: Option<UnixListener>,
    as_started: u8,
    failed: fn(),
) -> ! {
    let code = match launch(opts, members, qmp, as_started) {
        Ok(code) => code,
        Err(Failure::Launcher(msg)) => {
            failed();
            fdset_core::cli::warn(format_args!("fdset-run: {msg}"));
            125
        }
        Err(Failure::Exec(code, msg)) => {
            failed();
            fdset_core::cli::warn(format_args!("fdset-run: {msg}"));
            code
        }
    };
    if let Some(p) = &opts.qmp {
        let _ = std::fs::remove_file(p);
    }
    std::process::exit(code)
}

fn block_signals() -> (libc::sigset_t, OwnedFd) {
    let mut set: libc::sigset_t = sys::zeroed();
    let mut old: libc::sigset_t = sys::zeroed();
    // SAFETY: plain sigset manipulation on valid sets; fdset-run is still
    // single-threaded, so the mask is every later thread's too.
    let fd = unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        for s in fdset_core::launch::FORWARDED_SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
    };
    assert!(fd >= 0, "signalfd: {}", io::Error::last_os_error());
    // SAFETY: a new descriptor of ours.
    (old, unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Raise the soft descriptor limit to the hard one: fdset-run holds one
/// token per dup the tree holds.
fn raise_nofile() {
    let mut lim: libc::rlimit = sys::zeroed();
    // SAFETY: valid rlimit buffers.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn registry_with(opts: &LaunchOptions, members: Vec<Member>) -> Result<Registry, String> {
    let mut all = members;
    // Closed once every spec has its copy: one fd may be named for several
    // sets (FDSET_ADD_FD, as the shim takes it).
    let mut taken = Vec::new();
    for a in &opts.add_fds {
        let (fd, set) = a
            .spec
            .check(inheritable)
            .map_err(|text| format!("{}: {text}", a.option))?;
        // fdset-run's own copy, close-on-exec: the program never sees the
        // inherited number (as the shim closes it after taking it).
        let own = sys::dup_cloexec(fd)
            .map_err(|e| format!("{}: {}", a.option, io::Error::from_raw_os_error(e)))?;
        if !taken.contains(&fd) {
            taken.push(fd);
        }
        all.push(Member {
            // SAFETY: own is a new descriptor of ours.
            fd: unsafe { OwnedFd::from_raw_fd(own) },
            set,
            opaque: a.spec.opaque.clone(),
            what: format!("inherited fd {fd}"),
        });
    }
    taken.into_iter().for_each(sys::close);
    let mut registry = Registry::new();
    for m in all {
        let info = ops::member_info(m.fd.as_raw_fd()).map_err(|e| {
            format!(
                "set {}: {}: {}",
                m.set,
                m.what,
                io::Error::from_raw_os_error(e)
            )
        })?;
        if opts.verbose {
            fdset_core::cli::warn(format_args!(
                "fdset-run: set {}: fd {} = {} (held by fdset-run, seccomp mode)",
                m.set,
                m.fd.as_raw_fd(),
                m.what
            ));
        }
        registry.add_member(Some(m.set), m.fd.into_raw_fd(), m.opaque, info);
    }
    // fdset-run is a monitor for the program's whole life, as in preload
    // mode: the sets stay in use until a client removes them.
    registry.monitor_connected();
    Ok(registry)
}

/// fdset-run's half of the hand-over: the listener, checked.
fn receive_listener(sock: &UnixStream) -> Result<OwnedFd, String> {
    let mut b = [0u8; 8];
    match scm::receive_fds(sock.as_raw_fd(), &mut b, false) {
        Received::Data { len: 1, fds, .. } if b[0] == b'l' && fds.len() == 1 => {
            // SAFETY: received just now, ours.
            let l = unsafe { OwnedFd::from_raw_fd(fds[0]) };
            let verdict = probe_addfd(l.as_raw_fd());
            let answer: &[u8] = if verdict.is_ok() { b"y" } else { b"n" };
            let _ = scm::send_fds(sock.as_raw_fd(), &[], answer);
            verdict.map(|()| l)
        }
        Received::Data { len: 5, fds, .. } if b[0] == b'e' => {
            fds.into_iter().for_each(sys::close);
            let e = i32::from_ne_bytes([b[1], b[2], b[3], b[4]]);
            let why = match e {
                libc::EACCES => {
                    " (no_new_privs could not be set, or the caller lacks CAP_SYS_ADMIN)"
                }
                libc::EINVAL => {
                    " (the kernel refused the filter or SECCOMP_FILTER_FLAG_NEW_LISTENER: Linux 5.14 or later is needed)"
                }
                libc::EBUSY => {
                    " (the program already runs under a seccomp listener: nested notification is refused by this kernel)"
                }
                _ => "",
            };
            Err(format!(
                "--seccomp: cannot install the seccomp filter: {}{why}",
                io::Error::from_raw_os_error(e)
            ))
        }
        Received::Data { fds, .. } => {
            fds.into_iter().for_each(sys::close);
            Err("--seccomp: the child sent no listener".into())
        }
        _ => Err(String::new()),
    }
}

fn launch(
    opts: &LaunchOptions,
    members: Vec<Member>,
    qmp: Option<UnixListener>,
    as_started: u8,
) -> Result<i32, Failure> {
    let actions = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").ok();
    check_actions_avail(actions.as_deref()).map_err(Failure::Launcher)?;
    let registry = registry_with(opts, members).map_err(Failure::Launcher)?;
    let paths = opts.path_config();
    raise_nofile();
    fdset_core::launch::as_started::wait_for_the_program(as_started);
    let (old_mask, signals) = block_signals();
    // SAFETY: plain system call; the result is a new descriptor of ours.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        return Err(Failure::Launcher(format!(
            "epoll_create1: {}",
            io::Error::last_os_error()
        )));
    }
    // SAFETY: as above.
    let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let (main_pid, listener) = spawn_filtered(opts, old_mask, as_started)?;
    // Linux 6.6+: the caller hands its CPU straight to the notification
    // thread and back. A hint: an older kernel refuses it (EINVAL), and
    // the service is the same without it.
    let sync = sys::notif_sync_wakeup(listener.as_raw_fd());
    if opts.verbose {
        let how = if sync {
            "on"
        } else {
            "not offered by this kernel (Linux 6.6+)"
        };
        fdset_core::cli::warn(format_args!(
            "fdset-run: seccomp listener: synchronous wake-up {how}"
        ));
    }
    let sh = Arc::new(Shared {
        state: std::sync::Mutex::new(State {
            registry,
            tree: Tree::new(epoll.as_raw_fd()),
        }),
        records: AtomicUsize::new(0),
        forking: AtomicUsize::new(0),
        paths,
        verbose: opts.verbose,
        listener: listener.into_raw_fd(),
    });
    let served = Arc::clone(&sh);
    std::thread::Builder::new()
        .name("fdset-seccomp".into())
        .spawn(move || crate::serve::serve(&served))
        .map_err(|e| Failure::Launcher(format!("cannot start the notification thread: {e}")))?;
    Ok(Control::new(sh, epoll, signals, qmp, main_pid).run())
}

/// Start the program under the filter; its process id and the listener,
/// checked. The program starts with the signal mask `old_mask`.
fn spawn_filtered(
    opts: &LaunchOptions,
    old_mask: libc::sigset_t,
    as_started: u8,
) -> Result<(i32, OwnedFd), Failure> {
    let (ours, theirs) =
        UnixStream::pair().map_err(|e| Failure::Launcher(format!("socketpair: {e}")))?;
    let handshake = std::thread::spawn(move || receive_listener(&ours));
    let mut cmd = Command::new(&opts.program[0]);
    cmd.args(&opts.program[1..]);
    // Served from here (`opts` holds what they held), as the shim takes
    // them out of its program's environment (spec section 5): an
    // FDSET_ADD_FD left would name descriptors the program no longer has.
    for var in fdset_core::launch::inherited::JOINED_VARIABLES {
        cmd.env_remove(var);
    }
    cmd.env_remove("FDSET_WAIT");
    install_before_exec(&mut cmd, theirs.as_raw_fd(), old_mask, as_started);
    let spawned = cmd.spawn();
    // Our copy of the child's end: the hand-over sees EOF if the child
    // ended without a word.
    drop(theirs);
    let handed = handshake
        .join()
        .unwrap_or_else(|_| Err("--seccomp: internal error".into()));
    match (spawned, handed) {
        // Reaped by the control loop (waitpid(-1)), never by std.
        (Ok(c), Ok(l)) => Ok((c.id() as i32, l)),
        (Err(_), Err(msg)) if !msg.is_empty() => Err(Failure::Launcher(msg)),
        (Ok(mut c), Err(msg)) => {
            let _ = c.kill();
            let _ = c.wait();
            Err(Failure::Launcher(msg))
        }
        (Err(e), _) => {
            let name = opts.program[0].to_string_lossy();
            let code = if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            Err(Failure::Exec(code, format!("cannot run {name}: {e}")))
        }
    }
}

/// The child's half of the hand-over, between fork and exec: install the
/// filter, send the listener over `sock`, and exec only once fdset-run
/// said yes.
fn install_before_exec(cmd: &mut Command, sock: RawFd, old_mask: libc::sigset_t, as_started: u8) {
    let prog = filter::program();
    let nnp = !has_cap_sys_admin();
    // SAFETY: between fork and exec only async-signal-safe system calls
    // (sigprocmask, prctl, seccomp, sendmsg, read) on data prepared before the fork;
    // nothing allocates. The calls after the filter (sendmsg, read, execve)
    // are not ones it sends to fdset-run, which is busy in spawn() until
    // the exec.
    unsafe {
        cmd.pre_exec(move || {
            // Before the filter, which would send a close to fdset-run
            // (busy in spawn() until the exec).
            fdset_core::launch::as_started::restore(as_started);
            // The program gets the signal mask fdset-run was started with.
            libc::sigprocmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut());
            match filter::install(&prog, nnp) {
                Ok(l) => {
                    // The listener is close-on-exec: the exec closes it
                    // (a close() would go to fdset-run, which waits for the exec).
                    scm::send_fds(sock, &[l], b"l")?;
                    let mut go = [0u8; 1];
                    let n = libc::read(sock, go.as_mut_ptr().cast(), 1);
                    if n != 1 || go[0] != b'y' {
                        return Err(io::Error::from_raw_os_error(libc::ECANCELED));
                    }
                }
                Err(e) => {
                    let b = e.to_ne_bytes();
                    let _ = scm::send_fds(sock, &[], &[b'e', b[0], b[1], b[2], b[3]]);
                    return Err(io::Error::from_raw_os_error(e));
                }
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_kernel_without_user_notification() {
        assert!(
            check_actions_avail(Some(
                "kill_process kill_thread trap errno user_notif trace log allow\n"
            ))
            .is_ok()
        );
        let e = check_actions_avail(Some(
            "kill_process kill_thread trap errno trace log allow\n",
        ))
        .unwrap_err();
        assert!(e.contains("user_notif") && e.contains("5.14"), "{e}");
        let e = check_actions_avail(None).unwrap_err();
        assert!(e.contains("actions_avail"), "{e}");
    }

    #[test]
    fn the_running_kernel_offers_what_is_needed() {
        let t = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").ok();
        check_actions_avail(t.as_deref()).expect("this kernel serves --seccomp");
    }
}
