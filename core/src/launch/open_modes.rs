//! Opening a file as the members of one access mode choice (`mode=` of
//! fdset-run's `--file`, fdset-ctl's `--mode`): the same opens in both tools.

use super::options::FileMode;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One descriptor of the file, and its access mode (`O_RDONLY`, ...).
#[derive(Debug)]
pub struct OpenedMember {
    pub file: File,
    pub access_mode: i32,
}

/// Which open failed, and why.
#[derive(Debug)]
pub struct OpenFailure {
    pub access_mode: i32,
    pub error: io::Error,
}

/// What [`open_members`] opened, and whether it made the file.
#[derive(Debug)]
pub struct Opened {
    pub members: Vec<OpenedMember>,
    /// The file was not there and the first open that writes made it.
    pub created: Option<Created>,
}

/// A file an open made: a caller that gives up before the file is used
/// removes it again ([`Created::remove`]), so that a refused launch leaves
/// nothing behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Created {
    fn of(path: &Path, file: &File) -> Option<Created> {
        let m = file.metadata().ok()?;
        Some(Created {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// Remove the file, if the path still names the one that was made
    /// (not a file another process put there since) and it is still empty
    /// (nothing was written to it: what was, is kept).
    pub fn remove(&self) {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| {
            m.is_file() && m.dev() == self.dev && m.ino() == self.ino && m.len() == 0
        }) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Open `path` once per access mode of `mode` ([`FileMode::member_modes`]).
/// Modes that write create a missing file (0666 less the umask) but never
/// truncate it: the program's own `O_TRUNC` does that. A directory is
/// refused (`EISDIR`), also for `ro`, which the kernel would allow. When a
/// later open fails, a file the first one made is removed again.
pub fn open_members(path: &Path, mode: FileMode) -> Result<Opened, OpenFailure> {
    let mut out = Opened {
        members: Vec::new(),
        created: None,
    };
    for &access_mode in mode.member_modes() {
        let read = access_mode != libc::O_WRONLY;
        let write = access_mode != libc::O_RDONLY;
        let fail = |error, out: &Opened| {
            if let Some(c) = &out.created {
                c.remove();
            }
            OpenFailure { access_mode, error }
        };
        let (file, made) = match open_one(path, read, write) {
            Ok(opened) => opened,
            Err(e) => return Err(fail(e, &out)),
        };
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(fail(io::Error::from_raw_os_error(libc::EISDIR), &out));
        }
        if made {
            out.created = Created::of(path, &file);
        }
        out.members.push(OpenedMember { file, access_mode });
    }
    Ok(out)
}

/// One open; `true` when it made the file. A missing file is made with
/// `O_EXCL`, so that "made" is certain; if something appeared meanwhile
/// (or the path is a dangling symbolic link, which `O_EXCL` refuses) it is
/// opened as the kernel's plain `O_CREAT` would, and counted as not made.
fn open_one(path: &Path, read: bool, write: bool) -> io::Result<(File, bool)> {
    let plain = OpenOptions::new().read(read).write(write).open(path);
    match plain {
        Err(e) if write && e.kind() == io::ErrorKind::NotFound => {
            match OpenOptions::new()
                .read(read)
                .write(write)
                .create_new(true)
                .open(path)
            {
                Ok(f) => Ok((f, true)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
                    .read(read)
                    .write(write)
                    .create(true)
                    .truncate(false)
                    .open(path)
                    .map(|f| (f, false)),
                Err(e) => Err(e),
            }
        }
        r => r.map(|f| (f, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("fdset-core-open-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn flags(f: &File) -> i32 {
        // SAFETY: F_GETFL on an open descriptor only reports.
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) }
    }

    #[test]
    fn each_mode_gives_descriptors_of_its_access_modes() {
        let d = scratch("modes");
        let p = d.join("f");
        std::fs::write(&p, b"keep").unwrap();
        for (mode, want) in [
            (FileMode::ReadOnly, vec![libc::O_RDONLY]),
            (FileMode::WriteOnly, vec![libc::O_WRONLY]),
            (
                FileMode::ReadWrite,
                vec![libc::O_RDWR, libc::O_RDONLY, libc::O_WRONLY],
            ),
        ] {
            let opened = open_members(&p, mode).unwrap();
            assert_eq!(opened.created, None, "the file was there");
            let m = opened.members;
            let got: Vec<i32> = m.iter().map(|m| flags(&m.file) & libc::O_ACCMODE).collect();
            assert_eq!(got, want, "{mode:?}");
            assert!(
                m.iter()
                    .all(|m| m.access_mode == flags(&m.file) & libc::O_ACCMODE)
            );
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"keep", "never truncated");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn writing_modes_create_and_reading_does_not() {
        let d = scratch("create");
        let p = d.join("new");
        let e = open_members(&p, FileMode::ReadOnly).unwrap_err();
        assert_eq!(e.error.kind(), io::ErrorKind::NotFound);
        assert!(!p.exists());
        let made = open_members(&p, FileMode::ReadWrite).unwrap();
        assert!(p.exists());
        assert_eq!(
            made.created.as_ref().map(|c| c.path.as_path()),
            Some(p.as_path())
        );
        let again = open_members(&p, FileMode::WriteOnly).unwrap();
        assert_eq!(again.created, None, "there now");
        let e = open_members(&d, FileMode::ReadOnly).unwrap_err();
        assert_eq!(e.error.raw_os_error(), Some(libc::EISDIR));
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A launch refused after the open removes what it made, and only that:
    /// a file put at the path since is left alone.
    #[test]
    fn a_created_file_is_removed_only_while_it_is_the_one_made() {
        let d = scratch("undo");
        let p = d.join("new");
        let made = open_members(&p, FileMode::WriteOnly).unwrap();
        let created = made.created.clone().unwrap();
        drop(made);
        created.remove();
        assert!(!p.exists());
        let made = open_members(&p, FileMode::WriteOnly).unwrap();
        let created = made.created.clone().unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, b"someone else's").unwrap();
        created.remove();
        assert_eq!(std::fs::read(&p).unwrap(), b"someone else's");
        // Written to since it was made: kept.
        std::fs::remove_file(&p).unwrap();
        let made = open_members(&p, FileMode::WriteOnly).unwrap();
        std::io::Write::write_all(&mut &made.members[0].file, b"data").unwrap();
        made.created.unwrap().remove();
        assert_eq!(std::fs::read(&p).unwrap(), b"data");
        let _ = std::fs::remove_dir_all(&d);
    }
}
