//! Opening a set (spec section 2, "Open"): the member an open duplicates,
//! the dup it makes, the flags it sets on the shared description.

use super::*;

/// `O_CREAT|O_EXCL`: an open that creates a file, so finds none there.
const EXCL_CREATE: i32 = libc::O_CREAT | libc::O_EXCL;

impl Registry {
    /// Choose the member an open with `flags` would duplicate: the newest one
    /// not removed with the same access mode, preferring a matching `O_DIRECT`.
    pub(super) fn choose(
        s: &FdSet,
        ops: &mut (impl FdOps + ?Sized),
        flags: i32,
    ) -> Option<MemberRef> {
        let want = flags & O_ACCMODE;
        let eligible = |m: &&Member| m.access_mode() == want;
        let mut candidates = s.visible_members().rev().filter(eligible);
        let newest = candidates.next()?;
        let newest_ref = MemberRef {
            fd: newest.fd,
            info: newest.info,
        };
        if candidates.next().is_none() {
            return Some(newest_ref);
        }
        // O_DIRECT can be changed with F_SETFL, so it is asked for only when
        // there is a choice to make.
        s.visible_members()
            .rev()
            .filter(eligible)
            .find(|m| {
                let cur = ops.get_status_flags(m.fd).unwrap_or(m.info.status_flags);
                cur & libc::O_DIRECT == flags & libc::O_DIRECT
            })
            .map(|m| MemberRef {
                fd: m.fd,
                info: m.info,
            })
            .or(Some(newest_ref))
    }

    /// Open set `set` with open(2) `flags` (spec section 2, "Open"). On failure
    /// nothing is left behind.
    pub fn open(&mut self, ops: &mut (impl FdOps + ?Sized), set: u64, flags: i32) -> OpenOutcome {
        self.open_with_closed(ops, set, flags, &mut Vec::new())
    }

    /// [`Registry::open`], also telling which members it closed: the dup's
    /// number may have been a stale record's (see below), whose set is then
    /// cleaned up.
    pub fn open_with_closed(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
        closed: &mut Vec<ClosedMember>,
    ) -> OpenOutcome {
        let (member, dup) = match self.dup_member(ops, set, flags) {
            Ok(made) => made,
            Err(outcome) => return outcome,
        };
        if let Err((errno, what)) = Self::apply_open_flags(ops, dup, &member, flags) {
            ops.close(dup);
            return OpenOutcome::SyscallFailed {
                set,
                member: member.fd,
                errno,
                what,
            };
        }
        self.record_new_dup(ops, set, dup, closed);
        OpenOutcome::Opened {
            set,
            member: member.fd,
            dup,
        }
    }

    /// Steps 2 to 4 of an open up to the dup: the member chosen, the new
    /// descriptor, the `O_SYNC` check (after the dup, as QEMU: a dup that
    /// fails is the error then). Nothing is recorded yet.
    pub(super) fn dup_member(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
    ) -> Result<(MemberRef, RawFd), OpenOutcome> {
        let member = self.choose_member(ops, set, flags)?;
        let cloexec = flags & libc::O_CLOEXEC != 0;
        let dup = match ops.dup(member.fd, cloexec) {
            Ok(fd) => fd,
            Err(errno) => {
                return Err(OpenOutcome::SyscallFailed {
                    set,
                    member: member.fd,
                    errno,
                    what: "dup",
                });
            }
        };
        if let Some(refused) = sync_mismatch(set, &member, flags) {
            ops.close(dup);
            return Err(refused);
        }
        Ok((member, dup))
    }

