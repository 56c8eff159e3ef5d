//! Which process of the tree holds which dup (spec section 9: dups are
//! counted per process). Each dup a process holds is one record: its number
//! there, its set, and a token, fdset-run's own duplicate of the member,
//! which is the dup's entry in the registry. A dup is closed, for the
//! registry, when its record is dropped.
//!
//! Only processes that hold a dup are tracked (with a pidfd, to notice their
//! exit). A forked child holds copies of its parent's dups without any call
//! that fdset-run sees; such copies are found by walking the tree (the
//! `children` files of /proc) and comparing descriptors with `kcmp` against
//! the tokens, whenever a record is about to be dropped: so a member is
//! never closed while a process of the tree still holds a dup of it. `kcmp`
//! also tells when a number stopped being the dup (an exec closed it, being
//! close-on-exec), see [`Tree::validate`].

use crate::ops::LocalOps;
use crate::sys;
use fdset_core::registry::{ClosedMember, RawFd, Registry};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub set: u64,
    pub token: RawFd,
}

pub struct Proc {
    /// In the epoll set while open: readable when the process ends.
    _pidfd: OwnedFd,
    /// The process's descriptor number -> its dup.
    pub records: BTreeMap<RawFd, Record>,
}

/// What epoll reports for a tracked process's pidfd: this tag ORed with its
/// process id.
pub const PIDFD_TAG: u64 = 1 << 40;

pub struct Tree {
    procs: HashMap<i32, Proc>,
    /// Thread id -> process id, as read from /proc/TID/status.
    tgids: HashMap<i32, i32>,
    me: i32,
    epoll: RawFd,
    total: usize,
    /// A process may have been created since the last walk (a fork-family
    /// call went through the filter): the next record drop walks the tree.
    dirty: bool,
    /// Threads inside a fork-family call: their child may not exist yet,
    /// so a walk does not clear `dirty` until each made another call.
    forking: HashSet<i32>,
}

/// The ids in /proc/PID/task/*/children: every child of every thread.
fn children(pid: i32, me: i32) -> Vec<i32> {
    let base = if pid == me {
        "/proc/self/task".to_string()
    } else {
        format!("/proc/{pid}/task")
    };
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(&base) else {
        return out;
    };
    for t in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(t.path().join("children")) else {
            continue;
        };
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|s| s.parse::<i32>().ok()),
        );
    }
    out
}

