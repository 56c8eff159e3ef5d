//! Calls made through a member on a caller's behalf, with the caller's
//! rights (spec section 8: "as the kernel would answer for the member's
//! file"; section 9: the same rules as the shim, which makes them in the
//! caller). Reading a `trusted.*` attribute, setting a file's times, or
//! `O_NOATIME` depend on who asks: fdset-run may be root while a process of
//! the tree has dropped to another user. For such a call the serving thread
//! takes the caller's file-system ids, groups and effective capabilities
//! (per-thread system calls, not glibc's process-wide wrappers) and gives
//! its own back afterwards.

use crate::sys::{self, Errno};

/// The credentials a permission check looks at, from `/proc/.../status`.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Creds {
    fsuid: u32,
    fsgid: u32,
    groups: Vec<u32>,
    cap_eff: u64,
    cap_prm: u64,
}

fn parse(text: &str) -> Option<Creds> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
    };
    let nth = |key: &str, i: usize| -> Option<u32> {
        field(key)?.split_ascii_whitespace().nth(i)?.parse().ok()
    };
    let hex = |key: &str| u64::from_str_radix(field(key)?, 16).ok();
    Some(Creds {
        fsuid: nth("Uid:", 3)?,
        fsgid: nth("Gid:", 3)?,
        groups: field("Groups:")?
            .split_ascii_whitespace()
            .filter_map(|g| g.parse().ok())
            .collect(),
        cap_eff: hex("CapEff:")?,
        cap_prm: hex("CapPrm:")?,
    })
}

fn read(path: &str) -> Option<Creds> {
    parse(&std::fs::read_to_string(path).ok()?)
}

/// Whether thread `tid` is in fdset-run's own user namespace. A process in
/// another holds its capabilities there only, over what that namespace
/// owns; here they count for nothing (none is lent to it).
fn same_user_namespace(tid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ns = |p: String| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
    match (
        ns(format!("/proc/{tid}/ns/user")),
        ns("/proc/thread-self/ns/user".into()),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Which of this thread's credentials were changed (and are given back).
#[derive(Default)]
struct Changed {
    groups: bool,
    fsgid: bool,
    fsuid: bool,
    caps: bool,
}

/// While alive, the calling thread checks permissions as thread `tid`
/// would; dropped, as itself again.
pub struct AsCaller {
    saved: Creds,
    changed: Changed,
}

/// Take `tid`'s credentials for the calls that follow: only those that
/// differ from this thread's are changed. `EPERM` when one cannot be
/// taken: the call is then refused rather than made with fdset-run's
/// rights (what was changed already is given back).
pub fn as_caller(tid: i32) -> Result<AsCaller, Errno> {
    let mut theirs = read(&format!("/proc/{tid}/status")).ok_or(libc::ESRCH)?;
    let ours = read("/proc/thread-self/status").ok_or(libc::EPERM)?;
    if !same_user_namespace(tid) {
        theirs.cap_eff = 0;
    }
    let caps = theirs.cap_eff & ours.cap_prm;
    let mut guard = AsCaller {
        saved: ours.clone(),
        changed: Changed::default(),
    };
    // Groups and ids while this thread still has CAP_SETGID/CAP_SETUID;
    // the effective capabilities last.
    if theirs.groups != ours.groups {
        set_groups(&theirs.groups)?;
        guard.changed.groups = true;
    }
    if theirs.fsgid != ours.fsgid {
        set_fsid(libc::SYS_setfsgid, theirs.fsgid)?;
        guard.changed.fsgid = true;
    }
    if theirs.fsuid != ours.fsuid {
        set_fsid(libc::SYS_setfsuid, theirs.fsuid)?;
        guard.changed.fsuid = true;
    }
    if caps != ours.cap_eff {
        set_effective_caps(caps, ours.cap_prm)?;
        guard.changed.caps = true;
    }
    Ok(guard)
}

impl Drop for AsCaller {
    fn drop(&mut self) {
        let (c, ch) = (&self.saved, &self.changed);
        // Capabilities first: they allow the rest.
        let restored = (!ch.caps || set_effective_caps(c.cap_eff, c.cap_prm).is_ok())
            && (!ch.fsuid || set_fsid(libc::SYS_setfsuid, c.fsuid).is_ok())
            && (!ch.fsgid || set_fsid(libc::SYS_setfsgid, c.fsgid).is_ok())
            && (!ch.groups || set_groups(&c.groups).is_ok());
        if !restored {
            // Serving on with another process's rights would be worse
            // than not serving.
            fdset_core::cli::warn(format_args!(
                "fdset-run: cannot take back its own credentials after a call made as a process of the tree; stopping"
            ));
            std::process::abort();
        }
    }
}

fn set_groups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: the raw system call changes only this thread's groups; the
    // array outlives it.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    sys::check(r).map(|_| ())
}

/// `setfsuid`/`setfsgid` say no error; the id asked back (with an invalid
/// id, which changes nothing) tells whether it took.
fn set_fsid(nr: libc::c_long, id: u32) -> Result<(), Errno> {
    // SAFETY: per-thread id changes with integer arguments.
    let now = unsafe {
        libc::syscall(nr, id as libc::c_long);
        libc::syscall(nr, u32::MAX as libc::c_long)
    };
    if now as u32 == id {
        Ok(())
    } else {
        Err(libc::EPERM)
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// This thread's effective capabilities `eff` (within `prm`, its permitted
/// set, which stays), inheritable ones as they are.
fn set_effective_caps(eff: u64, prm: u64) -> Result<(), Errno> {
    let mut head = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data records, as version 3 has them.
    sys::check(unsafe { libc::syscall(libc::SYS_capget, &mut head, data.as_mut_ptr()) })?;
    for (i, d) in data.iter_mut().enumerate() {
        d.effective = (eff >> (32 * i)) as u32;
        d.permitted = (prm >> (32 * i)) as u32;
    }
    // SAFETY: as above; pid 0 is this thread.
    sys::check(unsafe { libc::syscall(libc::SYS_capset, &mut head, data.as_ptr()) }).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsafe_gettid() -> i32 {
        // SAFETY: no arguments.
        unsafe { libc::gettid() }
    }

    #[test]
    fn the_status_fields_a_permission_check_uses() {
        let text = "Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t50\t51\t52\t53\n\
                    Groups:\t7 9 \nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000000000\n";
        let c = parse(text).unwrap();
        assert_eq!((c.fsuid, c.fsgid, c.groups), (1003, 53, vec![7, 9]));
        assert_eq!((c.cap_eff, c.cap_prm), (0, 0x1ff_ffff_ffff));
        assert!(
            parse("Uid:\t1 2\n").is_none(),
            "a status without the fields"
        );
        let own = read("/proc/thread-self/status").expect("this thread's status");
        // This very thread: nothing to switch, nothing changed.
        let tid = unsafe_gettid();
        assert!(as_caller(tid).is_ok());
        assert_eq!(read("/proc/thread-self/status"), Some(own));
    }
}
