//! Carrying the sets across `exec` (spec section 7): before a preloaded
//! program image is replaced, the state goes into a memfd named by
//! `FDSET_STATE=<fd>` in the new environment, and the members are made to
//! survive the exec; the new image's shim validates and restores it.
//!
//! Members stay close-on-exec at all other times, so an exec into an
//! environment that does not preload the shim receives nothing of ours.

use crate::carry::environment;
use crate::carry::privileged::Target;
use crate::libc_real;
use crate::state::exec_gate;
use crate::state::fdtable::{self, FdKind};
use fdset_core::exec_state::{CarriedMember, CarriedSet, ExecState};
use fdset_core::paths::PathConfig;
use fdset_core::registry::RawFd;
use libc::c_char;
use once_cell::sync::OnceCell;
use std::ffi::{CStr, CString};

pub const STATE_VAR: &str = "FDSET_STATE";
const STATE_PREFIX: &[u8] = b"FDSET_STATE=";
const MEMFD_NAME: &CStr = c"fdset-state";

unsafe extern "C" {
    static environ: *const *const c_char;
}

/// The file name of this library, to recognise it in `LD_PRELOAD`.
static OUR_NAME: OnceCell<Vec<u8>> = OnceCell::new();

fn our_file_name() -> &'static [u8] {
    OUR_NAME.get_or_init(|| {
        // SAFETY: Dl_info is plain data; all-zero is its empty value.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let addr = our_file_name as *const libc::c_void;
        // SAFETY: dladdr fills info for an address inside this library.
        let ok = unsafe { libc::dladdr(addr, &mut info) } != 0 && !info.dli_fname.is_null();
        let full = if ok {
            // SAFETY: dli_fname is a NUL-terminated path.
            unsafe { CStr::from_ptr(info.dli_fname) }
                .to_bytes()
                .to_vec()
        } else {
            b"libfdset_shim.so".to_vec()
        };
        full.rsplit(|&b| b == b'/')
            .next()
            .unwrap_or(b"libfdset_shim.so")
            .to_vec()
    })
}

/// Called at start-up, so that later look-ups allocate nothing.
pub fn init_our_name() {
    our_file_name();
}

/// Whether an environment preloads this library (an entry of `LD_PRELOAD`
/// with the same file name).
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of C strings.
pub unsafe fn env_preloads_us(envp: *const *const c_char) -> bool {
    let ours = our_file_name();
    // SAFETY: as the caller promised.
    let preload = unsafe { environment::entries(envp) }
        .find_map(|(_, entry)| environment::value_of(entry, b"LD_PRELOAD"));
    preload.is_some_and(|v| {
        v.split(|&b| b == b' ' || b == b':')
            .any(|item| item.rsplit(|&b| b == b'/').next() == Some(ours))
    })
}

/// An environment and descriptors ready for an exec that carries the sets.
pub struct Prepared {
    _state_entry: CString,
    env: Vec<*const c_char>,
    /// Descriptors that must survive the exec (members, the state memfd).
    pub inherit: Vec<RawFd>,
    /// The dups the state names (they survive the exec as the program's).
    dups: Vec<RawFd>,
    cloexec_cleared: bool,
    memfd: RawFd,
    /// The monitors were handed over (an exec in this process).
    control: bool,
}

impl Prepared {
    pub fn envp(&self) -> *const *const c_char {
        self.env.as_ptr()
    }

    /// Whether a spawn's file actions write a number the state names.
    pub fn collides(&self, targets: &crate::carry::file_actions::Targets) -> bool {
        targets.hits(self.inherit.iter().chain(&self.dups).copied())
    }

    /// Make the descriptors inheritable, for the exec that follows.
    pub fn expose(&mut self) {
        for &fd in &self.inherit {
            libc_real::fcntl_int(fd, libc::F_SETFD, 0);
        }
        self.cloexec_cleared = true;
    }