/// The `Tgid:` line of /proc/TID/status.
fn read_tgid(tid: i32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

impl Tree {
    pub fn new(epoll: RawFd) -> Tree {
        Tree {
            procs: HashMap::new(),
            tgids: HashMap::new(),
            me: std::process::id() as i32,
            epoll,
            total: 0,
            dirty: false,
            forking: HashSet::new(),
        }
    }

    /// How many dups the processes of the tree hold.
    pub fn total(&self) -> usize {
        self.total
    }

    pub fn record_at(&self, tgid: i32, fd: RawFd) -> Option<Record> {
        self.procs.get(&tgid)?.records.get(&fd).copied()
    }

    /// The process thread `tid` belongs to. A cached answer is checked
    /// when `verify` (thread ids are reused): same descriptor table.
    pub fn tgid(&mut self, tid: i32, verify: bool) -> Option<i32> {
        if let Some(&t) = self.tgids.get(&tid)
            && (!verify || t == tid || sys::same_fd_table(tid, t))
        {
            return Some(t);
        }
        let t = read_tgid(tid)?;
        if self.tgids.len() > 65536 {
            self.tgids.clear();
        }
        self.tgids.insert(tid, t);
        Some(t)
    }

    fn track(&mut self, pid: i32) -> Option<&mut Proc> {
        if !self.procs.contains_key(&pid) {
            let pidfd = sys::pidfd_open(pid).ok()?;
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: PIDFD_TAG | pid as u64,
            };
            // SAFETY: ev is valid; the epoll set and the pidfd are ours.
            unsafe { libc::epoll_ctl(self.epoll, libc::EPOLL_CTL_ADD, pidfd.as_raw_fd(), &mut ev) };
            self.procs.insert(
                pid,
                Proc {
                    _pidfd: pidfd,
                    records: BTreeMap::new(),
                },
            );
        }
        self.procs.get_mut(&pid)
    }

    /// Thread `tid` is in fork, vfork, clone or clone3 (not a thread).
    pub fn fork_started(&mut self, tid: i32) {
        self.dirty = true;
        self.forking.insert(tid);
    }

    /// Thread `tid` made a call after its fork: the child exists.
    pub fn fork_done(&mut self, tid: i32) {
        self.forking.remove(&tid);
    }

    /// How many threads are inside a fork-family call.
    pub fn forking(&self) -> usize {
        self.forking.len()
    }

    /// One record per distinct (number, token description): what a forked
    /// process may hold copies of.
    fn candidates(&self) -> Vec<(RawFd, Record)> {
        let mut out: Vec<(RawFd, Record)> = Vec::new();
        for p in self.procs.values() {
            for (&fd, r) in &p.records {
                let dup = out.iter().any(|(f, o)| {
                    *f == fd
                        && o.set == r.set
                        && sys::same_file(self.me, o.token, self.me, r.token).unwrap_or(false)
                });
                if !dup {
                    out.push((fd, *r));
                }
            }
        }
        out
    }

    /// Take process `pid` (not tracked yet) with the dups it holds as
    /// copies of the candidates.
    fn adopt(&mut self, reg: &mut Registry, pid: i32, candidates: &[(RawFd, Record)]) {
        let mut found = Vec::new();
        for &(fd, r) in candidates {
            if found.iter().any(|(f, _)| *f == fd) {
                continue;
            }
            if sys::same_file(pid, fd, self.me, r.token) == Ok(true) {
                found.push((fd, r.set));
            }
        }
        if found.is_empty() {
            return;
        }
        let me = self.me;
        let Some(p) = self.track(pid) else {
            return;
        };
        let mut added = 0;
        for (fd, set) in found {
            let Some(src) = candidates.iter().find(|(f, r)| *f == fd && r.set == set) else {
                continue;
            };
            let Ok(token) = sys::dup_cloexec(src.1.token) else {
                continue;
            };
            debug_assert!(sys::same_file(me, token, me, src.1.token) == Ok(true));
            reg.restore_dup(set, token);
            p.records.insert(fd, Record { set, token });
            added += 1;
        }
        self.total += added;
    }

    /// Find every process of the tree that holds copies of dups without a
    /// record of its own (forked since), and record them.
    pub fn discover(&mut self, reg: &mut Registry) {
        if self.total == 0 || !self.dirty {
            return;
        }
        // Forks that completed before this walk are seen by it. A thread
        // that ended inside its fork is not waited for.
        self.forking
            .retain(|tid| std::path::Path::new(&format!("/proc/{tid}")).exists());
        self.dirty = !self.forking.is_empty();
        let candidates = self.candidates();
        let mut seen = HashSet::new();
        let mut stack = children(self.me, self.me);
        while let Some(pid) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            stack.extend(children(pid, self.me));
            if !self.procs.contains_key(&pid) {
                self.adopt(reg, pid, &candidates);
            }
        }
    }

    /// Track `pid` before its first open of a set is installed: the fork
    /// copies it holds already are recorded now, while no new dup of the
    /// same member could be mistaken for one. False: the process is gone.
    pub fn prepare(&mut self, reg: &mut Registry, pid: i32) -> bool {
        if self.procs.contains_key(&pid) {
            return true;
        }
        if self.total > 0 {
            let candidates = self.candidates();
            self.adopt(reg, pid, &candidates);
        }
        self.track(pid).is_some()
    }

    /// Record the dup `token` of `set`, installed as `fd` in `pid` (which
    /// [`Tree::prepare`] tracks). A record already at `fd` is stale (the
    /// number was free for the kernel): dropped.
    pub fn insert(
        &mut self,
        reg: &mut Registry,
        pid: i32,
        fd: RawFd,
        set: u64,
        token: RawFd,
        closed: &mut Vec<ClosedMember>,
    ) -> bool {
        if self.record_at(pid, fd).is_some_and(|r| r.token != token) {
            self.drop_records(reg, pid, &[fd], closed);
        }
        let Some(p) = self.procs.get_mut(&pid) else {
            return false;
        };
        p.records.insert(fd, Record { set, token });
        self.total += 1;
        true
    }

    /// Process `pid` no longer holds dups `fds` (closed them): copies in
    /// processes forked meanwhile are recorded first, then the registry's
    /// close rules run.
    pub fn drop_records(
        &mut self,
        reg: &mut Registry,
        pid: i32,
        fds: &[RawFd],
        closed: &mut Vec<ClosedMember>,
    ) {
        if fds.is_empty() {
            return;
        }
        self.discover(reg);
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        let mut gone = Vec::new();
        for fd in fds {
            if let Some(r) = p.records.remove(fd) {
                gone.push(r);
            }
        }
        self.total -= gone.len();
        for r in gone {
            reg.forget_dup(&mut LocalOps, r.token, closed);
            sys::close(r.token);
        }
        // A process stays tracked (with no record) until it ends: its next
        // set open then costs no pidfd.
    }

    /// The records of `pid` in `first..=last`.
    pub fn in_range(&self, pid: i32, first: RawFd, last: RawFd) -> Vec<RawFd> {
        self.procs
            .get(&pid)
            .map(|p| p.records.range(first..=last).map(|(&fd, _)| fd).collect())
            .unwrap_or_default()
    }

    /// Process `pid` ended: its dups are closed (after its children, now
    /// orphans, had their copies recorded).
    pub fn exited(&mut self, reg: &mut Registry, pid: i32, closed: &mut Vec<ClosedMember>) {
        let fds: Vec<RawFd> = match self.procs.get(&pid) {
            Some(p) => p.records.keys().copied().collect(),
            None => return,
        };
        self.drop_records(reg, pid, &fds, closed);
        self.procs.remove(&pid);
        self.tgids.retain(|_, t| *t != pid);
    }

    /// Drop every record whose number no longer is the dup: closed where
    /// fdset-run did not see it (an exec closed a close-on-exec dup), or
    /// the process is gone.
    pub fn validate(&mut self, reg: &mut Registry, closed: &mut Vec<ClosedMember>) {
        let mut stale: Vec<(i32, Vec<RawFd>)> = Vec::new();
        let mut dead = Vec::new();
        for (&pid, p) in &self.procs {
            let mut fds = Vec::new();
            for (&fd, r) in &p.records {
                match sys::same_file(pid, fd, self.me, r.token) {
                    Ok(true) => {}
                    Err(libc::ESRCH) => {
                        dead.push(pid);
                        break;
                    }
                    _ => fds.push(fd),
                }
            }
            if !fds.is_empty() {
                stale.push((pid, fds));
            }
        }
        for pid in dead {
            self.exited(reg, pid, closed);
        }
        for (pid, fds) in stale {
            self.drop_records(reg, pid, &fds, closed);
        }
    }
}
