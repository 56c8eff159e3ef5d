//! The model the registry is checked against, written from spec section 2
//! alone: plain vectors, linear scans, the cleanup rule spelled out
//! literally.
use fdset_core::registry::{ClosedMember, SetView};
use fdset_testkit::fake_fdops::Op;
use libc::{O_ACCMODE, O_APPEND, O_CREAT, O_DIRECT, O_EXCL, O_SYNC, O_TRUNC};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct MMember {
    pub fd: i32,
    pub opaque: Option<String>,
    pub removed: bool,
    /// Flags of the member's open file description as they are now (opens
    /// change them with F_SETFL); the access mode and O_SYNC never change.
    pub flags: i32,
    pub regular: bool,
}

#[derive(Clone, Debug, Default)]
pub struct MSet {
    pub members: Vec<MMember>,
    pub dups: Vec<i32>,
}

#[derive(Default)]
pub struct Model {
    pub sets: BTreeMap<u64, MSet>,
    pub monitors: usize,
    pub no_control_socket: bool,
}

/// What the spec says an open does, before the fake tells which fd number
/// it got.
pub enum Expect {
    /// Refused before any dup: no fd touched.
    Fail(i32),
    /// Refused once the dup exists (the `O_SYNC` check): the dup made and
    /// closed again, nothing else done to any fd.
    FailAfterDup(i32),
    /// Duplicate member `fd`; `fail` is the injected failure that must undo it.
    Dup {
        set: u64,
        member: usize,
        fail: Option<i32>,
    },
}

impl Model {
    pub fn in_use(&self) -> bool {
        self.no_control_socket || self.monitors > 0
    }

    /// "Close and drop every member with refcount == 0 && (!in_use ||
    /// removed). Drop the set once it has no members and no dups."
    pub fn cleanup(&mut self, id: u64, closed: &mut Vec<ClosedMember>) {
        let in_use = self.in_use();
        let Some(set) = self.sets.get_mut(&id) else {
            return;
        };
        let mut kept = Vec::new();
        for m in set.members.drain(..) {
            if set.dups.is_empty() && (!in_use || m.removed) {
                closed.push(ClosedMember {
                    set: id,
                    fd: m.fd,
                    removed: m.removed,
                    accmode: m.flags & libc::O_ACCMODE,
                });
            } else {
                kept.push(m);
            }
        }
        set.members = kept;
        if set.members.is_empty() && set.dups.is_empty() {
            self.sets.remove(&id);
        }
    }

    pub fn lowest_free_id(&self) -> u64 {
        (0..).find(|id| !self.sets.contains_key(id)).unwrap()
    }

    pub fn query(&self) -> Vec<SetView> {
        let mut out = Vec::new();
        for (&id, s) in self.sets.iter().rev() {
            let fds = s
                .members
                .iter()
                .filter(|m| !m.removed)
                .map(|m| (m.fd, m.opaque.clone()))
                .collect();
            out.push(SetView { id, fds });
        }
        out
    }

    /// Open, steps 2 to 4, as far as they can be decided without the fake.
    pub fn expect_open(&self, id: u64, flags: i32, injected: Option<(Op, i32)>) -> Expect {
        let Some(set) = self.sets.get(&id) else {
            return Expect::Fail(libc::ENOENT);
        };
        let mode = flags & O_ACCMODE;
        // Newest first; among those, one with the request's O_DIRECT if any.
        let candidates: Vec<usize> = (0..set.members.len())
            .rev()
            .filter(|&i| !set.members[i].removed && set.members[i].flags & O_ACCMODE == mode)
            .collect();
        let Some(&newest) = candidates.first() else {
            return Expect::Fail(libc::EACCES);
        };
        let member = candidates
            .iter()
            .copied()
            .find(|&i| set.members[i].flags & O_DIRECT == flags & O_DIRECT)
            .unwrap_or(newest);
        let m = &set.members[member];
        // Step 4: the dup first, then the O_SYNC check (QEMU's order).
        if let Some((Op::Dup, e)) = injected {
            return Expect::Dup {
                set: id,
                member,
                fail: Some(e),
            };
        }
        if m.flags & O_SYNC != flags & O_SYNC {
            return Expect::FailAfterDup(libc::EINVAL);
        }
        // A regular file only: open(2) ignores O_TRUNC on the others.
        let truncates =
            m.regular && (flags & O_TRUNC != 0 || flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL);
        let rewinds = m.regular && flags & O_APPEND == 0;
        let fail = match injected {
            Some((Op::Truncate, e)) if truncates => Some(e),
            Some((Op::Rewind, e)) if rewinds => Some(e),
            _ => None,
        };
        Expect::Dup {
            set: id,
            member,
            fail,
        }
    }
}
