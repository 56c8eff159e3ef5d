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
use crate::state::carry_in_flight::{self, Carrying};
use crate::state::exec_gate;
use fdset_core::exec_state::{CarriedMember, CarriedSet, ExecState, MAX_STATE_BYTES};
use fdset_core::registry::RawFd;
use libc::c_char;
use once_cell::sync::OnceCell;
use std::ffi::{CStr, CString};

pub const STATE_VAR: &str = "FDSET_STATE";
pub use crate::carry::restore::restore_from_env;
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

/// Whether an environment preloads this library, as the loader will read
/// it: its last `LD_PRELOAD` (the loader takes the last of several) has an
/// entry with this library's file name, and an entry that is a path (from
/// the current directory when relative) names a file that is there. A
/// name without a slash is searched by the loader and taken as ours.
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of C strings.
pub unsafe fn env_preloads_us(envp: *const *const c_char) -> bool {
    let ours = our_file_name();
    // SAFETY: as the caller promised.
    let preload = unsafe { environment::entries(envp) }
        .filter_map(|(_, entry)| environment::value_of(entry, b"LD_PRELOAD"))
        .last();
    preload.is_some_and(|v| {
        v.split(|&b| b == b' ' || b == b':')
            .any(|item| loads_us(item, ours))
    })
}

/// One `LD_PRELOAD` entry: ours, and there to be loaded.
fn loads_us(item: &[u8], ours: &[u8]) -> bool {
    if item.rsplit(|&b| b == b'/').next() != Some(ours) {
        return false;
    }
    if !item.contains(&b'/') {
        return true;
    }
    let Ok(path) = CString::new(item) else {
        return false;
    };
    // SAFETY: a NUL-terminated path; only reports.
    unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::R_OK, 0) == 0 }
}

/// An environment and descriptors ready for an exec that carries the sets.
pub struct Prepared {
    _state_entry: CString,
    env: Vec<*const c_char>,
    /// Descriptors that must survive the exec (members, the state memfd).
    pub inherit: Vec<RawFd>,
    /// How many of `inherit`, from its start, are inheritable now: the
    /// members are made so as they are collected (one `fcntl` each, which
    /// also tells that the member is still open), the rest by [`expose`].
    ///
    /// [`expose`]: Prepared::expose
    exposed: usize,
    memfd: RawFd,
    /// The monitors were handed over (an exec in this process).
    control: bool,
    /// Other threads' closes of dups wait while this lives (until the exec
    /// or spawn has happened or failed): the state names those dups.
    _carrying: Option<Carrying>,
}

impl Prepared {
    pub fn envp(&self) -> *const *const c_char {
        self.env.as_ptr()
    }

    /// Whether a spawn's file actions write a number a member or the state
    /// memfd is at (the dups they write were left out of the state).
    pub fn collides(&self, targets: &crate::carry::file_actions::Targets) -> bool {
        targets.hits(self.inherit.iter().copied())
    }

    /// Make the descriptors inheritable, for the exec that follows (those
    /// that are not yet).
    pub fn expose(&mut self) {
        for &fd in &self.inherit[self.exposed..] {
            libc_real::fcntl_int(fd, libc::F_SETFD, 0);
        }
        self.exposed = self.inherit.len();
    }

    /// After the exec returned (it failed) or the spawn made its child:
    /// everything of ours is close-on-exec again, the state memfd closed and
    /// the control thread resumed.
    pub fn restore(self) {
        let saved = libc_real::errno();
        hide(&self.inherit[..self.exposed]);
        libc_real::close(self.memfd);
        if self.control {
            crate::control::resume_after_failed_exec();
        }
        libc_real::set_errno(saved);
    }
}

