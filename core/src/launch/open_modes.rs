//! Opening a file as the members of one access mode choice (`mode=` of
//! fdset-run's `--file`, fdset-ctl's `--mode`): the same opens in both tools.

use super::options::FileMode;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

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

/// Open `path` once per access mode of `mode` ([`FileMode::member_modes`]).
/// Modes that write create a missing file (0666 less the umask) but never
/// truncate it: the program's own `O_TRUNC` does that. A directory is
/// refused (`EISDIR`), also for `ro`, which the kernel would allow.
pub fn open_members(path: &Path, mode: FileMode) -> Result<Vec<OpenedMember>, OpenFailure> {
    let mut out = Vec::new();
    for &access_mode in mode.member_modes() {
        let read = access_mode != libc::O_WRONLY;
        let write = access_mode != libc::O_RDONLY;
        let fail = |error| OpenFailure { access_mode, error };
        let file = OpenOptions::new()
            .read(read)
            .write(write)
            .create(write)
            .open(path)
            .map_err(fail)?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(fail(io::Error::from_raw_os_error(libc::EISDIR)));
        }
        out.push(OpenedMember { file, access_mode });
    }
    Ok(out)
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
            let m = open_members(&p, mode).unwrap();
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
        open_members(&p, FileMode::ReadWrite).unwrap();
        assert!(p.exists());
        let e = open_members(&d, FileMode::ReadOnly).unwrap_err();
        assert_eq!(e.error.raw_os_error(), Some(libc::EISDIR));
        let _ = std::fs::remove_dir_all(&d);
    }
}