    /// After the exec returned (it failed) or the spawn made its child:
    /// everything of ours is close-on-exec again, the state memfd closed and
    /// the control thread resumed.
    pub fn restore(self) {
        let saved = libc_real::errno();
        if self.cloexec_cleared {
            for &fd in &self.inherit {
                libc_real::fcntl_int(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        libc_real::close(self.memfd);
        if self.control {
            crate::control::resume_after_failed_exec();
        }
        libc_real::set_errno(saved);
    }
}

/// The state to carry, or `None` when there is nothing (then the exec goes
/// ahead untouched). Takes the registry lock only to read.
fn collect_state(control: Option<serde_json::Value>) -> Option<ExecState> {
    let st = crate::state::lock()?;
    let cfg = crate::state::config();
    let mut out = ExecState {
        prefixes: cfg.paths.prefixes.clone(),
        aliases: cfg.paths.aliases.clone(),
        log: crate::log::log_enabled(),
        io_uring_off: crate::ops::syscall::io_uring_off(),
        // The new image has no monitor of ours unless the exec is in this
        // very process; with none, nobody could remove its sets.
        always_in_use: control.is_none(),
        sets: Vec::new(),
        control,
    };
    for (&id, set) in st.registry.sets() {
        let mut cs = CarriedSet {
            id,
            members: Vec::new(),
            dups: Vec::new(),
        };
        for m in &set.members {
            // A member the program closed with a raw syscall is gone.
            if libc_real::fcntl_int(m.fd, libc::F_GETFD, 0) >= 0 {
                cs.members.push(CarriedMember {
                    fd: m.fd,
                    opaque: m.opaque.clone(),
                    removed: m.removed,
                });
            }
        }
        for &d in &set.dups {
            // Only dups that survive the exec stay recorded.
            let f = libc_real::fcntl_int(d, libc::F_GETFD, 0);
            if f >= 0 && f & libc::FD_CLOEXEC == 0 {
                cs.dups.push(d);
            }
        }
        if !cs.members.is_empty() || !cs.dups.is_empty() {
            out.sets.push(cs);
        }
    }
    drop(st);
    if out.sets.is_empty()
        && out.prefixes.is_empty()
        && out.aliases.is_empty()
        && out.control.is_none()
    {
        return None;
    }
    Some(out)
}

/// The state in a close-on-exec memfd, at a number at or above
/// `OWNED_FD_BASE` and `above` (away from the numbers a spawn's file actions
/// write, and from the low ones programs use).
fn write_memfd(text: &[u8], above: RawFd) -> Option<RawFd> {
    // SAFETY: plain syscall wrapper (not hooked).
    let first = unsafe { libc::memfd_create(MEMFD_NAME.as_ptr(), libc::MFD_CLOEXEC) };
    if first < 0 {
        return None;
    }
    let high = libc_real::fcntl_int(
        first,
        libc::F_DUPFD_CLOEXEC,
        crate::state::OWNED_FD_BASE.max(above),
    );
    let fd = if high >= 0 {
        libc_real::close(first);
        high
    } else if above <= first {
        // A low RLIMIT_NOFILE: the first number is fine when above the rest.
        first
    } else {
        libc_real::close(first);
        return None;
    };
    let mut off = 0;
    while off < text.len() {
        // SAFETY: valid buffer slice.
        let n = unsafe { libc::write(fd, text[off..].as_ptr().cast(), text.len() - off) };
        if n <= 0 {
            if n < 0 && libc_real::errno() == libc::EINTR {
                continue;
            }
            libc_real::close(fd);
            return None;
        }
        off += n as usize;
    }
    Some(fd)
}

/// Prepare an exec with environment `envp` (NULL: `environ`). With
/// `clear_cloexec` the descriptors are made inheritable here (exec in this
/// process or a forked child); without, the caller arranges it
/// (`posix_spawn` file actions).
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of C strings.
pub unsafe fn prepare(envp: *const *const c_char, clear_cloexec: bool) -> Option<Prepared> {
    // SAFETY: per the contract.
    unsafe { prepare_with(envp, clear_cloexec, false, 0) }
}

/// [`prepare`] for a spawn whose file actions write `targets` (the state
/// memfd is put above all of them).
///
/// # Safety
/// As for [`prepare`].
pub unsafe fn prepare_avoiding(
    envp: *const *const c_char,
    targets: &crate::carry::file_actions::Targets,
) -> Option<Prepared> {
    let above = targets
        .fds
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m.saturating_add(1));
    // SAFETY: per the contract.
    unsafe { prepare_with(envp, false, false, above) }
}

/// [`prepare`]; with `hold_exposure`, an exec in this process whose caller
/// makes the descriptors inheritable itself ([`Prepared::expose`]), once it
/// has recorded them.
///
/// # Safety
/// As for [`prepare`].
unsafe fn prepare_with(
    envp: *const *const c_char,
    clear_cloexec: bool,
    hold_exposure: bool,
    memfd_above: RawFd,
) -> Option<Prepared> {
    let envp = if envp.is_null() {
        // SAFETY: reading the process's environment pointer.
        unsafe { environ }
    } else {
        envp
    };
    // SAFETY: per the contract.
    if !unsafe { env_preloads_us(envp) } {
        return None;
    }
    // Monitors go along only with an exec in this very process (not from a
    // forked child, not through posix_spawn): spec section 7.
    let handed = if clear_cloexec && !crate::state::process_owner::foreign_process() {
        crate::control::export_for_exec()
    } else {
        None
    };
    let resume = |handed: bool| {
        if handed {
            crate::control::resume_after_failed_exec();
        }
    };
    let (control, control_fds) = match handed {
        Some((v, fds)) => (Some(v), fds),
        None => (None, Vec::new()),
    };
    let had_control = control.is_some();
    let Some(state) = collect_state(control) else {
        resume(had_control);
        return None;
    };
    let Some(memfd) = write_memfd(state.to_json().as_bytes(), memfd_above) else {
        resume(had_control);
        return None;
    };
    let mut inherit: Vec<RawFd> = state
        .sets
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.fd))
        .collect();
    let dups: Vec<RawFd> = state
        .sets
        .iter()
        .flat_map(|s| s.dups.iter().copied())
        .collect();
    inherit.extend(control_fds);
    inherit.push(memfd);
    let Ok(entry) = CString::new(format!("{STATE_VAR}={memfd}")) else {
        libc_real::close(memfd);
        resume(had_control);
        return None;
    };
    // SAFETY: as the caller promised.
    let mut env: Vec<*const c_char> = unsafe { environment::entries(envp) }
        .filter(|(_, entry)| !entry.starts_with(STATE_PREFIX))
        // SAFETY: the slot lies inside the array (the walk yielded it).
        .map(|(slot, _)| unsafe { *slot })
        .collect();
    env.push(entry.as_ptr());
    env.push(std::ptr::null());
    let mut p = Prepared {
        _state_entry: entry,
        env,
        inherit,
        dups,
        cloexec_cleared: false,
        memfd,
        control: had_control,
    };
    if clear_cloexec && !hold_exposure {
        p.expose();
    }
    Some(p)
}

