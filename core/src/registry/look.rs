//! Looking before opening (spec section 8): which member answers `stat` and
//! `access` for a set, and which modes it can serve.

use super::*;

/// Which kinds of open a set can serve, for `access()`: reading
/// needs an `O_RDONLY` or `O_RDWR` member, writing an `O_WRONLY` or `O_RDWR` one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServedModes {
    pub read: bool,
    pub write: bool,
}

/// Which member answers `stat`/`access` for a set, or why none does (logged
/// with `FDSET_LOG=1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookOutcome {
    /// The newest visible member answers `stat`; `modes` are what the
    /// visible members together serve.
    Answered {
        set: u64,
        member: RawFd,
        modes: ServedModes,
    },
    NoSuchSet {
        set: u64,
    },
    /// Every member is removed (only dups keep the set alive): no open of it
    /// can succeed, so to a program that looks first it does not exist.
    NoVisibleMember {
        set: u64,
    },
}

impl LookOutcome {
    pub fn result(&self) -> Result<RawFd, Errno> {
        match *self {
            LookOutcome::Answered { member, .. } => Ok(member),
            LookOutcome::NoSuchSet { .. } | LookOutcome::NoVisibleMember { .. } => {
                Err(libc::ENOENT)
            }
        }
    }
}

impl Registry {
    /// The member that answers `stat` for set `set` (the newest one not
    /// removed) and the modes the set serves.
    pub fn look(&self, set: u64) -> LookOutcome {
        let Some(s) = self.sets.get(&set) else {
            return LookOutcome::NoSuchSet { set };
        };
        let mut modes = ServedModes::default();
        let mut newest = None;
        for m in s.visible_members() {
            match m.access_mode() {
                libc::O_RDONLY => modes.read = true,
                libc::O_WRONLY => modes.write = true,
                _ => {
                    modes.read = true;
                    modes.write = true;
                }
            }
            newest = Some(m.fd);
        }
        match newest {
            Some(member) => LookOutcome::Answered { set, member, modes },
            None => LookOutcome::NoVisibleMember { set },
        }
    }
}

/// `access(path, mode)` against the modes a set serves: `Err` names the
/// member kind that is missing. `X_OK` is decided from the file's mode by
/// [`exec_permitted`], not here.
pub fn access_allowed(modes: ServedModes, mode: i32) -> Result<(), &'static str> {
    if mode & libc::R_OK != 0 && !modes.read {
        return Err("O_RDONLY or O_RDWR");
    }
    if mode & libc::W_OK != 0 && !modes.write {
        return Err("O_WRONLY or O_RDWR");
    }
    Ok(())
}

/// `X_OK` as the kernel decides it from a file's mode and owner: root may
/// search any directory and execute a file with any execute bit, others
/// need the bit of their class (owner, group, other); a regular file on a
/// `noexec` mount executes for nobody. (POSIX ACLs are not looked at: the
/// shim asks the kernel itself where it can, `faccessat2` on the member.)
pub fn exec_permitted(
    st_mode: u32,
    st_uid: u32,
    st_gid: u32,
    uid: u32,
    noexec: bool,
    in_group: impl Fn(u32) -> bool,
) -> bool {
    let is_dir = st_mode & libc::S_IFMT == libc::S_IFDIR;
    let is_reg = st_mode & libc::S_IFMT == libc::S_IFREG;
    if noexec && is_reg {
        return false;
    }
    let any_x = libc::S_IXUSR | libc::S_IXGRP | libc::S_IXOTH;
    if uid == 0 {
        return is_dir || st_mode & any_x != 0;
    }
    let bit = if uid == st_uid {
        libc::S_IXUSR
    } else if in_group(st_gid) {
        libc::S_IXGRP
    } else {
        libc::S_IXOTH
    };
    st_mode & bit != 0
}

#[cfg(test)]
mod look_tests {
    //! the stat family answers from the set's members.
    use super::*;

    use crate::registry::no_ops::NoOps;

    fn info(acc: i32) -> MemberInfo {
        MemberInfo {
            status_flags: acc,
            kind: Some(FileKind::Regular),
        }
    }

