//! One function per QMP command (spec section 3), as QEMU's monitor/fds.c
//! has one per command: arguments checked in QEMU's order, then the effect
//! on the sets through [`FdSetOps`].

use super::args::Args;
use super::json_text::{Obj, list};
use super::{
    ALREADY_NEGOTIATED, Answer, COMMANDS, EMPTY_RETURN, FdSetOps, NO_FD, QEMU_VERSION, Ret,
    generic, not_found, version_object,
};
use crate::registry::{QuerySnapshot, RawFd};
use std::collections::VecDeque;

/// `qmp_capabilities`: leaves capabilities negotiation mode, once.
pub(super) fn qmp_capabilities(mut args: Args, negotiated: &mut bool) -> Ret {
    let oob = args.capabilities()?;
    args.done()?;
    // As QEMU: the arguments' shape first, then a second negotiation, then
    // what this monitor cannot offer.
    if *negotiated {
        return Err(not_found(ALREADY_NEGOTIATED.to_string()));
    }
    if oob {
        return Err(generic("This monitor does not support Out-Of-Band (OOB)"));
    }
    *negotiated = true;
    Ok(EMPTY_RETURN.into())
}

/// `add-fd`: the oldest received fd becomes a member. The fd is looked for
/// before `fdset-id` is checked, as QEMU does.
pub(super) fn add_fd(
    mut args: Args,
    received: &mut VecDeque<RawFd>,
    ops: &mut dyn FdSetOps,
) -> Ret {
    let set = args.opt_int("fdset-id")?;
    let opaque = args.opt_str("opaque")?;
    args.done()?;
    let fd = received.pop_front().ok_or_else(|| generic(NO_FD))?;
    let set = match set {
        Some(s) if s < 0 => {
            ops.close_fd(fd);
            return Err(generic("Parameter 'fdset-id' expects a non-negative value"));
        }
        s => s.map(|s| s as u64),
    };
    let (set, fd) = ops.add_fd(fd, set, opaque).map_err(generic)?;
    Ok(Obj::new()
        .field("fdset-id", set)
        .field("fd", fd)
        .end()
        .into())
}

/// `remove-fd`: marks one member, or every member of the set, removed.
pub(super) fn remove_fd(mut args: Args, ops: &mut dyn FdSetOps) -> Ret {
    let set = args.int("fdset-id")?;
    let fd = args.opt_int("fd")?;
    args.done()?;
    let found = u64::try_from(set).is_ok_and(|set| match fd {
        None => ops.remove_fd(set, None),
        Some(fd) => RawFd::try_from(fd).is_ok_and(|fd| ops.remove_fd(set, Some(fd))),
    });
    if !found {
        let name = match fd {
            Some(fd) => format!("fdset-id:{set}, fd:{fd}"),
            None => format!("fdset-id:{set}"),
        };
        return Err(generic(format!("File descriptor named '{name}' not found")));
    }
    Ok(EMPTY_RETURN.into())
}

/// `query-fdsets`: sets in descending id order, visible members only,
/// copied into `sets` (the reply is written from it).
pub(super) fn query_fdsets(args: Args, ops: &mut dyn FdSetOps, sets: &mut QuerySnapshot) -> Ret {
    args.done()?;
    ops.query_fdsets_snapshot(sets);
    Ok(Answer::Sets)
}

/// `cont`: releases a program started with `FDSET_WAIT=1`.
pub(super) fn cont(args: Args, ops: &mut dyn FdSetOps) -> Ret {
    args.done()?;
    ops.cont();
    Ok(EMPTY_RETURN.into())
}

/// `query-version`: the QEMU release whose behaviour this copies.
pub(super) fn query_version(args: Args) -> Ret {
    args.done()?;
    let (major, minor, micro) = QEMU_VERSION;
    Ok(version_object(major, minor, micro).into())
}

/// `query-commands`: every command this server knows.
pub(super) fn query_commands(args: Args) -> Ret {
    args.done()?;
    Ok(list(COMMANDS.iter().map(|c| Obj::new().field("name", *c).end())).into())
}
