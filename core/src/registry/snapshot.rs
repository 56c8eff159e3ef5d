//! What `query-fdsets` shows of a registry, copied flat: the same content
//! as [`Registry::query`] in three buffers instead of a vector per set, so
//! that taking it under the registry lock costs a few copies per member and
//! no allocation per set (10,000 sets: one pass, the lock held briefly),
//! and the reply text is written after the lock is released.

use super::{RawFd, Registry, SetView};

/// Sets in descending id order; members not removed, in the order they
/// were added (as [`Registry::query`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuerySnapshot {
    /// `(set id, end of its members in fds)`.
    sets: Vec<(u64, usize)>,
    /// `(fd, opaque)`, the opaque as a range of `opaque` (none: `None`).
    fds: Vec<(RawFd, Option<(usize, usize)>)>,
    opaque: String,
}

impl QuerySnapshot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Emptied, keeping its buffers.
    pub fn clear(&mut self) {
        self.sets.clear();
        self.fds.clear();
        self.opaque.clear();
    }

    /// A set comes next; its members follow with [`QuerySnapshot::push_fd`].
    pub fn push_set(&mut self, id: u64) {
        self.sets.push((id, self.fds.len()));
    }

    /// A member of the set pushed last.
    pub fn push_fd(&mut self, fd: RawFd, opaque: Option<&str>) {
        let o = opaque.map(|o| {
            let start = self.opaque.len();
            self.opaque.push_str(o);
            (start, self.opaque.len())
        });
        self.fds.push((fd, o));
        if let Some(last) = self.sets.last_mut() {
            last.1 = self.fds.len();
        }
    }

    /// A little more than the `query-fdsets` text of it takes (ids and fds
    /// of up to 5 digits, opaque strings with some escapes).
    pub fn text_len_hint(&self) -> usize {
        16 + self.sets.len() * 32 + self.fds.len() * 20 + self.opaque.len() * 2
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Each set: its id and its members `(fd, opaque)`.
    pub fn sets(
        &self,
    ) -> impl Iterator<Item = (u64, impl Iterator<Item = (RawFd, Option<&str>)> + '_)> + '_ {
        let mut start = 0;
        self.sets.iter().map(move |&(id, end)| {
            let members = self.fds[start..end]
                .iter()
                .map(|&(fd, o)| (fd, o.map(|(a, b)| &self.opaque[a..b])));
            start = end;
            (id, members)
        })
    }

    /// The same content as views (for comparisons).
    pub fn to_views(&self) -> Vec<SetView> {
        self.sets()
            .map(|(id, fds)| SetView {
                id,
                fds: fds.map(|(fd, o)| (fd, o.map(str::to_string))).collect(),
            })
            .collect()
    }
}

impl From<&[SetView]> for QuerySnapshot {
    fn from(views: &[SetView]) -> Self {
        let mut s = QuerySnapshot::new();
        for v in views {
            s.push_set(v.id);
            for (fd, o) in &v.fds {
                s.push_fd(*fd, o.as_deref());
            }
        }
        s
    }
}

/// How many sets ahead a set's members are asked into the cache: with
/// 10,000 sets they are not in it (the reply text written last time took
/// their place), and each set's members are a heap block of their own, so
/// without this every set costs one trip to memory.
const PREFETCH_AHEAD: usize = 8;

#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it reads nothing the program sees
    // and never faults, whatever the address (an empty vector's dangling
    // pointer included).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Registry {
    /// [`Registry::query`] into `into` (emptied first, buffers kept).
    pub fn query_snapshot(&self, into: &mut QuerySnapshot) {
        into.clear();
        into.sets.reserve(self.sets.len());
        into.fds.reserve(self.sets.len());
        let mut ahead = self.sets.values().rev().skip(PREFETCH_AHEAD);
        for (&id, s) in self.sets.iter().rev() {
            if let Some(a) = ahead.next() {
                prefetch(a.members.as_ptr());
            }
            into.push_set(id);
            for m in s.visible_members() {
                into.push_fd(m.fd, m.opaque.as_deref());
            }
        }
    }
}