/// Read and check `FDSET_STATE` at start-up, then restore the sets. `Err`
/// stops the program (a forged or broken state is never trusted).
pub fn restore_from_env(value: &str, paths: &mut PathConfig, log: &mut bool) -> Result<(), String> {
    let bad = |why: String| format!("{STATE_VAR}: {why}");
    let fd: RawFd = value
        .parse()
        .ok()
        .filter(|&n| (3..=fdset_core::exec_state::MAX_FD as i32).contains(&n))
        .ok_or_else(|| bad(format!("'{value}' is not a descriptor number")))?;
    let link = CString::new(format!("/proc/self/fd/{fd}")).map_err(|_| bad("bad fd".into()))?;
    let mut target = [0u8; 64];
    // SAFETY: readlink into a local buffer.
    let n = unsafe { libc::readlink(link.as_ptr(), target.as_mut_ptr().cast(), target.len()) };
    if n < 0 || !target[..n as usize].starts_with(b"/memfd:fdset-state") {
        return Err(bad(format!("fd {fd} is not the shim's state memfd")));
    }
    let mut text = Vec::new();
    let mut buf = [0u8; 65536];
    let mut off: libc::off_t = 0;
    loop {
        // SAFETY: read into a local buffer.
        let r = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) };
        if r < 0 && libc_real::errno() == libc::EINTR {
            continue;
        }
        if r <= 0 {
            break;
        }
        text.extend_from_slice(&buf[..r as usize]);
        off += r as libc::off_t;
        if text.len() > fdset_core::exec_state::MAX_STATE_BYTES {
            break;
        }
    }
    libc_real::close(fd);
    let state = ExecState::from_json(&text).map_err(bad)?;
    for fd in state.fds() {
        if libc_real::fcntl_int(fd, libc::F_GETFD, 0) < 0 {
            return Err(bad(format!("fd {fd} is not open")));
        }
        if fdtable::kind(fd) != FdKind::Free {
            return Err(bad(format!("fd {fd} is already in use by the shim")));
        }
    }
    for p in state.prefixes {
        if !paths.prefixes.contains(&p) {
            paths.prefixes.push(p);
        }
    }
    for a in state.aliases {
        if !paths.aliases.contains(&a) {
            paths.aliases.push(a);
        }
    }
    *log |= state.log;
    if state.io_uring_off {
        crate::ops::syscall::set_io_uring_off(true);
    }
    let mut st = crate::state::lock().ok_or_else(|| bad("registry busy".into()))?;
    for set in state.sets {
        for m in set.members {
            libc_real::fcntl_int(m.fd, libc::F_SETFD, libc::FD_CLOEXEC);
            let info = crate::state::member_info(m.fd)
                .map_err(|e| bad(format!("fd {}: errno {e}", m.fd)))?;
            fdtable::mark(m.fd, FdKind::Owned);
            st.registry.restore_member(
                set.id,
                fdset_core::registry::Member {
                    fd: m.fd,
                    opaque: m.opaque,
                    removed: m.removed,
                    info,
                },
            );
        }
        for d in set.dups {
            fdtable::mark(d, FdKind::Dup);
            st.registry.restore_dup(set.id, d);
        }
    }
    st.registry.set_always_in_use(state.always_in_use);
    drop(st);
    if let Some(control) = &state.control {
        crate::control::resume_from_exec(control)?;
    }
    Ok(())
}

