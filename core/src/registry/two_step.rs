//! An open in steps, so that a caller that keeps the registry behind a lock
//! holds it for the bookkeeping only, not over the system calls.
//!
//! 1. [`Registry::plan_open`] (lock held): the member chosen (spec section
//!    2, Open, steps 2 and 3), and the registry's member epoch noted.
//! 2. [`PlannedOpen::dup`] (lock free): the new descriptor (step 4).
//! 3. [`Registry::record_planned`] (lock held): if no member was closed or
//!    renumbered since step 1 (the epoch did not change), the dup is of the
//!    member chosen; its `O_SYNC` check comes now, after the dup as in
//!    QEMU (a mismatch closes the dup), and the dup is recorded in its set
//!    (step 5), with the stale
//!    record of its number forgotten as [`Registry::open_with_closed`] does.
//!    Otherwise the caller closes the dup, which may be a copy of whatever
//!    took the member's number, and starts again (or makes the dup with the
//!    lock held: [`Registry::open_dup`]).
//! 4. [`RecordedDup::apply_flags`] (lock free): what open(2) would do to a
//!    fresh description (`F_SETFL`, truncation, offset 0), through the new
//!    descriptor, whose number nothing else knows yet. Never before step 3:
//!    until then the dup might be of another file.
//! 5. Only if that failed, [`Registry::undo_open`] (lock held): the record
//!    forgotten and the dup closed, so that the failed open leaves nothing
//!    behind (step 6).
//!
//! Between steps 2 and 3 the dup exists unrecorded; between 3 and 4 it is
//! recorded with the request's flags not yet applied. Neither is visible to
//! the program's open, which has not returned; only a concurrent
//! `close_range`/`closefrom` (closing numbers the program does not own yet)
//! or a fork in another thread can meet it (docs/PERFORMANCE.md, "Threads
//! and the registry lock"). [`Registry::open_with_closed`] is the same open
//! in one step: the model test checks it (and half its opens go through
//! these steps); `registry_steps.rs` checks what may happen between them.

use super::*;

/// A member chosen by [`Registry::plan_open`], to be duplicated without the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedOpen {
    pub set: u64,
    /// The member to duplicate.
    pub member: RawFd,
    member_info: MemberInfo,
    flags: i32,
    epoch: u64,
}

impl PlannedOpen {
    /// Step 2: `F_DUPFD_CLOEXEC` when the request has `O_CLOEXEC`, else
    /// `F_DUPFD` (spec section 2, Open, step 4).
    pub fn dup(&self, ops: &mut (impl FdOps + ?Sized)) -> Result<RawFd, Errno> {
        ops.dup(self.member, self.flags & libc::O_CLOEXEC != 0)
    }

    /// The outcome of an open whose dup failed with `errno`.
    pub fn dup_failed(&self, errno: Errno) -> OpenOutcome {
        OpenOutcome::SyscallFailed {
            set: self.set,
            member: self.member,
            errno,
            what: "dup",
        }
    }
}

/// What [`Registry::record_planned`] did with the dup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded: step 4 next.
    Dup(RecordedDup),
    /// A member was closed or renumbered since the plan: the caller closes
    /// the dup (it may be a copy of whatever took the member's number) and
    /// plans again.
    Again,
    /// The open failed (an `O_SYNC` mismatch, or the flags had to be
    /// applied at once, see `record`); the dup is closed and nothing changed.
    Failed(OpenOutcome),
}

/// A dup recorded in its set whose open flags are still to be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedDup {
    pub set: u64,
    /// The member it duplicates.
    pub member: RawFd,
    /// The new descriptor.
    pub dup: RawFd,
    member_info: MemberInfo,
    flags: i32,
    /// The flags were applied already, under the lock (see `record`).
    applied: bool,
    /// The set's cleanup count once the dup was recorded.
    cleanups: u32,
    /// The record's serial.
    serial: u32,
}

impl RecordedDup {
    /// Step 4: the request's flags applied to the shared description through
    /// the dup. `Err` names the call that failed; the caller then calls
    /// [`Registry::undo_open`].
    pub fn apply_flags(
        &self,
        ops: &mut (impl FdOps + ?Sized),
    ) -> Result<(), (Errno, &'static str)> {
        if self.applied {
            return Ok(());
        }
        let member = MemberRef {
            fd: self.member,
            info: self.member_info,
        };
        Registry::apply_open_flags(ops, self.dup, &member, self.flags)
    }

