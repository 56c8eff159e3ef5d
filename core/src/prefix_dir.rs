//! What a prefix directory (`/dev/fdset`, each `FDSET_PREFIX`) answers when
//! nothing is on disk there (spec section 8): a read-only directory, mode
//! 0555, owned by the caller's effective ids, with its parent's device and
//! times and an inode number of its own, so that `realpath`-style walks over
//! a set path succeed. The shim and fdset-run's seccomp mode give the same
//! answer from these; each stats the parent its own way.

use crate::registry::Errno;

/// The directory's type and mode.
pub const DIR_MODE: u32 = libc::S_IFDIR | 0o555;

/// `path` without trailing slashes (`realpath`'s answer for the directory).
pub fn trimmed(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// The directory holding `path` (`/` for a top-level name).
pub fn parent_of(path: &[u8]) -> &[u8] {
    let path = trimmed(path);
    let cut = path.iter().rposition(|&b| b == b'/').unwrap_or(0).max(1);
    &path[..cut.min(path.len())]
}

/// A stable inode number (FNV-1a of the path, top bit set, away from the
/// small numbers file systems hand out).
pub fn fake_ino(path: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in trimmed(path) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h | 1 << 63
}

/// The directory's `struct stat`; `parent` is its parent's (zeros when the
/// parent cannot be stat'ed either).
pub fn dir_stat(path: &[u8], parent: &libc::stat, uid: u32, gid: u32) -> libc::stat {
    // SAFETY: plain data; all zeros is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_dev = parent.st_dev;
    st.st_ino = fake_ino(path);
    st.st_mode = DIR_MODE;
    st.st_nlink = 2;
    st.st_uid = uid;
    st.st_gid = gid;
    st.st_blksize = 4096;
    st.st_atime = parent.st_atime;
    st.st_atime_nsec = parent.st_atime_nsec;
    st.st_mtime = parent.st_mtime;
    st.st_mtime_nsec = parent.st_mtime_nsec;
    st.st_ctime = parent.st_ctime;
    st.st_ctime_nsec = parent.st_ctime_nsec;
    st
}

/// The directory's `struct statx`: the basic fields, no birth time.
pub fn dir_statx(path: &[u8], parent: &libc::stat, uid: u32, gid: u32) -> libc::statx {
    let ts = |sec: i64, nsec: i64| {
        // SAFETY: plain data; all zeros is a valid value.
        let mut t: libc::statx_timestamp = unsafe { std::mem::zeroed() };
        t.tv_sec = sec;
        t.tv_nsec = nsec as u32;
        t
    };
    // SAFETY: plain data; all zeros is a valid value.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    sx.stx_mask = libc::STATX_BASIC_STATS;
    sx.stx_blksize = 4096;
    sx.stx_nlink = 2;
    sx.stx_uid = uid;
    sx.stx_gid = gid;
    sx.stx_mode = DIR_MODE as u16;
    sx.stx_ino = fake_ino(path);
    sx.stx_atime = ts(parent.st_atime, parent.st_atime_nsec);
    sx.stx_mtime = ts(parent.st_mtime, parent.st_mtime_nsec);
    sx.stx_ctime = ts(parent.st_ctime, parent.st_ctime_nsec);
    sx.stx_dev_major = libc::major(parent.st_dev);
    sx.stx_dev_minor = libc::minor(parent.st_dev);
    sx
}

/// `access` of the directory: mode 0555 for everyone, root included, so
/// `W_OK` is refused (nothing can be created there) and the rest granted;
/// unknown mode bits are the kernel's `EINVAL`.
pub fn dir_access(mode: i32) -> Result<(), Errno> {
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        return Err(libc::EINVAL);
    }
    if mode & libc::W_OK != 0 {
        return Err(libc::EACCES);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Spec section 8: the prefix directories answer as a read-only directory.
    use super::*;

    #[test]
    fn the_parent_and_the_trimmed_path() {
        assert_eq!(parent_of(b"/dev/fdset"), b"/dev");
        assert_eq!(parent_of(b"/dev/fdset//"), b"/dev");
        assert_eq!(parent_of(b"/fdset"), b"/");
        assert_eq!(trimmed(b"/run/x///"), b"/run/x");
        assert_eq!(fake_ino(b"/dev/fdset/"), fake_ino(b"/dev/fdset"));
        assert_ne!(fake_ino(b"/dev/fdset"), fake_ino(b"/run/fdset"));
    }

    #[test]
    fn a_read_only_directory_with_its_parents_device_and_times() {
        // SAFETY: plain data; all zeros is a valid value.
        let mut parent: libc::stat = unsafe { std::mem::zeroed() };
        parent.st_dev = libc::makedev(8, 3);
        parent.st_mtime = 1_000_000;
        let st = dir_stat(b"/dev/fdset", &parent, 1000, 100);
        assert_eq!(
            (st.st_mode, st.st_uid, st.st_gid, st.st_nlink),
            (DIR_MODE, 1000, 100, 2)
        );
        assert_eq!((st.st_dev, st.st_mtime), (parent.st_dev, 1_000_000));
        assert_eq!(st.st_ino, fake_ino(b"/dev/fdset"));
        let sx = dir_statx(b"/dev/fdset", &parent, 1000, 100);
        assert_eq!(sx.stx_mask, libc::STATX_BASIC_STATS);
        assert_eq!((sx.stx_dev_major, sx.stx_dev_minor), (8, 3));
        assert_eq!((sx.stx_ino, sx.stx_mtime.tv_sec), (st.st_ino, 1_000_000));
        assert_eq!(u32::from(sx.stx_mode), DIR_MODE);
        assert_eq!(dir_access(libc::R_OK | libc::X_OK), Ok(()));
        assert_eq!(dir_access(libc::W_OK), Err(libc::EACCES));
        assert_eq!(dir_access(8), Err(libc::EINVAL));
    }
}
