//! Which member a call through a set path uses (spec sections 2 "Open"
//! item 7 and 8): the calls that act on the file behind a set without
//! opening it (`truncate`, `utimensat`, `getxattr`, `statfs`), the `O_PATH`
//! open, and the `O_DIRECTORY` check of an open.

use super::*;

/// What a call needs of the member it goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any member that is not removed (the newest): it only names the file.
    Any,
    /// One that can write (`O_WRONLY` or `O_RDWR`, the newest): `ftruncate`
    /// needs a descriptor open for writing.
    Write,
}

/// The member a call goes through, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickOutcome {
    Picked {
        set: u64,
        member: RawFd,
    },
    NoSuchSet {
        set: u64,
    },
    /// Every member is removed: to a program that looks, the set does not
    /// exist (as for `stat`).
    NoVisibleMember {
        set: u64,
    },
    /// Members exist, but none can write.
    NoWritableMember {
        set: u64,
    },
}

impl PickOutcome {
    pub fn result(&self) -> Result<RawFd, Errno> {
        match *self {
            PickOutcome::Picked { member, .. } => Ok(member),
            PickOutcome::NoSuchSet { .. } | PickOutcome::NoVisibleMember { .. } => {
                Err(libc::ENOENT)
            }
            PickOutcome::NoWritableMember { .. } => Err(libc::EACCES),
        }
    }
}

impl Registry {
    /// The member a call with `need` goes through: the newest one not
    /// removed that satisfies it.
    pub fn pick(&self, set: u64, need: Need) -> PickOutcome {
        let Some(s) = self.sets.get(&set) else {
            return PickOutcome::NoSuchSet { set };
        };
        let mut visible = s.visible_members().rev().peekable();
        if visible.peek().is_none() {
            return PickOutcome::NoVisibleMember { set };
        }
        let found = match need {
            Need::Any => visible.next(),
            Need::Write => visible.find(|m| m.access_mode() != libc::O_RDONLY),
        };
        match found {
            Some(m) => PickOutcome::Picked { set, member: m.fd },
            None => PickOutcome::NoWritableMember { set },
        }
    }

    /// The member an open of `set` with `flags` would duplicate, and what
    /// is cached about it; `None` when the open would fail before choosing
    /// (no such set, no member of that access mode). Used to refuse an
    /// `O_DIRECTORY` open of a non-directory before anything is changed.
    pub fn open_choice(
        &self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
    ) -> Option<(RawFd, MemberInfo)> {
        let s = self.sets.get(&set)?;
        Self::choose(s, ops, flags).map(|m| (m.fd, m.info))
    }
}

/// `O_DIRECTORY` (spec section 2, "Open" item 7): the chosen member must be
/// a directory, else `ENOTDIR`. A member whose kind is known is answered
/// from it; for any other `is_directory` asks the descriptor.
pub fn directory_check(info: MemberInfo, is_directory: impl FnOnce() -> bool) -> Result<(), Errno> {
    let directory = info
        .kind
        .map_or_else(is_directory, |k| k == FileKind::Directory);
    if directory {
        Ok(())
    } else {
        Err(libc::ENOTDIR)
    }
}

#[cfg(test)]
mod pick_tests {
    //! Spec section 8: the calls through a member pick the newest one not
    //! removed; `truncate` the newest that can write.
    use super::*;

    use crate::registry::no_ops::NoOps;

    fn info(acc: i32, kind: FileKind) -> MemberInfo {
        MemberInfo {
            status_flags: acc,
            kind: Some(kind),
        }
    }

    #[test]
    fn newest_visible_member_and_newest_writable_one() {
        let mut r = Registry::new();
        r.set_always_in_use(true);
        r.add_member(Some(1), 100, None, info(libc::O_RDWR, FileKind::Regular));
        r.add_member(Some(1), 101, None, info(libc::O_WRONLY, FileKind::Regular));
        r.add_member(Some(1), 102, None, info(libc::O_RDONLY, FileKind::Regular));
        assert_eq!(
            r.pick(1, Need::Any),
            PickOutcome::Picked {
                set: 1,
                member: 102
            }
        );
        assert_eq!(
            r.pick(1, Need::Write),
            PickOutcome::Picked {
                set: 1,
                member: 101
            }
        );
        r.remove(&mut NoOps, 1, Some(101), &mut Vec::new()).unwrap();
        assert_eq!(
            r.pick(1, Need::Write),
            PickOutcome::Picked {
                set: 1,
                member: 100
            }
        );
    }

    #[test]
    fn read_only_set_cannot_truncate_and_missing_sets_do_not_exist() {
        let mut r = Registry::new();
        r.set_always_in_use(true);
        r.add_member(Some(2), 100, None, info(libc::O_RDONLY, FileKind::Regular));
        assert_eq!(r.pick(2, Need::Write).result(), Err(libc::EACCES));
        assert_eq!(r.pick(2, Need::Any).result(), Ok(100));
        assert_eq!(r.pick(3, Need::Any).result(), Err(libc::ENOENT));
        // Only a dup keeps the set: nothing is left to go through.
        assert!(matches!(
            r.open(&mut NoOps, 2, libc::O_RDONLY),
            OpenOutcome::Opened { .. }
        ));
        r.remove(&mut NoOps, 2, None, &mut Vec::new()).unwrap();
        assert_eq!(
            r.pick(2, Need::Any),
            PickOutcome::NoVisibleMember { set: 2 }
        );
        assert_eq!(r.pick(2, Need::Write).result(), Err(libc::ENOENT));
    }

    #[test]
    fn open_choice_is_the_member_open_would_duplicate() {
        let mut r = Registry::new();
        r.add_member(Some(5), 100, None, info(libc::O_RDONLY, FileKind::Other));
        r.add_member(Some(5), 101, None, info(libc::O_WRONLY, FileKind::Regular));
        assert_eq!(
            r.open_choice(&mut NoOps, 5, libc::O_RDONLY | libc::O_DIRECTORY),
            Some((100, info(libc::O_RDONLY, FileKind::Other)))
        );
        assert_eq!(r.open_choice(&mut NoOps, 5, libc::O_RDWR), None);
        assert_eq!(r.open_choice(&mut NoOps, 6, libc::O_RDONLY), None);
    }

    #[test]
    fn o_directory_needs_a_directory() {
        let mut asked = false;
        for (kind, answer) in [
            (FileKind::Regular, Err(libc::ENOTDIR)),
            (FileKind::Other, Err(libc::ENOTDIR)),
            (FileKind::BlockDevice, Err(libc::ENOTDIR)),
            (FileKind::Directory, Ok(())),
        ] {
            let got = directory_check(info(libc::O_RDONLY, kind), || {
                asked = true;
                true
            });
            assert_eq!(got, answer, "{kind:?}");
        }
        assert!(!asked, "a known kind is not asked again");
        // A member whose type was not asked yet is asked.
        let unknown = MemberInfo {
            status_flags: libc::O_RDONLY,
            kind: None,
        };
        assert_eq!(directory_check(unknown, || true), Ok(()));
        assert_eq!(directory_check(unknown, || false), Err(libc::ENOTDIR));
    }
}
