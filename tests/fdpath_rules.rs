//! `/dev/fdset/N` parsing and the configured prefixes and aliases (spec
//! section 2 "Open" step 1, section 5).
use fdset_core::paths as fdpath;

use fdpath::{NotASetNumber, PathConfig, parse_set_number};

/// What QEMU's qemu_parse_fd accepts, computed with the C library's strtol.
fn qemu_parse_fd(s: &[u8]) -> Result<u64, NotASetNumber> {
    let c = std::ffi::CString::new(s).unwrap();
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: c is NUL-terminated; errno is this thread's.
    let (v, err) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtol(c.as_ptr(), &mut end, 10);
        (v, *libc::__errno_location())
    };
    let consumed = end as usize - c.as_ptr() as usize;
    if consumed == 0 || err != 0 || consumed != s.len() || v < 0 || v > i32::MAX as libc::c_long {
        Err(NotASetNumber)
    } else {
        Ok(v as u64)
    }
}

#[test]
fn set_numbers_parse_like_strtol() {
    let ok: &[(&str, u64)] = &[
        ("0", 0),
        ("1", 1),
        (" 1", 1),
        ("\t\n\x0b\x0c\r 7", 7),
        ("+5", 5),
        ("-0", 0),
        ("-000", 0),
        ("007", 7),
        ("2147483647", 2147483647),
        ("+0002147483647", 2147483647),
    ];
    for &(s, n) in ok {
        assert_eq!(parse_set_number(s.as_bytes()), Ok(n), "{s:?}");
        assert_eq!(qemu_parse_fd(s.as_bytes()), Ok(n), "oracle agrees on {s:?}");
    }
    let bad = [
        "",
        " ",
        "+",
        "-",
        "-1",
        "-2147483648",
        "2147483648",
        "9223372036854775808",
        "99999999999999999999999",
        "1x",
        "1 ",
        "1\n",
        "0x10",
        "+-1",
        "--1",
        "1/",
        "1.0",
        "x1",
        "１",
    ];
    for s in bad {
        assert_eq!(parse_set_number(s.as_bytes()), Err(NotASetNumber), "{s:?}");
        assert_eq!(
            qemu_parse_fd(s.as_bytes()),
            Err(NotASetNumber),
            "oracle agrees on {s:?}"
        );
    }
}

#[test]
fn random_strings_agree_with_strtol() {
    let alphabet = b" \t\x0b+-0123456789x/";
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 13) as usize;
        let s: Vec<u8> = (0..len)
            .map(|i| alphabet[((x >> (4 + 4 * i)) % alphabet.len() as u64) as usize])
            .collect();
        assert_eq!(
            parse_set_number(&s),
            qemu_parse_fd(&s),
            "{:?}",
            String::from_utf8_lossy(&s)
        );
    }
}

#[test]
fn only_dev_fdset_paths_match_by_default() {
    let cfg = PathConfig::default();
    assert_eq!(cfg.resolve(b"/dev/fdset/1"), Some(Ok(1)));
    assert_eq!(cfg.resolve(b"/dev/fdset/-0"), Some(Ok(0)));
    assert_eq!(
        cfg.resolve(b"/dev/fdset/"),
        Some(Err(NotASetNumber)),
        "empty number: EINVAL"
    );
    assert_eq!(cfg.resolve(b"/dev/fdset/1/"), Some(Err(NotASetNumber)));
    assert_eq!(cfg.resolve(b"/dev/fdset/abc"), Some(Err(NotASetNumber)));
    for other in [
        &b"/dev/fdset"[..],
        b"/dev/fdsets/1",
        b"dev/fdset/1",
        b"/dev//fdset/1",
        b"/tmp/x",
        b"",
    ] {
        assert_eq!(
            cfg.resolve(other),
            None,
            "{:?}",
            String::from_utf8_lossy(other)
        );
    }
    assert!(PathConfig::may_match(b'/'));
    assert!(!PathConfig::may_match(b'd'));
}

