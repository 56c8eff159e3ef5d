//! The calls the refcount needs (spec sections 2 and 9): a close of a
//! number that holds a dup (`close`, `close_range`, `dup2`/`dup3` onto it)
//! drops its record; a fork-family call marks its caller, whose child holds
//! copies of its dups (found by the next record drop, `Tree::discover`).

use super::{Call, Reply, State};
use crate::sys;
use crate::tree::Tree;
use fdset_core::registry::RawFd;
use std::sync::atomic::Ordering;

impl Call<'_> {
    /// A new process is about to hold copies of the caller's dups: the
    /// next record drop walks the tree for it (Tree::discover).
    pub(super) fn fork(&self) -> Reply {
        let mut st = self.sh.lock();
        st.tree.fork_started(self.tid);
        self.sh.sync_count(&st);
        Reply::Continue
    }

    pub(super) fn clone3(&self, args: u64, size: u64) -> Reply {
        // struct clone_args starts with the u64 flags.
        match sys::read_struct::<u64>(self.tid, args, 8) {
            Ok(flags) if size >= 8 && flags & libc::CLONE_THREAD as u64 != 0 => Reply::Continue,
            _ => self.fork(),
        }
    }

    /// The process of the caller, when it holds a record at one of `fds`
    /// (checked again with the lock held).
    fn drop_if_recorded(&self, pick: impl Fn(&Tree, i32) -> Vec<RawFd>) -> Reply {
        if self.sh.records.load(Ordering::Acquire) == 0 {
            return Reply::Continue;
        }
        let mut st = self.sh.lock();
        let Some(pid) = st.tree.tgid(self.tid, false) else {
            return Reply::Continue;
        };
        if pick(&st.tree, pid).is_empty() {
            return Reply::Continue;
        }
        // Thread ids are reused: make sure this thread is that process's.
        let Some(pid) = st.tree.tgid(self.tid, true) else {
            return Reply::Continue;
        };
        let fds = pick(&st.tree, pid);
        let mut closed = Vec::new();
        let State { registry, tree } = &mut *st;
        tree.drop_records(registry, pid, &fds, &mut closed);
        self.sh.sync_count(&st);
        drop(st);
        for fd in &fds {
            self.log(&format!("close {fd}: a dup, no longer counted"));
        }
        self.sh.log_closed(&closed);
        Reply::Continue
    }

    pub(super) fn close(&self, fd: u32) -> Reply {
        let Ok(fd) = RawFd::try_from(fd) else {
            return Reply::Continue;
        };
        self.drop_if_recorded(|t, pid| t.record_at(pid, fd).map(|_| vec![fd]).unwrap_or_default())
    }

    pub(super) fn close_range(&self, first: u32, last: u32, flags: u32) -> Reply {
        // CLOSE_RANGE_CLOEXEC closes nothing now (an exec may, later: see
        // Tree::validate); a bad range or flag is the kernel's EINVAL.
        const CLOSE_RANGE_UNSHARE: u32 = 2;
        if flags & !CLOSE_RANGE_UNSHARE != 0 || first > last {
            return Reply::Continue;
        }
        let Ok(first) = RawFd::try_from(first) else {
            return Reply::Continue;
        };
        let last = RawFd::try_from(last).unwrap_or(RawFd::MAX);
        self.drop_if_recorded(|t, pid| t.in_range(pid, first, last))
    }

    /// `dup2`/`dup3` onto a dup's number closes the dup, when it succeeds.
    pub(super) fn dup_onto(&self, old: RawFd, new: RawFd, flags: i32) -> Reply {
        if old == new || flags & !libc::O_CLOEXEC != 0 || new < 0 {
            return Reply::Continue;
        }
        let tid = self.tid;
        self.drop_if_recorded(|t, pid| {
            if t.record_at(pid, new).is_none() {
                return Vec::new();
            }
            // dup2 of a number that is not open fails and closes nothing.
            match sys::same_file(tid, old, tid, old) {
                Ok(true) => vec![new],
                _ => Vec::new(),
            }
        })
    }
}
