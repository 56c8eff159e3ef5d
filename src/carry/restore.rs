//! The new image's side of carrying the sets across `exec` (spec section
//! 7): read the state memfd named by `FDSET_STATE`, check everything it
//! names before taking anything, then restore the sets (`carry::exec` is
//! the writer's side).

use crate::carry::exec::{STATE_VAR, hide};
use crate::libc_real;
use crate::state::fdtable::{self, FdKind};
use fdset_core::exec_state::ExecState;
use fdset_core::paths::PathConfig;
use fdset_core::registry::{Member, MemberInfo, RawFd};
use std::ffi::CString;

/// The contents of the state memfd named by `FDSET_STATE=value` (closed
/// after reading), or why it is refused.
fn read_state(value: &str) -> Result<Vec<u8>, String> {
    let fd: RawFd = value
        .parse()
        .ok()
        .filter(|&n| (3..=fdset_core::exec_state::MAX_FD as i32).contains(&n))
        .ok_or_else(|| format!("'{value}' is not a descriptor number"))?;
    let link = CString::new(format!("/proc/self/fd/{fd}")).map_err(|_| "bad fd".to_string())?;
    let mut target = [0u8; 64];
    // SAFETY: readlink into a local buffer.
    let n = unsafe { libc::readlink(link.as_ptr(), target.as_mut_ptr().cast(), target.len()) };
    if n < 0 || !target[..n as usize].starts_with(b"/memfd:fdset-state") {
        return Err(format!("fd {fd} is not the shim's state memfd"));
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
    Ok(text)
}

/// Every descriptor the state names must be open and not the shim's: one
/// pass, nothing changed yet. A member's `F_GETFL` (with its `fstat`, the
/// facts the registry keeps) tells that it is open; a dup's `F_GETFD`.
/// Returns the members' facts, in the state's order.
fn check_fds(state: &ExecState) -> Result<Vec<MemberInfo>, String> {
    let shims = |fd: RawFd| format!("fd {fd} is already in use by the shim");
    let mut infos = Vec::new();
    for set in &state.sets {
        for m in &set.members {
            if fdtable::kind(m.fd) != FdKind::Free {
                return Err(shims(m.fd));
            }
            infos.push(crate::state::member_info(m.fd).map_err(|e| match e {
                libc::EBADF => format!("fd {} is not open", m.fd),
                e => format!("fd {}: errno {e}", m.fd),
            })?);
        }
        for &d in &set.dups {
            if fdtable::kind(d) != FdKind::Free {
                return Err(shims(d));
            }
            if libc_real::fcntl_int(d, libc::F_GETFD, 0) < 0 {
                return Err(format!("fd {d} is not open"));
            }
        }
    }
    Ok(infos)
}

/// The members close-on-exec again: one `close_range(CLOSE_RANGE_CLOEXEC)`
/// per run of consecutive numbers (members sit side by side above
/// `OWNED_FD_BASE`, so usually one call in all), each run holding members
/// only; `F_SETFD` each where the kernel lacks it (before Linux 5.11).
fn members_cloexec(mut fds: Vec<RawFd>) {
    fds.sort_unstable();
    let mut i = 0;
    while i < fds.len() {
        let mut j = i;
        while j + 1 < fds.len() && fds[j + 1] == fds[j] + 1 {
            j += 1;
        }
        let (lo, hi) = (fds[i] as libc::c_uint, fds[j] as libc::c_uint);
        if libc_real::close_range(lo, hi, libc::CLOSE_RANGE_CLOEXEC as libc::c_int) != 0 {
            hide(&fds[i..=j]);
        }
        i = j + 1;
    }
}

/// Read and check `FDSET_STATE` at start-up, then restore the sets. `Err`
/// stops the program (a forged or broken state is never trusted). Per
/// member: `F_GETFL` and `fstat` (checked before anything is taken), then
/// close-on-exec again ([`members_cloexec`]); per dup: `F_GETFD`.
pub fn restore_from_env(value: &str, paths: &mut PathConfig, log: &mut bool) -> Result<(), String> {
    let bad = |why: String| format!("{STATE_VAR}: {why}");
    let text = read_state(value).map_err(bad)?;
    let state = ExecState::from_json(&text).map_err(bad)?;
    drop(text);
    let infos = check_fds(&state).map_err(bad)?;
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
    members_cloexec(
        state
            .sets
            .iter()
            .flat_map(|s| s.members.iter().map(|m| m.fd))
            .collect(),
    );
    let mut infos = infos.into_iter();
    for set in state.sets {
        for (m, info) in set.members.into_iter().zip(infos.by_ref()) {
            fdtable::mark(m.fd, FdKind::Owned);
            let member = Member {
                fd: m.fd,
                opaque: m.opaque,
                removed: m.removed,
                info,
            };
            st.registry.restore_member(set.id, member);
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