#[test]
fn prefixes_resolve_like_dev_fdset() {
    let cfg = PathConfig {
        prefixes: PathConfig::parse_prefixes("/run/fdset:/srv/fds/").unwrap(),
        aliases: vec![],
    };
    assert_eq!(
        cfg.prefixes,
        vec![b"/run/fdset/".to_vec(), b"/srv/fds/".to_vec()]
    );
    assert_eq!(cfg.resolve(b"/run/fdset/3"), Some(Ok(3)));
    assert_eq!(cfg.resolve(b"/srv/fds/ 04"), Some(Ok(4)));
    assert_eq!(cfg.resolve(b"/run/fdset/-1"), Some(Err(NotASetNumber)));
    assert_eq!(cfg.resolve(b"/run/fdset"), None);
    assert_eq!(cfg.resolve(b"/run/fdsetx/1"), None);
    assert_eq!(
        cfg.resolve(b"/dev/fdset/2"),
        Some(Ok(2)),
        "the default stays"
    );
}

#[test]
fn aliases_match_exact_paths_only() {
    let cfg = PathConfig {
        prefixes: vec![],
        aliases: PathConfig::parse_aliases("/var/disk.img=1;/a=b=07;").unwrap(),
    };
    assert_eq!(
        cfg.aliases,
        vec![(b"/var/disk.img".to_vec(), 1), (b"/a=b".to_vec(), 7)]
    );
    assert_eq!(cfg.resolve(b"/var/disk.img"), Some(Ok(1)));
    assert_eq!(cfg.resolve(b"/a=b"), Some(Ok(7)));
    assert_eq!(cfg.resolve(b"/var/disk.img2"), None);
    assert_eq!(cfg.resolve(b"/var/disk.im"), None);
}

// Spec 5, FDSET_PREFIX: a directory ends in one '/' however many are
// written (`/run/x//` serves `/run/x/1`).
#[test]
fn prefixes_end_in_one_slash() {
    assert_eq!(
        PathConfig::parse_prefixes("/run/x//:/srv/y:/a///"),
        Ok(vec![
            b"/run/x/".to_vec(),
            b"/srv/y/".to_vec(),
            b"/a/".to_vec()
        ])
    );
    assert_eq!(
        PathConfig::parse_prefixes("//"),
        Err("FDSET_PREFIX entry '/' would capture every path".into())
    );
}

#[test]
fn empty_lists_are_accepted() {
    assert_eq!(PathConfig::parse_prefixes(""), Ok(vec![]));
    assert_eq!(PathConfig::parse_prefixes("::"), Ok(vec![]));
    assert_eq!(PathConfig::parse_aliases(""), Ok(vec![]));
    assert_eq!(PathConfig::parse_aliases(";;"), Ok(vec![]));
}

/// Bad input gets a clear error (the shim prints it and exits 1: launch_errors.rs).
#[test]
fn bad_prefixes_and_aliases_are_explained() {
    assert_eq!(
        PathConfig::parse_prefixes("/ok:run/fdset"),
        Err(
            "FDSET_PREFIX entry 'run/fdset' is not an absolute path (write e.g. /run/fdset/)"
                .into()
        )
    );
    assert_eq!(
        PathConfig::parse_prefixes("/"),
        Err("FDSET_PREFIX entry '/' would capture every path".into())
    );
    assert_eq!(
        PathConfig::parse_aliases("/disk"),
        Err("FDSET_ALIAS entry '/disk' is not PATH=N (e.g. /var/lib/disk.img=1)".into())
    );
    assert_eq!(
        PathConfig::parse_aliases("disk=1"),
        Err("FDSET_ALIAS entry 'disk=1': path 'disk' is not absolute".into())
    );
    assert_eq!(
        PathConfig::parse_aliases("/disk=-1"),
        Err("FDSET_ALIAS entry '/disk=-1': '-1' is not a set number (0..2147483647)".into())
    );
    assert_eq!(
        PathConfig::parse_aliases("/disk="),
        Err("FDSET_ALIAS entry '/disk=': '' is not a set number (0..2147483647)".into())
    );
}
