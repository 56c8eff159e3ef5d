//! What the QMP commands do to the registry, from the control thread.

use super::startup::*;
use super::*;
use crate::state::RealOps;
use crate::state::control_fds::lock_moves;
use fdset_core::qmp::FdSetOps;
use fdset_core::registry::{FileFacts, QuerySnapshot, RawFd, SetDetail, SetView};

/// What `fstat` says of a member's file, for `x-query-fdset-members`.
fn member_file_facts(fd: RawFd) -> Option<FileFacts> {
    // SAFETY: plain data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a stat buffer; fstat is not hooked.
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    ok.then(|| FileFacts::of_stat(&st))
}

/// The protocol's commands, done on the registry (one short lock each).
pub(crate) struct ServerOps {
    /// Moves taken from `MOVES` during the commands, for the control thread to apply.
    pub(crate) moved: Vec<(RawFd, RawFd)>,
}

impl ServerOps {
    /// Where a queued fd is now (call with the registry lock held, so that
    /// no further move can happen).
    pub(crate) fn resolve(&mut self, fd: RawFd) -> RawFd {
        self.moved.append(&mut lock_moves());
        self.moved
            .iter()
            .fold(fd, |cur, &(old, new)| if old == cur { new } else { cur })
    }
}

impl FdSetOps for ServerOps {
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        let Some(mut st) = crate::state::lock() else {
            return Err("internal error: registry locked".to_string());
        };
        let fd = self.resolve(fd);
        match crate::state::member_info(fd) {
            Ok(info) => {
                // Already owned and high: from a queued fd it becomes a member.
                st.extra_owned.retain(|&f| f != fd);
                let id = st.registry.add_member(set, fd, opaque.clone(), info);
                drop(st);
                if crate::log::log_enabled() {
                    crate::log::log(&format!(
                        "monitor: add-fd: fd {fd} ({}) into set {id}",
                        fdset_core::launch::options::access_mode_name(info.status_flags)
                    ));
                }
                Ok((id, fd))
            }
            Err(e) => {
                release(&mut st, fd);
                Err(format!("Could not add fd: errno {e}"))
            }
        }
    }

    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool {
        let Some(mut st) = crate::state::lock() else {
            return false;
        };
        let mut closed = Vec::new();
        let found = st
            .registry
            .remove(&mut RealOps, set, fd, &mut closed)
            .is_ok();
        drop(st);
        crate::log::log_closed(&closed);
        found
    }

    fn query_fdsets(&mut self) -> Vec<SetView> {
        crate::state::lock()
            .map(|st| st.registry.query())
            .unwrap_or_default()
    }

    fn query_fdset_members(&mut self) -> Vec<SetDetail> {
        // fstat under the lock: no member can be closed meanwhile.
        crate::state::lock()
            .map(|st| st.registry.detail(member_file_facts))
            .unwrap_or_default()
    }

    /// Copied flat under the lock (no allocation per set); the reply text
    /// is written after it is released.
    fn query_fdsets_snapshot(&mut self, into: &mut QuerySnapshot) {
        into.clear();
        if let Some(st) = crate::state::lock() {
            st.registry.query_snapshot(into);
        }
    }

    fn cont(&mut self) {
        set_wait(Wait::Waiting, Wait::Released);
    }

    fn close_fd(&mut self, fd: RawFd) {
        if let Some(mut st) = crate::state::lock() {
            let fd = self.resolve(fd);
            release(&mut st, fd);
        }
    }
}