/// Whether a program started with environment `envp` (NULL: `environ`)
/// from `target` gets nothing: its environment does not preload the shim,
/// or it is privileged (`carry::privileged`).
///
/// # Safety
/// As for [`run_exec`].
pub unsafe fn carries_nothing(target: Target, envp: *const *const c_char) -> bool {
    let env = if envp.is_null() {
        // SAFETY: reading the process's environment pointer.
        unsafe { environ }
    } else {
        envp
    };
    // SAFETY: per the contract.
    !unsafe { env_preloads_us(env) } || unsafe { crate::carry::privileged::refuses(target) }
}

/// An exec-family call: `with_state(envp)` when there is state to carry,
/// `plain()` otherwise. When the exec fails, everything is as before.
///
/// An exec that carries the sets holds the exec gate alone while the
/// members are inheritable (no other thread starts a program meanwhile);
/// one that carries nothing holds a share of it (no other thread's exec
/// exposes anything to it). A privileged target gets nothing. A `vfork`
/// child (or a raw clone's) changes only its own descriptor table and does
/// not use the gate.
///
/// # Safety
/// `envp` is NULL (meaning `environ`) or a NULL-terminated array of C
/// strings; the pointers in `target` are NULL or C strings.
pub unsafe fn run_exec(
    target: Target,
    envp: *const *const c_char,
    with_state: impl FnOnce(*const *const c_char) -> libc::c_int,
    plain: impl FnOnce() -> libc::c_int,
) -> libc::c_int {
    // SAFETY: per the contract.
    if unsafe { carries_nothing(target, envp) } {
        if crate::state::process_owner::foreign_process() {
            exec_gate::hide_exposed();
            return plain();
        }
        let _share = exec_gate::quiet_share();
        return plain();
    }
    if crate::state::process_owner::foreign_process() {
        exec_gate::hide_exposed();
        // SAFETY: per the contract.
        return match unsafe { prepare(envp, true) } {
            None => plain(),
            Some(p) => {
                let r = with_state(p.envp());
                p.restore();
                r
            }
        };
    }
    match exec_gate::hold() {
        exec_gate::Hold::Plain => {
            exec_gate::hide_exposed();
            plain()
        }
        exec_gate::Hold::Held(mut held) => {
            // SAFETY: per the contract.
            match unsafe { prepare_with(envp, true, true, 0) } {
                None => {
                    held.unblock();
                    plain()
                }
                Some(mut p) => {
                    held.exposing(&p.inherit);
                    p.expose();
                    held.unblock();
                    let r = with_state(p.envp());
                    held.block();
                    // Close-on-exec again before the gate opens (held drops last).
                    p.restore();
                    drop(held);
                    r
                }
            }
        }
    }
}
