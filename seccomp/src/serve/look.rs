//! The calls that look at a path (spec section 8): `stat`, `statx`,
//! `access`, `readlink`, `statfs`. Each has the same shape, [`Call::look`]:
//! not a set path, the kernel's; a name under a prefix that is no set
//! number, `ENOENT`; a prefix directory, its own answer when none exists
//! on disk; a set, the answer of its newest visible member.

use super::target::{
    Ids, Target, caller_ids, classify, exists_for, prefix_dir_stat, prefix_dir_statx,
};
use super::{Call, Reply, errno_text, text};
use crate::sys::{self, Errno};
use fdset_core::look_flags::{LookCall, kernel_refuses};
use fdset_core::prefix_dir;
use fdset_core::registry::{self, LookOutcome, RawFd, ServedModes};

impl Call<'_> {
    /// The shape of every look call on the path at `addr`: `dir` answers a
    /// prefix directory, `set` a set (with the path, for the log).
    pub(super) fn look(
        &self,
        call: &str,
        addr: u64,
        dir: impl FnOnce(&[u8]) -> Reply,
        set: impl FnOnce(u64, &[u8]) -> Reply,
    ) -> Reply {
        let Some(path) = self.path(addr) else {
            return Reply::Continue;
        };
        match classify(&self.sh.paths, &path, true) {
            Target::Other => Reply::Continue,
            Target::PrefixDir => dir(&path),
            Target::BadNumber => {
                self.log(&format!("{call} {}: ENOENT: not a set number", text(&path)));
                Reply::Error(libc::ENOENT)
            }
            Target::Set(s) => set(s, &path),
        }
    }

    /// A prefix directory's answer, when no such directory exists on disk
    /// for the caller (else the kernel's).
    pub(super) fn absent_dir(&self, path: &[u8], answer: impl FnOnce(&Ids) -> Reply) -> Reply {
        if exists_for(self.tid, path) {
            return Reply::Continue;
        }
        match caller_ids(self.tid) {
            Some(ids) => answer(&ids),
            None => Reply::Continue,
        }
    }

    /// The member that answers for `set`, run through `f` under the lock
    /// (`call` and `path` name the call in the log).
    pub(super) fn through<T>(
        &self,
        call: &str,
        path: &[u8],
        set: u64,
        f: impl FnOnce(RawFd, ServedModes) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let st = self.sh.lock();
        match st.registry.look(set) {
            LookOutcome::Answered { member, modes, .. } => {
                let r = f(member, modes);
                drop(st);
                let how = match &r {
                    Ok(_) => "answers".to_string(),
                    Err(e) => format!("answers {}", errno_text(*e)),
                };
                self.log(&format!(
                    "{call} {}: set {set}: member fd {member} {how}",
                    text(path)
                ));
                r
            }
            outcome => {
                drop(st);
                let why = match outcome {
                    LookOutcome::NoSuchSet { .. } => "does not exist",
                    _ => "has no member left (all removed; only open dups keep it)",
                };
                self.log(&format!("{call} {}: ENOENT: set {set} {why}", text(path)));
                Err(libc::ENOENT)
            }
        }
    }

    /// `through`, its value written into the caller at `addr`.
    fn answer_struct<T: Copy>(
        &self,
        call: &str,
        path: &[u8],
        set: u64,
        addr: u64,
        f: impl FnOnce(RawFd) -> Result<T, Errno>,
    ) -> Reply {
        match self.through(call, path, set, |m, _| f(m)) {
            Ok(st) => self.write_answer(addr, sys::bytes_of(&st)),
            Err(e) => Reply::Error(e),
        }
    }

    pub(super) fn stat(&self, call: &str, addr: u64, buf_addr: u64, flags: i32) -> Reply {
        if kernel_refuses(LookCall::Fstatat, flags) {
            // The kernel's EINVAL.
            return Reply::Continue;
        }
        self.look(
            call,
            addr,
            |path| {
                self.absent_dir(path, |ids| {
                    self.log(&format!("{call} {}: a prefix directory (0555)", text(path)));
                    self.write_answer(
                        buf_addr,
                        sys::bytes_of(&prefix_dir_stat(self.tid, path, ids)),
                    )
                })
            },
            |set, path| self.answer_struct(call, path, set, buf_addr, sys::fstat),
        )
    }

    pub(super) fn statx(&self, addr: u64, flags: i32, mask: u32, buf_addr: u64) -> Reply {
        if kernel_refuses(LookCall::Statx, flags) {
            // The kernel's EINVAL.
            return Reply::Continue;
        }
        self.look(
            "statx",
            addr,
            |path| {
                self.absent_dir(path, |ids| {
                    self.log(&format!("statx {}: a prefix directory (0555)", text(path)));
                    self.write_answer(
                        buf_addr,
                        sys::bytes_of(&prefix_dir_statx(self.tid, path, ids)),
                    )
                })
            },
            |set, path| {
                self.answer_struct("statx", path, set, buf_addr, |m| {
                    sys::fstatx(m, flags, mask)
                })
            },
        )
    }

    pub(super) fn access(&self, call: &str, addr: u64, mode: i32, flags: i32) -> Reply {
        if kernel_refuses(LookCall::Faccessat2, flags)
            || mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0
        {
            // The kernel's EINVAL.
            return Reply::Continue;
        }
        let effective = flags & libc::AT_EACCESS != 0;
        self.look(
            call,
            addr,
            |path| {
                self.absent_dir(path, |_| match prefix_dir::dir_access(mode) {
                    Ok(()) => Reply::Value(0),
                    Err(e) => Reply::Error(e),
                })
            },
            |set, path| {
                let r = self.through(call, path, set, |m, modes| {
                    registry::access_allowed(modes, mode).map_err(|_| libc::EACCES)?;
                    if mode & libc::X_OK != 0 {
                        self.may_execute(m, effective)?;
                    }
                    Ok(())
                });
                match r {
                    Ok(()) => Reply::Value(0),
                    Err(e) => Reply::Error(e),
                }
            },
        )
    }

    /// `X_OK` on member `m`: its file's mode and mount for the caller's ids.
    fn may_execute(&self, m: RawFd, effective: bool) -> Result<(), Errno> {
        let st = sys::fstat(m)?;
        let ids = caller_ids(self.tid).ok_or(libc::ESRCH)?;
        let i = usize::from(effective);
        let (groups, gid) = (&ids.groups, ids.gid[i]);
        let noexec = sys::fstatvfs_flags(m).is_ok_and(|f| f & libc::ST_NOEXEC != 0);
        let allowed =
            registry::exec_permitted(st.st_mode, st.st_uid, st.st_gid, ids.uid[i], noexec, |g| {
                g == gid || groups.contains(&g)
            });
        if allowed { Ok(()) } else { Err(libc::EACCES) }
    }

    pub(super) fn readlink(&self, addr: u64, size: i64) -> Reply {
        if size <= 0 || size > i32::MAX as i64 {
            return Reply::Continue;
        }
        self.look(
            "readlink",
            addr,
            // A directory is not a symbolic link either.
            |path| self.absent_dir(path, |_| Reply::Error(libc::EINVAL)),
            |set, path| match self.through("readlink", path, set, |_, _| Ok(())) {
                Ok(()) => Reply::Error(libc::EINVAL),
                Err(e) => Reply::Error(e),
            },
        )
    }

    /// `statfs`: the member's file system.
    pub(super) fn statfs(&self, addr: u64, buf_addr: u64) -> Reply {
        self.look(
            "statfs",
            addr,
            |_| Reply::Continue,
            |set, path| self.answer_struct("statfs", path, set, buf_addr, sys::fstatfs),
        )
    }
}
