//! Which set each open dup came from, indexed by descriptor number.

use super::*;

/// Which set each open dup came from, and where it stands in that set's
/// `dups`, indexed by descriptor number: closing a dup finds its set and
/// takes it out of the list without a search, and the numbers the kernel
/// hands out are small and dense, so the table stays short.
#[derive(Clone, Debug, Default)]
pub(super) struct DupOwners {
    by_fd: Vec<DupSlot>,
    /// The serial the next recorded dup gets.
    next_serial: u32,
}

/// One number's entry: `set` is [`NO_SET`] when the number is no dup.
#[derive(Clone, Copy, Debug)]
struct DupSlot {
    set: u64,
    pos: u32,
    /// Tells this record from a later one of the same number (wrapping).
    serial: u32,
}

/// No set has this id (ids are at most [`MAX_SET_ID`]).
const NO_SET: u64 = u64::MAX;

impl DupOwners {
    pub(super) const fn new() -> Self {
        DupOwners {
            by_fd: Vec::new(),
            next_serial: 0,
        }
    }

    fn slot(&self, fd: RawFd) -> Option<&DupSlot> {
        let i = usize::try_from(fd).ok()?;
        self.by_fd.get(i).filter(|e| e.set != NO_SET)
    }

    pub(super) fn get(&self, fd: RawFd) -> Option<u64> {
        self.slot(fd).map(|e| e.set)
    }

    /// The set and the position in its `dups`.
    pub(super) fn entry(&self, fd: RawFd) -> Option<(u64, usize)> {
        self.slot(fd).map(|e| (e.set, e.pos as usize))
    }

    /// The serial of `fd`'s record.
    pub(super) fn serial(&self, fd: RawFd) -> Option<u32> {
        self.slot(fd).map(|e| e.serial)
    }

    /// Record `fd` at `pos` of set `set`'s `dups`; returns its serial.
    pub(super) fn insert(&mut self, fd: RawFd, set: u64, pos: usize) -> u32 {
        let serial = self.next_serial;
        self.next_serial = serial.wrapping_add(1);
        let Ok(i) = usize::try_from(fd) else {
            return serial;
        };
        if i >= self.by_fd.len() {
            self.by_fd.resize(
                i + 1,
                DupSlot {
                    set: NO_SET,
                    pos: 0,
                    serial: 0,
                },
            );
        }
        self.by_fd[i] = DupSlot {
            set,
            pos: pos as u32,
            serial,
        };
        serial
    }

    /// `fd` moved to `pos` in its set's `dups` (when `fd` is that set's dup).
    pub(super) fn moved(&mut self, fd: RawFd, set: u64, pos: usize) {
        if let Ok(i) = usize::try_from(fd)
            && let Some(e) = self.by_fd.get_mut(i)
            && e.set == set
        {
            e.pos = pos as u32;
        }
    }

    pub(super) fn remove(&mut self, fd: RawFd) -> Option<(u64, usize)> {
        let i = usize::try_from(fd).ok()?;
        let e = self.by_fd.get_mut(i)?;
        if e.set == NO_SET {
            return None;
        }
        let was = (e.set, e.pos as usize);
        e.set = NO_SET;
        Some(was)
    }

    pub(super) fn clear(&mut self) {
        self.by_fd.clear();
    }

    /// The dups' numbers, ascending.
    pub(super) fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.by_fd
            .iter()
            .enumerate()
            .filter(|(_, e)| e.set != NO_SET)
            .map(|(i, _)| i as RawFd)
    }
}

impl FdSet {
    /// Take the dup at `pos` out of `dups` (the last one moves there) and
    /// tell the owner table where the moved one now is.
    fn take_dup_at(&mut self, set: u64, pos: usize, owners: &mut DupOwners) {
        self.dups.swap_remove(pos);
        if let Some(&moved) = self.dups.get(pos) {
            owners.moved(moved, set, pos);
        }
    }

    /// Take `fd`, recorded at `pos`, out of `dups`; a `pos` that does not
    /// hold `fd` (never, if the table is right) falls back to a search.
    pub(super) fn take_dup(&mut self, set: u64, fd: RawFd, pos: usize, owners: &mut DupOwners) {
        let pos = if self.dups.get(pos) == Some(&fd) {
            Some(pos)
        } else {
            self.dups.iter().position(|&d| d == fd)
        };
        if let Some(pos) = pos {
            self.take_dup_at(set, pos, owners);
        }
    }
}
