//! Closing dups and the cleanup of a set (spec section 2, "Close" and
//! "Cleanup"): which members close when, and monitors coming and going.

use super::*;

impl Registry {
    /// Forget dup `fd` (the caller closes it) and run its set's cleanup.
    /// Returns whether `fd` was a dup.
    pub fn forget_dup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        fd: RawFd,
        closed: &mut Vec<ClosedMember>,
    ) -> bool {
        let Some((set, pos)) = self.dup_owner.remove(fd) else {
            return false;
        };
        let in_use = self.in_use();
        let Some(s) = self.sets.get_mut(&set) else {
            return true;
        };
        s.take_dup(set, fd, pos, &mut self.dup_owner);
        if Self::cleanup_set(ops, set, s, in_use, closed, &mut self.member_epoch) {
            self.sets.remove(&set);
        }
        true
    }

    pub fn monitor_connected(&mut self) {
        self.monitors += 1;
    }

    /// The last monitor leaving runs cleanup on every set.
    pub fn monitor_disconnected(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        closed: &mut Vec<ClosedMember>,
    ) {
        self.monitors = self.monitors.saturating_sub(1);
        if self.monitors == 0 {
            let ids: Vec<u64> = self.sets.keys().copied().collect();
            for id in ids {
                self.cleanup(ops, id, closed);
            }
        }
    }

    /// Close and drop every member with `refcount == 0 && (!in_use || removed)`;
    /// drop the set once it has no members and no dups.
    pub fn cleanup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        closed: &mut Vec<ClosedMember>,
    ) {
        let in_use = self.in_use();
        if let Some(s) = self.sets.get_mut(&set)
            && Self::cleanup_set(ops, set, s, in_use, closed, &mut self.member_epoch)
        {
            self.sets.remove(&set);
        }
    }

    /// [`Registry::cleanup`] of one set already found; true when the set is
    /// left with no members and no dups (the caller drops it).
    #[inline]
    pub(super) fn cleanup_set(
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        s: &mut FdSet,
        in_use: bool,
        closed: &mut Vec<ClosedMember>,
        member_epoch: &mut u64,
    ) -> bool {
        s.cleanups = s.cleanups.wrapping_add(1);
        if s.dups.is_empty() && (!in_use || s.members.iter().any(|m| m.removed)) {
            Self::close_unused_members(ops, set, s, in_use, closed);
            *member_epoch += 1;
        }
        s.members.is_empty() && s.dups.is_empty()
    }

    /// The closing part of cleanup (refcount 0): members removed, or all of
    /// them when the set is not in use.
    #[cold]
    fn close_unused_members(
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        s: &mut FdSet,
        in_use: bool,
        closed: &mut Vec<ClosedMember>,
    ) {
        s.members.retain(|m| {
            let drop = !in_use || m.removed;
            if drop {
                ops.close(m.fd);
                closed.push(ClosedMember {
                    set,
                    fd: m.fd,
                    removed: m.removed,
                    accmode: m.access_mode(),
                });
            }
            !drop
        });
    }
}