/// Close-on-exec again.
pub(crate) fn hide(fds: &[RawFd]) {
    for &fd in fds {
        libc_real::fcntl_int(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

/// Whether member `fd` is still open (the program may have closed it with a
/// raw system call); with `expose`, it is made inheritable by the same call.
fn member_open(fd: RawFd, expose: bool) -> bool {
    if expose {
        libc_real::fcntl_int(fd, libc::F_SETFD, 0) >= 0
    } else {
        libc_real::fcntl_int(fd, libc::F_GETFD, 0) >= 0
    }
}

/// The state to carry, or `None` when there is nothing (then the exec goes
/// ahead untouched). Takes the registry lock only to read. With `expose`
/// the members carried are made inheritable as they are found open (the
/// caller makes them close-on-exec again when the exec does not happen):
/// one system call per member.
fn collect_state(
    control: Option<serde_json::Value>,
    expose: bool,
    written: Option<&crate::carry::file_actions::Targets>,
) -> Option<(ExecState, Option<Carrying>)> {
    let st = crate::state::lock()?;
    // Other threads' closes of dups wait from here until the program has
    // started or failed to (the dups read below must still be open then).
    // Not in a vfork child: its descriptor table is its own copy, which no
    // other thread closes in, and it shares the parent's memory, where a
    // carry begun by an exec that succeeds would never end.
    let carrying =
        (!crate::state::process_owner::in_vfork_child()).then(|| carry_in_flight::begin(&st));
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
            if member_open(m.fd, expose) {
                cs.members.push(CarriedMember {
                    fd: m.fd,
                    opaque: m.opaque.clone(),
                    removed: m.removed,
                });
            }
        }
        for &d in &set.dups {
            // A number a spawn's own file actions write is another file in
            // the child: not the dup.
            if written.is_some_and(|t| t.hits([d])) {
                continue;
            }
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
    // With no set carried, no member was exposed.
    if out.sets.is_empty()
        && out.prefixes.is_empty()
        && out.aliases.is_empty()
        && out.control.is_none()
    {
        return None;
    }
    Some((out, carrying))
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
    // A low RLIMIT_NOFILE: any number from 3 up will do. Never 0-2 (free
    // when the program closed its standard I/O), which the new image
    // refuses: it would stop.
    let moved = [crate::state::OWNED_FD_BASE.max(above), above.max(3)]
        .into_iter()
        .map(|min| libc_real::fcntl_int(first, libc::F_DUPFD_CLOEXEC, min))
        .find(|&fd| fd >= 0);
    libc_real::close(first);
    let fd = moved?;
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

/// What [`prepare`] found to carry.
pub enum Carry {
    /// Nothing to carry, or it could not be set up: the exec goes ahead
    /// as asked.
    Nothing,
    Carried(Prepared),
    /// The state is larger than a new image accepts
    /// ([`fdset_core::exec_state::MAX_STATE_BYTES`]): the new image would
    /// refuse it and stop, so the exec (or spawn) fails with `E2BIG`
    /// instead, and this program keeps everything as it was.
    TooLarge,
}

/// Prepare an exec with environment `envp` (NULL: `environ`). With
/// `clear_cloexec` the descriptors are made inheritable here (exec in this
/// process or a forked child); without, the caller arranges it
/// (`posix_spawn` file actions).
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of C strings.
pub unsafe fn prepare(envp: *const *const c_char, clear_cloexec: bool) -> Carry {
    // SAFETY: per the contract.
    unsafe { prepare_with(envp, clear_cloexec, false, None) }
}

/// [`prepare`] for a spawn whose file actions write `targets`: the state
/// memfd is put above all of them, and a dup at one of them is left out of
/// the state (the child has another file there).
///
/// # Safety
/// As for [`prepare`].
pub unsafe fn prepare_avoiding(
    envp: *const *const c_char,
    targets: &crate::carry::file_actions::Targets,
) -> Carry {
    // SAFETY: per the contract.
    unsafe { prepare_with(envp, false, false, Some(targets)) }
}

/// [`prepare`]; with `hold_exposure`, an exec in this process whose caller
/// makes the control sockets and the state memfd inheritable itself
/// ([`Prepared::expose`]), once it has recorded them all. The members are
/// made inheritable here already, as they are collected (one system call
/// each): the caller holds the exec gate alone with every signal blocked,
/// so no fork and no handler can see them before they are recorded.
///
/// # Safety
/// As for [`prepare`].
unsafe fn prepare_with(
    envp: *const *const c_char,
    clear_cloexec: bool,
    hold_exposure: bool,
    written: Option<&crate::carry::file_actions::Targets>,
) -> Carry {
    let memfd_above = written
        .and_then(|t| t.fds.iter().copied().max())
        .map_or(0, |m| m.saturating_add(1));
    let envp = if envp.is_null() {
        // SAFETY: reading the process's environment pointer.
        unsafe { environ }
    } else {
        envp
    };
    // SAFETY: per the contract.
    if !unsafe { env_preloads_us(envp) } {
        return Carry::Nothing;
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
    let Some((state, carrying)) = collect_state(control, clear_cloexec, written) else {
        resume(had_control);
        return Carry::Nothing;
    };
    // The members come first in `inherit`: inheritable already when
    // `clear_cloexec` (collect_state made them so).
    let mut inherit: Vec<RawFd> = state
        .sets
        .iter()
        .flat_map(|s| s.members.iter().map(|m| m.fd))
        .collect();
    let exposed = if clear_cloexec { inherit.len() } else { 0 };
    let give_up = |inherit: &[RawFd], why: Carry| -> Carry {
        hide(&inherit[..exposed]);
        resume(had_control);
        why
    };
    let text = state.to_json();
    if text.len() > MAX_STATE_BYTES {
        if crate::log::log_enabled() {
            crate::log::log(&format!(
                "exec or spawn refused (E2BIG): the sets' state is {} bytes, more than a new program image accepts ({MAX_STATE_BYTES})",
                text.len()
            ));
        }
        return give_up(&inherit, Carry::TooLarge);
    }
    let Some(memfd) = write_memfd(text.as_bytes(), memfd_above) else {
        return give_up(&inherit, Carry::Nothing);
    };
    // Up to 64 MiB: not kept through the exec.
    drop(text);
    inherit.extend(control_fds);
    inherit.push(memfd);
    let Ok(entry) = CString::new(format!("{STATE_VAR}={memfd}")) else {
        libc_real::close(memfd);
        return give_up(&inherit, Carry::Nothing);
    };
    // SAFETY: as the caller promised.
    let env = unsafe { env_with_state(envp, &entry) };
    let mut p = Prepared {
        _state_entry: entry,
        env,
        inherit,
        exposed,
        memfd,
        control: had_control,
        _carrying: carrying,
    };
    if clear_cloexec && !hold_exposure {
        p.expose();
    }
    if !clear_cloexec && !actions_can_name(&p.inherit) {
        // The child is started without the sets, as when the caller's own
        // actions close the members.
        p.restore();
        return Carry::Nothing;
    }
    Carry::Carried(p)
}

/// Whether spawn file actions (the way a child without `clear_cloexec`
/// gets the descriptors) can name every one of `fds`: glibc refuses
/// (`EBADF`) a number at or above the soft `RLIMIT_NOFILE`, which a program
/// may have lowered below the members' numbers after they were placed.
fn actions_can_name(fds: &[RawFd]) -> bool {
    // SAFETY: plain data filled by getrlimit.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid buffer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return false;
    }
    fds.iter().all(|&fd| (fd as libc::rlim_t) < rl.rlim_cur)
}

/// `envp` without any `FDSET_STATE` entry, then `entry`, then NULL.
///
/// # Safety
/// `envp` is a NULL-terminated array of C strings.
unsafe fn env_with_state(envp: *const *const c_char, entry: &CStr) -> Vec<*const c_char> {
    // SAFETY: as the caller promised.
    let mut env: Vec<*const c_char> = unsafe { environment::entries(envp) }
        .filter(|(_, entry)| !entry.starts_with(STATE_PREFIX))
        // SAFETY: the slot lies inside the array (the walk yielded it).
        .map(|(slot, _)| unsafe { *slot })
        .collect();
    env.push(entry.as_ptr());
    env.push(std::ptr::null());
    env
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
            Carry::Nothing => plain(),
            Carry::TooLarge => too_large(),
            Carry::Carried(p) => {
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
            match unsafe { prepare_with(envp, true, true, None) } {
                Carry::Nothing => {
                    held.unblock();
                    plain()
                }
                Carry::TooLarge => {
                    held.unblock();
                    too_large()
                }
                Carry::Carried(mut p) => {
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

/// An exec that cannot carry the sets fails as an exec with too much to
/// pass does ([`Carry::TooLarge`]).
pub(crate) fn too_large() -> libc::c_int {
    libc_real::set_errno(libc::E2BIG);
    -1
}
