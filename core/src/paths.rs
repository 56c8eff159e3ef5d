//! Which paths name an fd set (spec sections 2 "Open" step 1 and 5), parsed
//! without allocating: this runs on every `open()` of the program.

/// The path every program may use.
pub const FDSET_DIR: &[u8] = b"/dev/fdset/";

/// The text after a set prefix is not a set number (0..=2147483647, as
/// C `strtol` reads it): an open of it is `EINVAL` (spec section 2, step 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotASetNumber;

/// A parsed `/dev/fdset/N` number: N, or why it is not one.
pub type SetNumber = Result<u64, NotASetNumber>;

/// Parse the text after the prefix as QEMU's `qemu_parse_fd` does with C
/// `strtol(s, &end, 10)`: leading `isspace`, one optional sign, digits, nothing
/// after; the value must lie in `0..=i32::MAX` (so `-0` is 0 and `-1` fails).
pub fn parse_set_number(s: &[u8]) -> SetNumber {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    // Accumulate in u64 but stop caring once past i32::MAX: any such value
    // fails, whether strtol would overflow `long` or not.
    let mut value: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        value = value
            .saturating_mul(10)
            .saturating_add(u64::from(s[i] - b'0'));
        i += 1;
    }
    if i == digits_start || i != s.len() {
        return Err(NotASetNumber);
    }
    if negative {
        return if value == 0 {
            Ok(0)
        } else {
            Err(NotASetNumber)
        };
    }
    if value > i32::MAX as u64 {
        return Err(NotASetNumber);
    }
    Ok(value)
}

/// The common case of [`parse_set_number`] read straight from a C string:
/// 1 to 10 ASCII digits and the terminating NUL, value at most `i32::MAX`.
/// `None` for anything else (the caller then measures the string and parses
/// it in full), so the answer, when there is one, is the full parse's.
///
/// # Safety
/// `s` points into a NUL-terminated string.
#[inline]
pub unsafe fn plain_set_number(s: *const u8) -> Option<u64> {
    let mut value: u64 = 0;
    for i in 0..11 {
        // SAFETY: bytes before i were digits, not the NUL, so byte i is
        // still inside the string.
        let b = unsafe { *s.add(i) };
        match b {
            b'0'..=b'9' if i < 10 => value = value * 10 + u64::from(b - b'0'),
            0 if i > 0 && value <= i32::MAX as u64 => return Some(value),
            _ => return None,
        }
    }
    None
}

/// Extra prefixes and exact-path aliases (`FDSET_PREFIX`, `FDSET_ALIAS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathConfig {
    /// Each ends in `/`.
    pub prefixes: Vec<Vec<u8>>,
    pub aliases: Vec<(Vec<u8>, u64)>,
}

impl PathConfig {
    /// `None`: not an fdset path (the caller opens it as libc would).
    /// `Some(Ok(n))`: set n. `Some(Err(NotASetNumber))`: an fdset path with a bad number.
    pub fn resolve(&self, path: &[u8]) -> Option<SetNumber> {
        if let Some(rest) = path.strip_prefix(FDSET_DIR) {
            return Some(parse_set_number(rest));
        }
        for (alias, set) in &self.aliases {
            if alias.as_slice() == path {
                return Some(Ok(*set));
            }
        }
        for prefix in &self.prefixes {
            if let Some(rest) = path.strip_prefix(prefix.as_slice()) {
                return Some(parse_set_number(rest));
            }
        }
        None
    }

    /// A quick test on the first byte: every fdset path is absolute.
    pub fn may_match(path_first_byte: u8) -> bool {
        path_first_byte == b'/'
    }

    /// An absolute directory as a prefix: ending in one `/` (added when
    /// missing; several are one, as the directory's name); `None` for `/`
    /// itself, which would capture every path. Also fdset-run's `--prefix`.
    pub fn prefix_dir(dir: &str) -> Option<String> {
        let p = format!("{}/", dir.trim_end_matches('/'));
        (p != "/").then_some(p)
    }

