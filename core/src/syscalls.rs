//! The rules of the shim's `syscall()` hook (spec section 8): which system
//! call numbers are answered as their libc functions, when an `openat2` on
//! a set path is served, and `FDSET_IO_URING`.

use libc::c_long;

/// A system call number that `syscall()` answers like the libc function of
/// the same name (every other number passes through untouched).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// `SYS_open` (x86_64 only: other ABIs have no such call).
    Open,
    Openat,
    Openat2,
    /// `SYS_creat` (x86_64 only).
    Creat,
    Close,
    CloseRange,
    /// `SYS_dup2` (x86_64 only).
    Dup2,
    Dup3,
    Newfstatat,
    Statx,
    /// The kernel's `faccessat` has no flags argument.
    Faccessat,
    Faccessat2,
    Readlinkat,
    /// Answered `ENOSYS` when `FDSET_IO_URING=0`, else passed through.
    IoUringSetup,
}

/// Which call `nr` is to the hook; `None`: pass through.
#[inline]
pub const fn served(nr: c_long) -> Option<Served> {
    Some(match nr {
        #[cfg(target_arch = "x86_64")]
        libc::SYS_open => Served::Open,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_creat => Served::Creat,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_dup2 => Served::Dup2,
        libc::SYS_openat => Served::Openat,
        libc::SYS_openat2 => Served::Openat2,
        libc::SYS_close => Served::Close,
        libc::SYS_close_range => Served::CloseRange,
        libc::SYS_dup3 => Served::Dup3,
        libc::SYS_newfstatat => Served::Newfstatat,
        libc::SYS_statx => Served::Statx,
        libc::SYS_faccessat => Served::Faccessat,
        libc::SYS_faccessat2 => Served::Faccessat2,
        libc::SYS_readlinkat => Served::Readlinkat,
        libc::SYS_io_uring_setup => Served::IoUringSetup,
        _ => return None,
    })
}

/// How the x86_64 trampoline of the hook sorts a number (one byte each,
/// for numbers below 512): whether the call is the shim's business depends
/// on a path in word 1 or 2, on descriptors, or it always is.
pub mod class {
    pub const PASS: u8 = 0;
    pub const PATH_IN_WORD1: u8 = 1;
    pub const PATH_IN_WORD2: u8 = 2;
    pub const DESCRIPTORS: u8 = 3;
    pub const ALWAYS: u8 = 4;
}

impl Served {
    /// [`class`] of this call.
    pub const fn class(self) -> u8 {
        match self {
            Served::Open | Served::Creat => class::PATH_IN_WORD1,
            Served::Openat
            | Served::Openat2
            | Served::Newfstatat
            | Served::Statx
            | Served::Faccessat
            | Served::Faccessat2
            | Served::Readlinkat => class::PATH_IN_WORD2,
            Served::Close | Served::Dup2 | Served::Dup3 => class::DESCRIPTORS,
            Served::CloseRange | Served::IoUringSetup => class::ALWAYS,
        }
    }
}

/// [`Served::class`] of every number below 512 (`class::PASS` for numbers
/// that are not served).
pub const fn classes() -> [u8; SERVED_WORDS * 64] {
    let mut out = [class::PASS; SERVED_WORDS * 64];
    let mut n = 0;
    while n < (SERVED_WORDS * 64) as c_long {
        if let Some(s) = served(n) {
            out[n as usize] = s.class();
        }
        n += 1;
    }
    out
}

/// The trampoline's table covers the numbers below `SERVED_WORDS * 64`
/// (every served number is below 512).
pub const SERVED_WORDS: usize = 8;

/// `struct open_how`'s size in its first version (flags, mode, resolve).
pub const OPEN_HOW_SIZE_VER0: usize = 24;
/// The kernel refuses larger `open_how` sizes with `E2BIG`.
pub const OPEN_HOW_SIZE_MAX: usize = 4096;

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const RESOLVE_CACHED: u64 = 0x20;
const VALID_RESOLVE: u64 = RESOLVE_NO_XDEV
    | RESOLVE_NO_MAGICLINKS
    | RESOLVE_NO_SYMLINKS
    | RESOLVE_BENEATH
    | RESOLVE_IN_ROOT
    | RESOLVE_CACHED;