    /// Steps 2 and 3 of an open: the member to duplicate.
    pub(super) fn choose_member(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
    ) -> Result<MemberRef, OpenOutcome> {
        let Some(s) = self.sets.get_mut(&set) else {
            return Err(OpenOutcome::NoSuchSet { set });
        };
        // Only the number and the cached flags: no copy of the opaque text
        // on the hot path.
        let Some(mut member) = Self::choose(s, ops, flags) else {
            return Err(OpenOutcome::NoMemberForMode {
                set,
                accmode: flags & O_ACCMODE,
                present: PresentModes::of(s),
            });
        };
        let kind = match member.info.kind {
            Some(k) => k,
            None => {
                // The member's first open: its type is asked now and kept.
                let kind = ops.file_kind(member.fd);
                member.info.kind = Some(kind);
                if let Some(m) = s.members.iter_mut().find(|m| m.fd == member.fd) {
                    m.info.kind = Some(kind);
                }
                kind
            }
        };
        // Before anything is made: open(2) refuses these on a directory.
        if kind == FileKind::Directory && flags & (libc::O_CREAT | libc::O_TRUNC) != 0 {
            return Err(OpenOutcome::DirectoryMember {
                set,
                member: member.fd,
                errno: if flags & EXCL_CREATE == EXCL_CREATE {
                    libc::EEXIST
                } else {
                    libc::EISDIR
                },
            });
        }
        Ok(member)
    }

    /// Record `dup`, just made from a member of `set`, in that set. Returns
    /// the record's serial and the set's cleanup count after it, or `None`
    /// when there is no such set (nothing recorded).
    pub(super) fn record_new_dup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        dup: RawFd,
        closed: &mut Vec<ClosedMember>,
    ) -> Option<(u32, u32)> {
        let s = self.sets.get_mut(&set)?;
        // Counted first: the cleanup below must see this dup.
        s.dups.push(dup);
        let pos = s.dups.len() - 1;
        // The number is free, so a record of it is stale: the program closed
        // that dup where no hook sees it (fcloseall, closedir of an
        // fdopendir). Forget it, or its set would count it forever.
        if self.dup_owner.get(dup).is_none() {
            let cleanups = s.cleanups;
            return Some((self.dup_owner.insert(dup, set, pos), cleanups));
        }
        self.forget_dup(ops, dup, closed);
        // In the same set, the stale record's removal moved the new one.
        let s = &self.sets[&set];
        let pos = s.dups.iter().rposition(|&d| d == dup).unwrap_or(pos);
        let cleanups = s.cleanups;
        Some((self.dup_owner.insert(dup, set, pos), cleanups))
    }

    /// What open(2) would do to a fresh description, done to the shared one:
    /// status flags, truncation (of a regular file), offset 0. Calls
    /// skipped when they would change nothing.
    pub(super) fn apply_open_flags(
        ops: &mut (impl FdOps + ?Sized),
        dup: RawFd,
        member: &MemberRef,
        flags: i32,
    ) -> Result<(), (Errno, &'static str)> {
        let cur = ops.get_status_flags(dup).map_err(|e| (e, "F_GETFL"))?;
        if cur & SETFL_MASK != flags & SETFL_MASK {
            ops.set_status_flags(dup, flags)
                .map_err(|e| (e, "F_SETFL"))?;
        }
        // open(2) ignores O_TRUNC on a FIFO, a terminal or a device, where
        // ftruncate fails (EINVAL): `echo > /dev/fdset/N` onto a pipe works.
        let truncates = matches!(member.info.kind, Some(FileKind::Regular) | None);
        if truncates && (flags & libc::O_TRUNC != 0 || flags & EXCL_CREATE == EXCL_CREATE) {
            ops.truncate(dup).map_err(|e| (e, "ftruncate"))?;
        }
        // A fresh description starts at 0: a listing of a directory member,
        // or a read of a block device, from the start again.
        let seekable = matches!(
            member.info.kind,
            Some(FileKind::Regular | FileKind::Directory | FileKind::BlockDevice)
        );
        if seekable && flags & libc::O_APPEND == 0 {
            ops.rewind(dup).map_err(|e| (e, "lseek"))?;
        }
        Ok(())
    }
}

/// Step 4's `O_SYNC` check, made once the dup exists: the member's `O_SYNC`
/// must be the request's (the flag cannot be changed with `F_SETFL`).
pub(super) fn sync_mismatch(set: u64, member: &MemberRef, flags: i32) -> Option<OpenOutcome> {
    ((flags & libc::O_SYNC) != (member.info.status_flags & libc::O_SYNC)).then_some(
        OpenOutcome::SyncMismatch {
            set,
            member: member.fd,
        },
    )
}
