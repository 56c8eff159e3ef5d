//! What a set holds, told in full: which access modes its members have
//! (for the `EACCES` log line of an open no member can serve) and each
//! member with its file (for the `x-query-fdset-members` QMP command).

use super::*;

/// How many visible (not removed) members of each access mode a set has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PresentModes {
    pub rdwr: u32,
    pub rdonly: u32,
    pub wronly: u32,
}

impl PresentModes {
    pub fn of(set: &FdSet) -> PresentModes {
        let mut p = PresentModes::default();
        for m in set.visible_members() {
            match m.access_mode() {
                libc::O_RDONLY => p.rdonly += 1,
                libc::O_WRONLY => p.wronly += 1,
                _ => p.rdwr += 1,
            }
        }
        p
    }

    pub fn total(&self) -> u32 {
        self.rdwr + self.rdonly + self.wronly
    }
}

fn mode_name(accmode: i32) -> &'static str {
    match accmode & O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    }
}

/// `set 2 has O_RDWR and O_RDONLY members`: what a set holds, by mode.
pub fn present_text(set: u64, present: PresentModes) -> String {
    let names: Vec<&str> = [
        (present.rdwr, "O_RDWR"),
        (present.rdonly, "O_RDONLY"),
        (present.wronly, "O_WRONLY"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|&(_, name)| name)
    .collect();
    match (names.as_slice(), present.total()) {
        ([], _) => format!("set {set} has no member left (all removed; open dups keep the set)"),
        ([one], 1) => format!("set {set} has an {one} member"),
        ([one], _) => format!("set {set} has {one} members"),
        (several, _) => {
            let (last, rest) = several.split_last().unwrap_or((&"", &[]));
            format!("set {set} has {} and {last} members", rest.join(", "))
        }
    }
}

/// `set 2 has O_RDWR and O_RDONLY members, no O_WRONLY`: why an open of
/// access mode `wanted` found no member, naming what the set does have.
pub fn no_member_text(set: u64, wanted: i32, present: PresentModes) -> String {
    format!("{}, no {}", present_text(set, present), mode_name(wanted))
}

/// One member as `x-query-fdset-members` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberDetail {
    pub fd: RawFd,
    pub opaque: Option<String>,
    /// Removed by `remove-fd` but kept while dups of its set are open
    /// (`query-fdsets` leaves it out).
    pub removed: bool,
    /// `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
    pub access_mode: i32,
    /// `fstat` of the member; `None` when that failed.
    pub file: Option<FileFacts>,
}

/// What `fstat` says of a member's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileFacts {
    /// `st_mode & S_IFMT`.
    pub kind: u32,
    pub size: i64,
    pub dev: u64,
    pub ino: u64,
}

impl FileFacts {
    /// The facts `x-query-fdset-members` shows, from a member's `fstat`.
    pub fn of_stat(st: &libc::stat) -> FileFacts {
        FileFacts {
            kind: st.st_mode & libc::S_IFMT,
            size: st.st_size,
            dev: st.st_dev,
            ino: st.st_ino,
        }
    }

    /// `regular`, `directory`, `fifo`, `socket`, `char`, `block`, `symlink`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            libc::S_IFREG => "regular",
            libc::S_IFDIR => "directory",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            libc::S_IFCHR => "char",
            libc::S_IFBLK => "block",
            libc::S_IFLNK => "symlink",
            _ => "unknown",
        }
    }
}

/// One set as `x-query-fdset-members` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetDetail {
    pub id: u64,
    /// The set's refcount: dups handed out and still open.
    pub open_dups: usize,
    /// Every member, removed or not, in the order they were added.
    pub members: Vec<MemberDetail>,
}

impl Registry {
    /// Why an open of `set` with access mode `wanted` would find no member
    /// (the `EACCES` line); `None` when there is no such set.
    pub fn no_member_text(&self, set: u64, wanted: i32) -> Option<String> {
        let s = self.sets.get(&set)?;
        Some(no_member_text(set, wanted, PresentModes::of(s)))
    }