/// An `openat2` request as the caller's `struct open_how` gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
    /// The `size` argument.
    pub size: usize,
    /// Whether any byte of the structure beyond the first version is set.
    pub extra_set: bool,
}

impl OpenHow {
    /// A request whose `size` is out of the kernel's range: its error
    /// (`EINVAL`, `E2BIG`) is the kernel's to give.
    pub fn out_of_range(size: usize) -> OpenHow {
        OpenHow {
            flags: 0,
            mode: 0,
            resolve: 0,
            size,
            extra_set: false,
        }
    }

    /// The structure from the caller's `size` bytes of it (`bytes.len()`),
    /// or [`OpenHow::out_of_range`] when that size is not one the kernel
    /// takes.
    pub fn from_bytes(bytes: &[u8]) -> OpenHow {
        let size = bytes.len();
        if !(OPEN_HOW_SIZE_VER0..=OPEN_HOW_SIZE_MAX).contains(&size) {
            return OpenHow::out_of_range(size);
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(b)
        };
        OpenHow {
            flags: word(0),
            mode: word(1),
            resolve: word(2),
            size,
            extra_set: bytes[OPEN_HOW_SIZE_VER0..].iter().any(|&b| b != 0),
        }
    }
}

/// An `openat2` of a set path is served as `openat(path, flags, mode)`
/// (`Some`), unless the request is one the kernel refuses anyway (its
/// error is the kernel's to give: passed through, `None`) or it asks for
/// `RESOLVE_BENEATH`/`RESOLVE_IN_ROOT`, under which an absolute path does
/// not name `/dev/fdset/N` (passed through as well).
pub fn openat2_serves(how: &OpenHow) -> Option<(i32, u32)> {
    if how.size < OPEN_HOW_SIZE_VER0 || how.size > OPEN_HOW_SIZE_MAX || how.extra_set {
        return None;
    }
    let flags = i32::try_from(u32::try_from(how.flags).ok()?).ok()?;
    if how.resolve & !VALID_RESOLVE != 0 || how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
        return None;
    }
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    if creates {
        if how.mode & !0o7777 != 0 {
            return None;
        }
    } else if how.mode != 0 {
        return None;
    }
    if kernel_refuses_openat2_flags(flags, how.resolve) {
        return None;
    }
    Some((flags, how.mode as u32))
}

/// The flag bits `openat2` accepts (the kernel's `VALID_OPEN_FLAGS`; the
/// older calls drop the others silently, `openat2` refuses them).
const VALID_OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_SYNC
    | libc::O_PATH
    | libc::O_TMPFILE;
/// What `O_PATH` may come with.
const O_PATH_FLAGS: i32 = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC;
/// `O_TMPFILE` without its `O_DIRECTORY` part.
const TMPFILE_BIT: i32 = libc::O_TMPFILE & !libc::O_DIRECTORY;

/// The checks of `openat2` on the flags before any lookup (the kernel's
/// `build_open_flags`): unknown bits, `O_DIRECTORY|O_CREAT`, `O_TMPFILE`
/// without write access, `O_PATH` with other flags (`EINVAL`), and
/// `RESOLVE_CACHED` with a create or truncate (`EAGAIN`). A request they
/// refuse goes to the kernel, which then refuses it; served as `openat`
/// it would have been opened (and perhaps truncated).
fn kernel_refuses_openat2_flags(flags: i32, resolve: u64) -> bool {
    let flags = flags & !libc::O_CLOEXEC;
    flags & !VALID_OPEN_FLAGS != 0
        || flags & (libc::O_DIRECTORY | libc::O_CREAT) == libc::O_DIRECTORY | libc::O_CREAT
        || (flags & TMPFILE_BIT != 0
            && (flags & libc::O_DIRECTORY == 0 || flags & libc::O_ACCMODE == libc::O_RDONLY))
        || (flags & libc::O_PATH != 0 && flags & !O_PATH_FLAGS != 0)
        || (resolve & RESOLVE_CACHED != 0
            && flags & (libc::O_TRUNC | libc::O_CREAT | TMPFILE_BIT) != 0)
}