    /// `FDSET_PREFIX`: absolute directories, `:` separated; ending in one
    /// `/` (added when missing; several are one, as the directory's name).
    pub fn parse_prefixes(spec: &str) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        for item in spec.split(':') {
            if item.is_empty() {
                continue;
            }
            if !item.starts_with('/') {
                return Err(format!(
                    "FDSET_PREFIX entry '{item}' is not an absolute path (write e.g. /run/fdset/)"
                ));
            }
            let Some(p) = Self::prefix_dir(item) else {
                return Err("FDSET_PREFIX entry '/' would capture every path".to_string());
            };
            out.push(p.into_bytes());
        }
        Ok(out)
    }

    /// `FDSET_ALIAS`: `PATH=N` pairs, `;` separated; PATH absolute, N a set
    /// number as `/dev/fdset/N` accepts it.
    pub fn parse_aliases(spec: &str) -> Result<Vec<(Vec<u8>, u64)>, String> {
        let mut out = Vec::new();
        for item in spec.split(';') {
            if item.is_empty() {
                continue;
            }
            let Some((path, num)) = item.rsplit_once('=') else {
                return Err(format!(
                    "FDSET_ALIAS entry '{item}' is not PATH=N (e.g. /var/lib/disk.img=1)"
                ));
            };
            if !path.starts_with('/') {
                return Err(format!(
                    "FDSET_ALIAS entry '{item}': path '{path}' is not absolute"
                ));
            }
            let Ok(set) = parse_set_number(num.as_bytes()) else {
                return Err(format!(
                    "FDSET_ALIAS entry '{item}': '{num}' is not a set number (0..2147483647)"
                ));
            };
            if let Some(why) = alias_conflict(&out, path.as_bytes(), set) {
                return Err(format!("FDSET_ALIAS entry '{item}': {why}"));
            }
            out.push((path.as_bytes().to_vec(), set));
        }
        Ok(out)
    }
}

/// Why alias `path` = `set` cannot join `earlier` aliases: the same path
/// for another set (only the first would ever be used), or a path under
/// `/dev/fdset/`, which names its own set before any alias is looked at.
pub fn alias_conflict(earlier: &[(Vec<u8>, u64)], path: &[u8], set: u64) -> Option<String> {
    if path.starts_with(FDSET_DIR) {
        return Some(format!(
            "'{}' is under {}, where the name itself says the set; an alias there would never be used",
            String::from_utf8_lossy(path),
            String::from_utf8_lossy(FDSET_DIR)
        ));
    }
    earlier
        .iter()
        .find(|(p, s)| p.as_slice() == path && *s != set)
        .map(|(_, s)| {
            format!(
                "'{}' is already an alias of set {s}; a path can name one set",
                String::from_utf8_lossy(path)
            )
        })
}

impl PathConfig {
    /// Why one of the aliases cannot be used with the prefixes: its path
    /// is a set number under a prefix, so the name itself says the set
    /// (as under `/dev/fdset/`), and the alias, looked at first, would
    /// silently give it another.
    pub fn alias_under_prefix(&self) -> Option<String> {
        self.aliases.iter().find_map(|(path, _)| {
            let prefix = self
                .prefixes
                .iter()
                .find(|p| path.strip_prefix(p.as_slice()).is_some_and(|n| parse_set_number(n).is_ok()))?;
            Some(format!(
                "'{}' is under the prefix {}, where the name itself says the set; an alias there is refused",
                String::from_utf8_lossy(path),
                String::from_utf8_lossy(prefix)
            ))
        })
    }
}

// ------------------------------------------------- the calls that look (spec section 8)

/// What a path [`PathConfig::resolve`] matched stands for, to the calls that
/// look at a path instead of opening it (stat, access, readlink, realpath,
/// xattrs, truncate, utimes, statfs; spec section 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// A set number: the call is answered from that set's members.
    Set(u64),
    /// `/dev/fdset` or a configured prefix itself (with or without trailing
    /// slashes): answered as a read-only directory when none is on disk.
    PrefixDir,
    /// A name under a prefix that is no set number (`/dev/fdset/2-journal`,
    /// `2.zip`, `2~`): it does not exist (`ENOENT`), though `open` of it
    /// stays `EINVAL` as in QEMU.
    NotASet,
}

impl PathConfig {
    /// Whether `path` is a prefix directory itself: `/dev/fdset` or one of
    /// `FDSET_PREFIX`'s entries, followed by any number of slashes.
    pub fn is_prefix_dir(&self, path: &[u8]) -> bool {
        let path = crate::prefix_dir::trimmed(path);
        path == crate::prefix_dir::trimmed(FDSET_DIR)
            || self
                .prefixes
                .iter()
                .any(|p| path == crate::prefix_dir::trimmed(p))
    }

    /// What `path`, for which [`resolve`](Self::resolve) gave `number`,
    /// stands for to a call that looks.
    pub fn named(&self, path: &[u8], number: SetNumber) -> Named {
        match number {
            Ok(n) => Named::Set(n),
            Err(NotASetNumber) if self.is_prefix_dir(path) => Named::PrefixDir,
            Err(NotASetNumber) => Named::NotASet,
        }
    }

