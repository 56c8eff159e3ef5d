//! A recording fake of the registry's `FdOps`: a tiny descriptor table with
//! open file descriptions, so tests can see which fds the registry closed or
//! duplicated, and when. Misuse (closing or duplicating a number that is not
//! open) panics: for the registry that is a bug, never an error to report.

use fdset_core::registry::{Errno, FdOps, FileKind, RawFd, SETFL_MASK};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Dup {
        from: RawFd,
        to: RawFd,
        cloexec: bool,
    },
    Close(RawFd),
    SetFl {
        fd: RawFd,
        flags: i32,
    },
    Truncate(RawFd),
    Rewind(RawFd),
}

/// An operation whose next call can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Dup,
    GetFl,
    SetFl,
    Truncate,
    Rewind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    /// `F_GETFL` of the description.
    pub status: i32,
    pub kind: FileKind,
    pub size: u64,
    pub offset: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub desc: usize,
    pub cloexec: bool,
}

#[derive(Default)]
pub struct FakeFds {
    pub fds: BTreeMap<RawFd, Slot>,
    pub descs: Vec<Description>,
    pub events: Vec<Event>,
    /// How many times the registry asked a descriptor's type (`fstat`),
    /// which changes nothing and so is no event.
    pub type_asked: usize,
    fail: Option<(Op, Errno)>,
}

impl FakeFds {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number the next dup or open gets (the kernel's rule).
    pub fn lowest_free(&self) -> RawFd {
        let mut fd = 3;
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        fd
    }

    /// The program opens a file (a new description), as a member's origin.
    pub fn open_file(&mut self, status: i32, regular: bool) -> RawFd {
        let kind = if regular {
            FileKind::Regular
        } else {
            FileKind::Other
        };
        self.open_of_kind(status, kind)
    }

    /// The program opens a file of `kind` (a new description).
    pub fn open_of_kind(&mut self, status: i32, kind: FileKind) -> RawFd {
        self.descs.push(Description {
            status,
            kind,
            size: 100,
            offset: 42,
        });
        let fd = self.lowest_free();
        self.fds.insert(
            fd,
            Slot {
                desc: self.descs.len() - 1,
                cloexec: true,
            },
        );
        fd
    }

    /// The program reads or writes through `fd`: its description's offset
    /// moves to `offset`.
    pub fn program_seek(&mut self, fd: RawFd, offset: u64) {
        self.desc_mut(fd, "the program's read").offset = offset;
    }

    /// The program closes one of its own fds (not through the registry).
    pub fn program_close(&mut self, fd: RawFd) {
        assert!(
            self.fds.remove(&fd).is_some(),
            "program closed fd {fd}, which is not open"
        );
    }

    pub fn is_open(&self, fd: RawFd) -> bool {
        self.fds.contains_key(&fd)
    }

    pub fn desc_of(&self, fd: RawFd) -> &Description {
        &self.descs[self.fds[&fd].desc]
    }

    pub fn slot(&self, fd: RawFd) -> Slot {
        self.fds[&fd]
    }

    /// The next call of `op` fails with `errno` (once).
    pub fn fail_next(&mut self, op: Op, errno: Errno) {
        self.fail = Some((op, errno));
    }

    /// Forget a failure that was not reached.
    pub fn clear_fail(&mut self) {
        self.fail = None;
    }

    fn injected(&mut self, op: Op) -> Result<(), Errno> {
        match self.fail {
            Some((o, e)) if o == op => {
                self.fail = None;
                Err(e)
            }
            _ => Ok(()),
        }
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The fds closed through `FdOps::close` since the events were last taken.
    pub fn closed(events: &[Event]) -> Vec<RawFd> {
        let mut v: Vec<RawFd> = events
            .iter()
            .filter_map(|e| {
                if let Event::Close(fd) = e {
                    Some(*fd)
                } else {
                    None
                }
            })
            .collect();
        v.sort_unstable();
        v
    }

    fn desc_mut(&mut self, fd: RawFd, what: &str) -> &mut Description {
        let Some(slot) = self.fds.get(&fd) else {
            panic!("registry called {what} on fd {fd}, which is not open");
        };
        &mut self.descs[slot.desc]
    }
}

impl FdOps for FakeFds {
    fn dup(&mut self, fd: RawFd, cloexec: bool) -> Result<RawFd, Errno> {
        let Some(&slot) = self.fds.get(&fd) else {
            panic!("registry duplicated fd {fd}, which is not open");
        };
        self.injected(Op::Dup)?;
        let to = self.lowest_free();
        self.fds.insert(
            to,
            Slot {
                desc: slot.desc,
                cloexec,
            },
        );
        self.events.push(Event::Dup {
            from: fd,
            to,
            cloexec,
        });
        Ok(to)
    }
    fn close(&mut self, fd: RawFd) {
        assert!(
            self.fds.remove(&fd).is_some(),
            "registry closed fd {fd}, which is not open"
        );
        self.events.push(Event::Close(fd));
    }
    fn get_status_flags(&mut self, fd: RawFd) -> Result<i32, Errno> {
        let status = self.desc_mut(fd, "F_GETFL").status;
        self.injected(Op::GetFl)?;
        Ok(status)
    }
    fn set_status_flags(&mut self, fd: RawFd, flags: i32) -> Result<(), Errno> {
        self.desc_mut(fd, "F_SETFL");
        self.injected(Op::SetFl)?;
        // Linux F_SETFL changes only these bits.
        let d = self.desc_mut(fd, "F_SETFL");
        d.status = (d.status & !SETFL_MASK) | (flags & SETFL_MASK);
        self.events.push(Event::SetFl { fd, flags });
        Ok(())
    }
    fn truncate(&mut self, fd: RawFd) -> Result<(), Errno> {
        // The kernel's ftruncate takes only a regular file.
        if self.desc_mut(fd, "ftruncate").kind != FileKind::Regular {
            return Err(libc::EINVAL);
        }
        self.injected(Op::Truncate)?;
        self.desc_mut(fd, "ftruncate").size = 0;
        self.events.push(Event::Truncate(fd));
        Ok(())
    }
    fn rewind(&mut self, fd: RawFd) -> Result<(), Errno> {
        self.desc_mut(fd, "lseek");
        self.injected(Op::Rewind)?;
        self.desc_mut(fd, "lseek").offset = 0;
        self.events.push(Event::Rewind(fd));
        Ok(())
    }
    fn file_kind(&mut self, fd: RawFd) -> FileKind {
        self.type_asked += 1;
        self.desc_mut(fd, "fstat").kind
    }
}