/// `FDSET_IO_URING` (spec section 5): `Ok(true)` when `io_uring_setup`
/// through `syscall()` is to fail with `ENOSYS` (`0`); `1` or unset leave
/// it alone; any other value is refused.
pub fn parse_io_uring(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("1") => Ok(false),
        Some("0") => Ok(true),
        Some(v) => Err(format!(
            "FDSET_IO_URING: expected 0 (io_uring_setup fails with ENOSYS) or 1, got '{v}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    //! Spec section 8, `syscall()`, and section 5, `FDSET_IO_URING`.
    use super::*;

    fn how(flags: i32, mode: u64, resolve: u64) -> OpenHow {
        OpenHow {
            flags: flags as u32 as u64,
            mode,
            resolve,
            size: OPEN_HOW_SIZE_VER0,
            extra_set: false,
        }
    }

    #[test]
    fn the_spec_numbers_are_served_and_others_pass() {
        assert_eq!(served(libc::SYS_openat), Some(Served::Openat));
        assert_eq!(served(libc::SYS_openat2), Some(Served::Openat2));
        assert_eq!(served(libc::SYS_close), Some(Served::Close));
        assert_eq!(served(libc::SYS_close_range), Some(Served::CloseRange));
        assert_eq!(served(libc::SYS_dup3), Some(Served::Dup3));
        assert_eq!(served(libc::SYS_newfstatat), Some(Served::Newfstatat));
        assert_eq!(served(libc::SYS_statx), Some(Served::Statx));
        assert_eq!(served(libc::SYS_faccessat), Some(Served::Faccessat));
        assert_eq!(served(libc::SYS_faccessat2), Some(Served::Faccessat2));
        assert_eq!(served(libc::SYS_readlinkat), Some(Served::Readlinkat));
        assert_eq!(served(libc::SYS_io_uring_setup), Some(Served::IoUringSetup));
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(served(libc::SYS_open), Some(Served::Open));
            assert_eq!(served(libc::SYS_creat), Some(Served::Creat));
            assert_eq!(served(libc::SYS_dup2), Some(Served::Dup2));
        }
        for other in [
            libc::SYS_getpid,
            libc::SYS_read,
            libc::SYS_futex,
            libc::SYS_io_uring_enter,
            libc::SYS_readlinkat + 1000,
            -1,
        ] {
            assert_eq!(served(other), None, "{other}");
        }
    }

    #[test]
    fn classes_say_where_the_path_is() {
        let c = classes();
        assert_eq!(c[libc::SYS_openat as usize], class::PATH_IN_WORD2);
        assert_eq!(c[libc::SYS_statx as usize], class::PATH_IN_WORD2);
        assert_eq!(c[libc::SYS_readlinkat as usize], class::PATH_IN_WORD2);
        assert_eq!(c[libc::SYS_close as usize], class::DESCRIPTORS);
        assert_eq!(c[libc::SYS_dup3 as usize], class::DESCRIPTORS);
        assert_eq!(c[libc::SYS_close_range as usize], class::ALWAYS);
        assert_eq!(c[libc::SYS_getpid as usize], class::PASS);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(c[libc::SYS_open as usize], class::PATH_IN_WORD1);
        for (n, &k) in c.iter().enumerate() {
            assert_eq!(k != class::PASS, served(n as c_long).is_some(), "{n}");
        }
    }

    #[test]
    fn openat2_is_served_like_openat() {
        assert_eq!(openat2_serves(&how(libc::O_RDONLY, 0, 0)), Some((0, 0)));
        assert_eq!(
            openat2_serves(&how(
                libc::O_WRONLY | libc::O_CREAT,
                0o640,
                RESOLVE_NO_SYMLINKS
            )),
            Some((libc::O_WRONLY | libc::O_CREAT, 0o640))
        );
        assert!(openat2_serves(&how(libc::O_RDWR, 0, RESOLVE_NO_XDEV | RESOLVE_CACHED)).is_some());
    }

    #[test]
    fn openat2_beneath_or_in_root_goes_to_the_kernel() {
        assert_eq!(openat2_serves(&how(0, 0, RESOLVE_BENEATH)), None);
        assert_eq!(openat2_serves(&how(0, 0, RESOLVE_IN_ROOT)), None);
    }

    #[test]
    fn openat2_requests_the_kernel_refuses_are_its_to_refuse() {
        // mode without O_CREAT, a mode beyond 07777, unknown resolve bits,
        // flags beyond 32 bits, sizes out of range, a set extension byte.
        assert_eq!(openat2_serves(&how(libc::O_RDONLY, 0o600, 0)), None);
        assert_eq!(openat2_serves(&how(libc::O_CREAT, 0o10000, 0)), None);
        assert_eq!(openat2_serves(&how(0, 0, 0x40)), None);
        let mut h = how(0, 0, 0);
        h.flags = 1 << 40;
        assert_eq!(openat2_serves(&h), None);
        let mut h = how(0, 0, 0);
        h.size = 16;
        assert_eq!(openat2_serves(&h), None);
        h.size = OPEN_HOW_SIZE_MAX + 1;
        assert_eq!(openat2_serves(&h), None);
        h.size = 32;
        assert!(
            openat2_serves(&h).is_some(),
            "zero extension bytes are fine"
        );
        h.extra_set = true;
        assert_eq!(openat2_serves(&h), None);
    }

    #[test]
    fn open_how_from_the_callers_bytes() {
        let mut b = vec![0u8; 32];
        b[..8].copy_from_slice(&(libc::O_RDWR as u64).to_ne_bytes());
        b[16..24].copy_from_slice(&RESOLVE_CACHED.to_ne_bytes());
        let h = OpenHow::from_bytes(&b);
        assert_eq!(
            (h.flags, h.mode, h.resolve, h.size),
            (libc::O_RDWR as u64, 0, RESOLVE_CACHED, 32)
        );
        assert!(!h.extra_set);
        b[31] = 1;
        assert!(
            OpenHow::from_bytes(&b).extra_set,
            "a set byte beyond the first version"
        );
        assert_eq!(OpenHow::from_bytes(&b[..16]), OpenHow::out_of_range(16));
    }

    #[test]
    fn openat2_flags_the_kernel_refuses_go_to_the_kernel() {
        // Bits openat2 does not know, O_PATH with anything but its own
        // companions, O_DIRECTORY|O_CREAT, O_TMPFILE read-only: EINVAL
        // from the kernel; RESOLVE_CACHED with a truncate or create:
        // EAGAIN. Served as openat, each would open (and truncate).
        for flags in [
            0o40000000,
            0o100000000,
            0o4,
            libc::O_PATH | libc::O_RDWR,
            libc::O_PATH | libc::O_TRUNC,
            libc::O_DIRECTORY | libc::O_CREAT,
            libc::O_TMPFILE | libc::O_RDONLY,
        ] {
            assert_eq!(openat2_serves(&how(flags, 0, 0)), None, "{flags:#o}");
        }
        for flags in [libc::O_RDWR | libc::O_TRUNC, libc::O_RDWR | libc::O_CREAT] {
            assert_eq!(
                openat2_serves(&how(flags, 0, RESOLVE_CACHED)),
                None,
                "{flags:#o}"
            );
            assert!(openat2_serves(&how(flags, 0, 0)).is_some(), "{flags:#o}");
        }
        // What the kernel accepts is served.
        for flags in [
            libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            libc::O_RDWR | libc::O_CLOEXEC | libc::O_SYNC | libc::O_DIRECT,
            libc::O_TMPFILE | libc::O_RDWR,
            libc::O_ACCMODE,
        ] {
            assert!(openat2_serves(&how(flags, 0, 0)).is_some(), "{flags:#o}");
        }
        assert!(openat2_serves(&how(libc::O_RDONLY, 0, RESOLVE_CACHED)).is_some());
    }

    #[test]
    fn io_uring_values() {
        assert_eq!(parse_io_uring(None), Ok(false));
        assert_eq!(parse_io_uring(Some("1")), Ok(false));
        assert_eq!(parse_io_uring(Some("0")), Ok(true));
        for bad in ["", "no", "00", " 0", "2"] {
            let e = parse_io_uring(Some(bad)).unwrap_err();
            assert!(e.starts_with("FDSET_IO_URING: expected 0"), "{bad}: {e}");
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
    }
}