    /// Every set (descending id, as `query-fdsets`) with its open dups and
    /// all of its members; `facts(fd)` tells each member's file.
    pub fn detail(&self, mut facts: impl FnMut(RawFd) -> Option<FileFacts>) -> Vec<SetDetail> {
        self.sets
            .iter()
            .rev()
            .map(|(&id, s)| SetDetail {
                id,
                open_dups: s.dups.len(),
                members: s
                    .members
                    .iter()
                    .map(|m| MemberDetail {
                        fd: m.fd,
                        opaque: m.opaque.clone(),
                        removed: m.removed,
                        access_mode: m.access_mode(),
                        file: facts(m.fd),
                    })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod detail_tests {
    use super::*;

    fn info(acc: i32) -> MemberInfo {
        MemberInfo {
            status_flags: acc,
            kind: Some(FileKind::Regular),
        }
    }

    fn present(rdwr: u32, rdonly: u32, wronly: u32) -> PresentModes {
        PresentModes {
            rdwr,
            rdonly,
            wronly,
        }
    }

    #[test]
    fn the_eacces_text_names_the_modes_the_set_has() {
        assert_eq!(
            no_member_text(2, libc::O_WRONLY, present(1, 1, 0)),
            "set 2 has O_RDWR and O_RDONLY members, no O_WRONLY"
        );
        assert_eq!(
            no_member_text(1, libc::O_WRONLY | libc::O_CREAT, present(0, 1, 0)),
            "set 1 has an O_RDONLY member, no O_WRONLY"
        );
        assert_eq!(
            no_member_text(1, libc::O_RDONLY, present(0, 0, 2)),
            "set 1 has O_WRONLY members, no O_RDONLY"
        );
        assert_eq!(
            no_member_text(3, libc::O_RDWR, present(0, 0, 0)),
            "set 3 has no member left (all removed; open dups keep the set), no O_RDWR"
        );
    }

    #[test]
    fn what_a_set_holds() {
        assert_eq!(
            present_text(5, present(1, 1, 1)),
            "set 5 has O_RDWR, O_RDONLY and O_WRONLY members"
        );
        assert_eq!(
            present_text(5, present(0, 0, 1)),
            "set 5 has an O_WRONLY member"
        );
    }

    #[test]
    fn the_registry_counts_only_visible_members() {
        let mut r = Registry::new();
        r.set_always_in_use(true);
        r.add_member(Some(4), 100, None, info(libc::O_RDONLY));
        r.add_member(Some(4), 101, None, info(libc::O_RDWR));
        r.add_member(Some(4), 102, None, info(libc::O_RDONLY | libc::O_APPEND));
        assert_eq!(PresentModes::of(r.set(4).unwrap()), present(1, 2, 0));
        assert_eq!(
            r.no_member_text(4, libc::O_WRONLY).as_deref(),
            Some("set 4 has O_RDWR and O_RDONLY members, no O_WRONLY")
        );
        assert_eq!(r.no_member_text(5, libc::O_WRONLY), None);
    }

    #[test]
    fn detail_lists_every_member_and_the_dups() {
        use crate::registry::no_ops::NoOps as Ops;
        let mut r = Registry::new();
        r.set_always_in_use(true);
        r.add_member(Some(1), 100, Some("a".into()), info(libc::O_RDWR));
        r.add_member(Some(1), 101, None, info(libc::O_WRONLY));
        r.add_member(Some(7), 102, None, info(libc::O_RDONLY));
        assert!(matches!(
            r.open(&mut Ops, 1, libc::O_WRONLY),
            OpenOutcome::Opened { .. }
        ));
        r.remove(&mut Ops, 1, Some(101), &mut Vec::new()).unwrap();
        let facts = |fd| {
            (fd != 102).then_some(FileFacts {
                kind: libc::S_IFREG,
                size: 10,
                dev: 5,
                ino: fd as u64,
            })
        };
        let d = r.detail(facts);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].id, d[0].open_dups), (7, 0));
        assert_eq!(d[0].members[0].file, None, "fstat failed");
        assert_eq!((d[1].id, d[1].open_dups), (1, 1));
        let m: Vec<(RawFd, bool, i32)> = d[1]
            .members
            .iter()
            .map(|m| (m.fd, m.removed, m.access_mode))
            .collect();
        assert_eq!(
            m,
            [(100, false, libc::O_RDWR), (101, true, libc::O_WRONLY)],
            "the removed member with an open dup is still listed"
        );
        assert_eq!(d[1].members[0].opaque.as_deref(), Some("a"));
        assert_eq!(d[1].members[0].file.unwrap().kind_name(), "regular");
    }
}