    /// The outcome of the open once the flags are applied.
    pub fn opened(&self) -> OpenOutcome {
        OpenOutcome::Opened {
            set: self.set,
            member: self.member,
            dup: self.dup,
        }
    }
}

impl Registry {
    /// Step 1. `Err` is the outcome of an open refused before any dup
    /// (nothing changed).
    pub fn plan_open(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
    ) -> Result<PlannedOpen, OpenOutcome> {
        let member = self.choose_member(ops, set, flags)?;
        Ok(PlannedOpen {
            set,
            member: member.fd,
            member_info: member.info,
            flags,
            epoch: self.member_epoch,
        })
    }

    /// Step 3: record `dup`, made by `plan.dup`, unless a member changed
    /// since the plan.
    pub fn record_planned(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        plan: &PlannedOpen,
        dup: RawFd,
        closed: &mut Vec<ClosedMember>,
    ) -> Recorded {
        if plan.epoch != self.member_epoch {
            return Recorded::Again;
        }
        let member = MemberRef {
            fd: plan.member,
            info: plan.member_info,
        };
        if let Some(refused) = super::open::sync_mismatch(plan.set, &member, plan.flags) {
            ops.close(dup);
            return Recorded::Failed(refused);
        }
        self.record(ops, plan.set, member, dup, plan.flags, closed)
    }

    /// Steps 1 to 3 with the dup made here, under the caller's lock: the
    /// way through when members keep changing under `record_planned`.
    pub fn open_dup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
        closed: &mut Vec<ClosedMember>,
    ) -> Result<RecordedDup, OpenOutcome> {
        let (member, dup) = self.dup_member(ops, set, flags)?;
        match self.record(ops, set, member, dup, flags, closed) {
            Recorded::Dup(d) => Ok(d),
            Recorded::Failed(failed) => Err(failed),
            // dup_member found the set a moment ago, under the same lock.
            Recorded::Again => unreachable!("the set exists"),
        }
    }

    fn record(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        member: MemberRef,
        dup: RawFd,
        flags: i32,
        closed: &mut Vec<ClosedMember>,
    ) -> Recorded {
        // The number has a stale record (its dup was closed where no hook
        // saw it): recording this dup forgets that one, which a failed open
        // must not do. So here the flags come first, as in
        // `open_with_closed`, with the lock still held.
        let applied = self.dup_owner.get(dup).is_some();
        if applied && let Err((errno, what)) = Self::apply_open_flags(ops, dup, &member, flags) {
            ops.close(dup);
            return Recorded::Failed(OpenOutcome::SyscallFailed {
                set,
                member: member.fd,
                errno,
                what,
            });
        }
        let Some((serial, cleanups)) = self.record_new_dup(ops, set, dup, closed) else {
            // No such set any more (it had members, so one was closed and
            // the epoch moved: not reached).
            return Recorded::Again;
        };
        Recorded::Dup(RecordedDup {
            set,
            member: member.fd,
            dup,
            member_info: member.info,
            flags,
            applied,
            cleanups,
            serial,
        })
    }

    /// Step 5, after `apply_flags` failed with `errno` in `what`: forget the
    /// dup and close it. The set's cleanup runs only if one ran while the
    /// dup was counted (a `remove-fd`, the close of another dup, the last
    /// monitor leaving): that cleanup kept what it would have closed had the
    /// failed open not been under way. Otherwise the set is left exactly as
    /// before the open, as [`Registry::open_with_closed`] leaves it.
    ///
    /// If the record is no longer there (another thread closed the number
    /// meanwhile with `close_range`, which forgot it, and the number may be
    /// another open's by now), nothing is closed: the number is no longer
    /// this open's.
    pub fn undo_open(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        d: &RecordedDup,
        errno: Errno,
        what: &'static str,
        closed: &mut Vec<ClosedMember>,
    ) -> OpenOutcome {
        let failed = OpenOutcome::SyscallFailed {
            set: d.set,
            member: d.member,
            errno,
            what,
        };
        if self.dup_owner.get(d.dup) != Some(d.set)
            || self.dup_owner.serial(d.dup) != Some(d.serial)
        {
            return failed;
        }
        self.drop_record(d.dup);
        ops.close(d.dup);
        let in_use = self.in_use();
        if let Some(s) = self.sets.get_mut(&d.set)
            && s.cleanups != d.cleanups
            && Self::cleanup_set(ops, d.set, s, in_use, closed, &mut self.member_epoch)
        {
            self.sets.remove(&d.set);
        }
        failed
    }
}
