//! Descriptors that move (a member or a dup renumbered by `dup2`) and the
//! records rebuilt after a fork or an exec that carried the sets.

use super::*;

impl Registry {
    /// A member moved to another descriptor number (the program claimed its
    /// old number with `dup2`).
    pub fn renumber(&mut self, old: RawFd, new: RawFd) -> bool {
        self.member_epoch += 1;
        for s in self.sets.values_mut() {
            if let Some(m) = s.members.iter_mut().find(|m| m.fd == old) {
                m.fd = new;
                return true;
            }
        }
        false
    }

    /// A forked child: no monitor of its own, and nobody who could remove
    /// its sets, so they stay in use for its life.
    pub fn child_after_fork(&mut self) {
        self.monitors = 0;
        self.always_in_use = true;
    }

    /// A dup moved to another number (freopen puts it where the stream's
    /// descriptor was).
    pub fn renumber_dup(&mut self, old: RawFd, new: RawFd) -> bool {
        let Some((set, pos)) = self.dup_owner.remove(old) else {
            return false;
        };
        // A record of `new` is stale (the number was free): it stops counting.
        self.drop_record(new);
        let Some(s) = self.sets.get_mut(&set) else {
            return true;
        };
        let pos = if s.dups.get(pos) == Some(&old) {
            Some(pos)
        } else {
            s.dups.iter().position(|&d| d == old)
        };
        if let Some(pos) = pos {
            s.dups[pos] = new;
            self.dup_owner.insert(new, set, pos);
        }
        true
    }

    /// Take `fd`'s record out of the owner table and its set's `dups`,
    /// without cleanup.
    pub(super) fn drop_record(&mut self, fd: RawFd) {
        if let Some((set, pos)) = self.dup_owner.remove(fd)
            && let Some(s) = self.sets.get_mut(&set)
        {
            s.take_dup(set, fd, pos, &mut self.dup_owner);
        }
    }

    /// Drop everything without closing (a forked child's registry is
    /// replaced, or state is rebuilt from an exec).
    pub fn clear(&mut self) {
        self.member_epoch += 1;
        self.sets.clear();
        self.dup_owner.clear();
        self.monitors = 0;
    }

    /// Record a dup that already exists (state carried across exec).
    pub fn restore_dup(&mut self, set: u64, fd: RawFd) {
        self.drop_record(fd);
        let s = self.sets.entry(set).or_default();
        s.dups.push(fd);
        self.dup_owner.insert(fd, set, s.dups.len() - 1);
    }

    /// Whether the owner table and the sets' `dups` agree: every dup listed
    /// once, at the position its entry names (for tests).
    pub fn dup_index_consistent(&self) -> bool {
        let listed: usize = self.sets.values().map(|s| s.dups.len()).sum();
        listed == self.dup_owner.fds().count()
            && self.sets.iter().all(|(&id, s)| {
                s.dups
                    .iter()
                    .enumerate()
                    .all(|(pos, &fd)| self.dup_owner.entry(fd) == Some((id, pos)))
            })
    }

    /// Restore a member exactly as it was (state carried across exec).
    pub fn restore_member(&mut self, set: u64, member: Member) {
        self.sets.entry(set).or_default().members.push(member);
    }
}
