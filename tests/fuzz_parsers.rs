//! Abuse: property-based fuzzing of the path parser (spec section
//! 2 "Open" step 1) and of the `FDSET_ADD_FD` parser (spec section 4). A
//! short run by default; `FDSET_STRESS_LONG=1` runs 1,000,000 cases each.
use fdset_core::launch::add_fd as launch_spec;
use fdset_core::paths as fdpath;

use fdpath::{FDSET_DIR, PathConfig, parse_set_number, plain_set_number};
use launch_spec::{AddFdSpec, parse_add_fd};
use proptest::prelude::*;

fn cases() -> u32 {
    if std::env::var("FDSET_STRESS_LONG").is_ok_and(|v| v == "1") {
        1_000_000
    } else {
        20_000
    }
}

/// The reference: QEMU's `qemu_parse_fd`, i.e. C `strtol(s, &end, 10)` with
/// no error, something consumed, nothing left, and 0 <= value <= INT_MAX.
fn strtol_reference(s: &[u8]) -> Result<u64, fdpath::NotASetNumber> {
    let c = std::ffi::CString::new(s).expect("no NUL in a C path");
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: a NUL-terminated string; errno is this thread's.
    let (value, errno) = unsafe {
        *libc::__errno_location() = 0;
        (
            libc::strtol(c.as_ptr(), &mut end, 10),
            *libc::__errno_location(),
        )
    };
    let used = end as usize - c.as_ptr() as usize;
    let in_range = (0..=i32::MAX as libc::c_long).contains(&value);
    if used == 0 || used != s.len() || errno != 0 || !in_range {
        Err(fdpath::NotASetNumber)
    } else {
        Ok(value as u64)
    }
}

/// Text after `/dev/fdset/`: mostly the characters strtol cares about (white
/// space, signs, digits, long digit runs that overflow), sometimes any byte.
fn number_text() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop_oneof![
        4 => prop::sample::select(b" \t\n\x0b\x0c\r+-0123456789".to_vec()),
        1 => prop::sample::select(b"xX/.eE_a\xff\x85\xa0".to_vec()),
        1 => 1u8..=255,
    ];
    prop_oneof![
        prop::collection::vec(interesting, 0..24),
        // Around the limits: i32::MAX, i64::MAX and beyond.
        (
            prop::sample::select(vec!["", " ", "+", "-", "\t-0"]),
            0u64..=u64::MAX,
            prop::sample::select(vec!["", "0", "00", " "])
        )
            .prop_map(|(pre, n, post)| format!("{pre}{n}{post}").into_bytes()),
        (0u64..=(i32::MAX as u64) + 2).prop_map(|n| n.to_string().into_bytes()),
    ]
}

/// The reference for `FDSET_ADD_FD` numbers: QemuOpts reads them with C
/// `strtoull(s, &end, 0)` (hex, octal, a wrapping minus), all text consumed,
/// no overflow.
fn strtoull_reference(s: &str) -> Option<i64> {
    let c = std::ffi::CString::new(s).expect("no NUL");
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: a NUL-terminated string; errno is this thread's.
    let (value, errno) = unsafe {
        *libc::__errno_location() = 0;
        (
            libc::strtoull(c.as_ptr(), &mut end, 0),
            *libc::__errno_location(),
        )
    };
    let used = end as usize - c.as_ptr() as usize;
    (used > 0 && used == s.len() && errno == 0).then_some(value as i64)
}

/// One `FDSET_ADD_FD` spec as written: keys in any order, values that need
/// `,,` escaping, no `;` (it separates specs).
fn add_fd_spec() -> impl Strategy<Value = AddFdSpec> {
    (
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        prop::option::of("[^;]{0,12}"),
    )
        .prop_map(|(fd, set, opaque)| AddFdSpec { fd, set, opaque })
}