    /// [`resolve`](Self::resolve) for the calls that look: also matches the
    /// prefix directories themselves (as a path with no set number), which
    /// `open` leaves to libc.
    pub fn resolve_look(&self, path: &[u8]) -> Option<SetNumber> {
        match self.resolve(path) {
            Some(n) => Some(n),
            None if self.is_prefix_dir(path) => Some(Err(NotASetNumber)),
            None => None,
        }
    }
}

/// Whether the `/dev/fdset/` comparison stopping at byte `at` with `byte`
/// there means the path is `/dev/fdset` itself: everything but the final
/// slash matched and the path ends.
#[inline(always)]
pub fn ends_at_fdset_dir(at: usize, byte: u8) -> bool {
    at == FDSET_DIR.len() - 1 && byte == 0
}

#[cfg(test)]
mod look_name_tests {
    //! Spec section 8: which names under a prefix stand for a set, the
    //! prefix directory, or nothing.
    use super::*;

    fn cfg() -> PathConfig {
        PathConfig {
            prefixes: PathConfig::parse_prefixes("/run/fdset:/srv/sets/").unwrap(),
            aliases: PathConfig::parse_aliases("/srv/disk.img=4").unwrap(),
        }
    }

    fn named(path: &str) -> Option<Named> {
        let c = cfg();
        c.resolve_look(path.as_bytes())
            .map(|n| c.named(path.as_bytes(), n))
    }

    #[test]
    fn an_alias_path_names_one_set_and_not_under_dev_fdset() {
        assert_eq!(
            PathConfig::parse_aliases("/a=1;/a=1;/b=2").unwrap().len(),
            3,
            "the same pair twice is no conflict"
        );
        let e = PathConfig::parse_aliases("/a=1;/a=2").unwrap_err();
        assert!(e.contains("'/a' is already an alias of set 1"), "{e}");
        let e = PathConfig::parse_aliases("/dev/fdset/2=1").unwrap_err();
        assert!(e.contains("would never be used"), "{e}");
    }

    #[test]
    fn set_numbers_prefix_dirs_and_other_names() {
        assert_eq!(named("/dev/fdset/1"), Some(Named::Set(1)));
        assert_eq!(named("/run/fdset/007"), Some(Named::Set(7)));
        assert_eq!(named("/srv/disk.img"), Some(Named::Set(4)));
        for dir in [
            "/dev/fdset",
            "/dev/fdset/",
            "/dev/fdset//",
            "/run/fdset",
            "/run/fdset/",
            "/srv/sets",
        ] {
            assert_eq!(named(dir), Some(Named::PrefixDir), "{dir}");
        }
        for other in [
            "/dev/fdset/2-journal",
            "/dev/fdset/2.zip",
            "/dev/fdset/2~",
            "/dev/fdset/-1",
            "/dev/fdset/2147483648",
            "/dev/fdset/1/",
            "/run/fdset/x",
        ] {
            assert_eq!(named(other), Some(Named::NotASet), "{other}");
        }
        // Not under a prefix at all: libc's business.
        for plain in [
            "/dev",
            "/dev/fdsetx",
            "/dev/fdse",
            "/run",
            "/srv/disk.img2",
            "fdset/1",
        ] {
            assert_eq!(named(plain), None, "{plain}");
        }
    }

    #[test]
    fn open_does_not_match_the_directory_itself() {
        let c = cfg();
        assert_eq!(c.resolve(b"/dev/fdset"), None);
        assert_eq!(c.resolve(b"/run/fdset"), None);
        // With the slash it is a set path with no number (EINVAL for open).
        assert_eq!(c.resolve(b"/dev/fdset/"), Some(Err(NotASetNumber)));
    }

    #[test]
    fn the_in_place_test_for_the_directory() {
        let path = b"/dev/fdset\0";
        let at = FDSET_DIR
            .iter()
            .zip(path.iter())
            .position(|(a, b)| a != b)
            .unwrap();
        assert!(ends_at_fdset_dir(at, path[at]));
        let other = b"/dev/fdsex\0";
        let at = FDSET_DIR
            .iter()
            .zip(other.iter())
            .position(|(a, b)| a != b)
            .unwrap();
        assert!(!ends_at_fdset_dir(at, other[at]));
        assert!(!ends_at_fdset_dir(1, 0));
    }
}
