//! The flags the kernel takes for the calls that look at a path (spec
//! section 8: a set path is answered as the kernel would answer for the
//! member's file, so a flag the kernel refuses is its `EINVAL` on a set
//! path too, and a flag it takes is taken).

/// A call whose flags the kernel checks before it looks at the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookCall {
    /// `newfstatat` (glibc's `fstatat` and `__fxstatat`): takes `statx`'s
    /// sync bits, even both at once, and ignores them.
    Fstatat,
    /// `statx`: takes the sync bits, one at a time.
    Statx,
    /// `faccessat2`.
    Faccessat2,
}

const STAT: i32 = libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT | libc::AT_EMPTY_PATH;
const ACCESS: i32 = libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;

/// Whether the kernel answers `call` with these `flags` `EINVAL`.
pub fn kernel_refuses(call: LookCall, flags: i32) -> bool {
    let sync = flags & libc::AT_STATX_SYNC_TYPE;
    match call {
        LookCall::Fstatat => flags & !(STAT | libc::AT_STATX_SYNC_TYPE) != 0,
        LookCall::Statx => {
            flags & !(STAT | libc::AT_STATX_SYNC_TYPE) != 0 || sync == libc::AT_STATX_SYNC_TYPE
        }
        LookCall::Faccessat2 => flags & !ACCESS != 0,
    }
}

#[cfg(test)]
mod tests {
    //! Each case as Linux 6.x answers it for an ordinary file
    //! (`newfstatat`, `statx` and `faccessat2` system calls).
    use super::*;
    use LookCall::*;

    #[test]
    fn the_sync_bits_are_taken_by_fstatat_even_both_and_by_statx_one_at_a_time() {
        for flags in [libc::AT_STATX_FORCE_SYNC, libc::AT_STATX_DONT_SYNC] {
            assert!(!kernel_refuses(Fstatat, flags));
            assert!(!kernel_refuses(Statx, flags));
            assert!(kernel_refuses(Faccessat2, flags));
        }
        assert!(!kernel_refuses(Fstatat, libc::AT_STATX_SYNC_TYPE));
        assert!(kernel_refuses(Statx, libc::AT_STATX_SYNC_TYPE));
    }

    #[test]
    fn each_call_takes_its_own_flags_and_no_other() {
        for call in [Fstatat, Statx] {
            assert!(!kernel_refuses(call, 0));
            assert!(!kernel_refuses(call, STAT));
            for bad in [libc::AT_EACCESS, libc::AT_RECURSIVE, 0x10000, i32::MIN] {
                assert!(kernel_refuses(call, bad), "{call:?} {bad:#x}");
            }
        }
        assert!(!kernel_refuses(Faccessat2, ACCESS));
        for bad in [libc::AT_NO_AUTOMOUNT, libc::AT_RECURSIVE, 0x1] {
            assert!(kernel_refuses(Faccessat2, bad), "{bad:#x}");
        }
    }
}