fn encode(spec: &AddFdSpec, reversed: bool) -> String {
    let mut parts = Vec::new();
    if let Some(fd) = spec.fd {
        parts.push(format!("fd={fd}"));
    }
    if let Some(set) = spec.set {
        parts.push(format!("set={set}"));
    }
    if let Some(o) = &spec.opaque {
        parts.push(format!("opaque={}", o.replace(',', ",,")));
    }
    if reversed {
        parts.reverse();
    }
    parts.join(",")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    // Spec 2 "Open" step 1: N is parsed as QEMU does (strtol, base 10).
    #[test]
    fn set_number_agrees_with_strtol(text in number_text()) {
        prop_assume!(!text.contains(&0));
        prop_assert_eq!(parse_set_number(&text), strtol_reference(&text), "{:?}", String::from_utf8_lossy(&text));
        let mut path = FDSET_DIR.to_vec();
        path.extend_from_slice(&text);
        prop_assert_eq!(PathConfig::default().resolve(&path), Some(strtol_reference(&text)));
        // The hooks' shortcut for plain digits, when it answers, answers the same.
        let c = std::ffi::CString::new(text.clone()).expect("no NUL");
        // SAFETY: a NUL-terminated string.
        if let Some(v) = unsafe { plain_set_number(c.as_ptr().cast()) } {
            prop_assert_eq!(Ok(v), strtol_reference(&text));
        }
    }

    // The shortcut answers for every plain number a program would write
    // (1 to 10 digits, at most i32::MAX) and leaves the rest to the full parse.
    #[test]
    fn plain_digits_take_the_shortcut(text in "[0-9]{1,12}") {
        let c = std::ffi::CString::new(text.clone()).expect("no NUL");
        // SAFETY: a NUL-terminated string.
        let got = unsafe { plain_set_number(c.as_ptr().cast()) };
        let fits = text.len() <= 10 && text.parse::<u64>().is_ok_and(|v| v <= i32::MAX as u64);
        prop_assert_eq!(got.is_some(), fits, "{}", text);
        if let Some(v) = got {
            prop_assert_eq!(Ok(v), strtol_reference(text.as_bytes()));
        }
    }

    // Spec 5: a path that is neither /dev/fdset/..., a prefix nor an alias is
    // opened as libc would (None); a configured alias is exactly its set.
    #[test]
    fn other_paths_are_not_sets(path in prop::collection::vec(1u8..=255, 0..40), alias_set in 0u64..=i32::MAX as u64) {
        let plain = PathConfig::default();
        if !path.starts_with(FDSET_DIR) {
            prop_assert_eq!(plain.resolve(&path), None);
        }
        let mut alias = b"/srv/".to_vec();
        alias.extend_from_slice(&path);
        let cfg = PathConfig { prefixes: vec![], aliases: vec![(alias.clone(), alias_set)] };
        prop_assert_eq!(cfg.resolve(&alias), Some(Ok(alias_set)));
    }

    // Spec 5: FDSET_PREFIX and FDSET_ALIAS parsing never panics, and what it
    // accepts is absolute.
    #[test]
    fn prefix_and_alias_settings_never_panic(spec in "[/a-z0-9=;: .-]{0,40}") {
        if let Ok(p) = PathConfig::parse_prefixes(&spec) {
            prop_assert!(p.iter().all(|p| p.starts_with(b"/") && p.ends_with(b"/") && p.len() > 1));
        }
        if let Ok(a) = PathConfig::parse_aliases(&spec) {
            prop_assert!(a.iter().all(|(p, n)| p.starts_with(b"/") && *n <= i32::MAX as u64));
        }
    }

    // Spec 4: FDSET_ADD_FD round trip — what is written is what is parsed,
    // with ",," standing for a comma in opaque and keys in any order.
    #[test]
    fn add_fd_specs_round_trip(specs in prop::collection::vec(add_fd_spec(), 1..5), reversed: bool) {
        // A spec with no key at all is an empty item, which is skipped.
        let written: Vec<&AddFdSpec> = specs.iter().filter(|s| s.fd.is_some() || s.set.is_some() || s.opaque.is_some()).collect();
        let text = written.iter().map(|s| encode(s, reversed)).collect::<Vec<_>>().join(";");
        let want: Vec<AddFdSpec> = written.into_iter().cloned().collect();
        prop_assert_eq!(parse_add_fd(&text), Ok(want), "{:?}", text);
    }

    // Spec 4 / README "Design choices": fd= and set= numbers are read as
    // QemuOpts reads them.
    #[test]
    fn add_fd_numbers_agree_with_strtoull(text in "[ \t+-]{0,2}(0[xX]?)?[0-9a-fA-FxX +-]{0,22}") {
        let parsed = parse_add_fd(&format!("fd={text},set=1")).ok().and_then(|v| v.first().and_then(|s| s.fd));
        prop_assert_eq!(parsed, strtoull_reference(&text), "{:?}", text);
    }

    // Spec 4: any text is either a list of specs or one error line; never a
    // panic, and a parse is stable (re-encoding parses to the same specs).
    #[test]
    fn add_fd_parser_never_panics(text in "[fdsetopaqu=,; 0-9+-]{0,60}|\\PC{0,60}") {
        if let Ok(specs) = parse_add_fd(&text) {
            let again = specs.iter().map(|s| encode(s, false)).collect::<Vec<_>>().join(";");
            let kept: Vec<AddFdSpec> = specs.into_iter().filter(|s| !encode(s, false).trim().is_empty()).collect();
            prop_assert_eq!(parse_add_fd(&again), Ok(kept), "{:?} -> {:?}", text, again);
        }
    }
}