    #[test]
    fn newest_visible_member_answers() {
        let mut r = Registry::new();
        r.set_always_in_use(true);
        r.add_member(Some(3), 100, None, info(libc::O_RDONLY));
        r.add_member(Some(3), 101, None, info(libc::O_WRONLY));
        let modes = ServedModes {
            read: true,
            write: true,
        };
        assert_eq!(
            r.look(3),
            LookOutcome::Answered {
                set: 3,
                member: 101,
                modes
            }
        );
        r.remove(&mut NoOps, 3, Some(101), &mut Vec::new()).unwrap();
        let modes = ServedModes {
            read: true,
            write: false,
        };
        assert_eq!(
            r.look(3),
            LookOutcome::Answered {
                set: 3,
                member: 100,
                modes
            }
        );
    }

    #[test]
    fn missing_set_and_set_without_visible_member_are_enoent() {
        let mut r = Registry::new();
        r.set_always_in_use(true);
        assert_eq!(r.look(7).result(), Err(libc::ENOENT));
        r.add_member(Some(7), 100, None, info(libc::O_RDWR));
        // A live dup keeps the set after its member is removed.
        assert!(matches!(
            r.open(&mut NoOps, 7, libc::O_RDWR),
            OpenOutcome::Opened { .. }
        ));
        r.remove(&mut NoOps, 7, None, &mut Vec::new()).unwrap();
        assert!(r.set(7).is_some());
        assert_eq!(r.look(7), LookOutcome::NoVisibleMember { set: 7 });
        assert_eq!(r.look(7).result(), Err(libc::ENOENT));
    }

    #[test]
    fn access_honours_served_modes() {
        let ro = ServedModes {
            read: true,
            write: false,
        };
        let wo = ServedModes {
            read: false,
            write: true,
        };
        let rw = ServedModes {
            read: true,
            write: true,
        };
        assert_eq!(access_allowed(ro, libc::F_OK), Ok(()));
        assert_eq!(access_allowed(ro, libc::R_OK), Ok(()));
        assert_eq!(access_allowed(ro, libc::W_OK), Err("O_WRONLY or O_RDWR"));
        assert_eq!(access_allowed(wo, libc::R_OK), Err("O_RDONLY or O_RDWR"));
        assert_eq!(access_allowed(wo, libc::W_OK), Ok(()));
        assert_eq!(access_allowed(rw, libc::R_OK | libc::W_OK), Ok(()));
        // X_OK alone is the file mode's business.
        assert_eq!(access_allowed(ServedModes::default(), libc::X_OK), Ok(()));
    }

    #[test]
    fn rdwr_member_serves_both_modes() {
        let mut r = Registry::new();
        r.add_member(Some(0), 100, None, info(libc::O_RDWR));
        let LookOutcome::Answered { modes, .. } = r.look(0) else {
            panic!("set 0 answers")
        };
        assert_eq!(
            modes,
            ServedModes {
                read: true,
                write: true
            }
        );
    }

    #[test]
    fn exec_permission_by_class() {
        let no_group = |_| false;
        let file = libc::S_IFREG;
        assert!(exec_permitted(
            file | 0o100,
            1000,
            1000,
            1000,
            false,
            no_group
        ));
        assert!(!exec_permitted(
            file | 0o011,
            1000,
            1000,
            1000,
            false,
            no_group
        ));
        assert!(exec_permitted(file | 0o010, 0, 50, 1000, false, |g| g == 50));
        assert!(!exec_permitted(file | 0o100, 0, 50, 1000, false, |g| g == 50));
        assert!(exec_permitted(file | 0o001, 0, 0, 1000, false, no_group));
        assert!(exec_permitted(file | 0o001, 5, 5, 0, false, no_group));
        assert!(!exec_permitted(file | 0o644, 5, 5, 0, false, no_group));
        // Root searches any directory; nobody executes from a noexec mount
        // (a directory there is still searched).
        let dir = libc::S_IFDIR;
        assert!(exec_permitted(dir | 0o600, 5, 5, 0, false, no_group));
        assert!(!exec_permitted(dir | 0o600, 5, 5, 1000, false, no_group));
        assert!(!exec_permitted(file | 0o755, 5, 5, 0, true, no_group));
        assert!(!exec_permitted(file | 0o755, 1000, 5, 1000, true, no_group));
        assert!(exec_permitted(dir | 0o755, 1000, 5, 1000, true, no_group));
    }
}
