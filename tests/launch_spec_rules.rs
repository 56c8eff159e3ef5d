//! `FDSET_ADD_FD` syntax and QEMU's checks, in QEMU's order (spec section 4).
use fdset_core::launch::add_fd as launch_spec;

use launch_spec::{AddFdSpec, FD_INVALID, FD_REQUIRED, FD_STDIO, SET_REQUIRED, parse_add_fd};

fn spec(fd: Option<i64>, set: Option<i64>, opaque: Option<&str>) -> AddFdSpec {
    AddFdSpec {
        fd,
        set,
        opaque: opaque.map(str::to_string),
    }
}

fn one(s: &str) -> AddFdSpec {
    let mut v = parse_add_fd(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    assert_eq!(v.len(), 1, "{s:?}");
    v.remove(0)
}

#[test]
fn qemu_add_fd_syntax() {
    assert_eq!(one("fd=3,set=1"), spec(Some(3), Some(1), None));
    assert_eq!(one("set=2,fd=4"), spec(Some(4), Some(2), None), "any order");
    assert_eq!(
        one("fd=3,set=1,opaque=disk one"),
        spec(Some(3), Some(1), Some("disk one"))
    );
    assert_eq!(one("fd=3,set=1,opaque="), spec(Some(3), Some(1), Some("")));
    assert_eq!(one("fd=3"), spec(Some(3), None, None));
    assert_eq!(one("opaque=x"), spec(None, None, Some("x")));
    assert_eq!(
        one("fd=3,set=1,fd=4,set=2"),
        spec(Some(4), Some(2), None),
        "a repeated key takes the last value (README)"
    );
}

#[test]
fn double_comma_in_opaque_is_one_comma() {
    assert_eq!(one("fd=3,set=1,opaque=a,,b").opaque.as_deref(), Some("a,b"));
    assert_eq!(
        one("fd=3,set=1,opaque=,,,,x,,").opaque.as_deref(),
        Some(",,x,")
    );
    assert_eq!(
        one("opaque=a,,b,fd=3,set=1"),
        spec(Some(3), Some(1), Some("a,b"))
    );
}

#[test]
fn several_specs_separated_by_semicolons() {
    assert_eq!(
        parse_add_fd("fd=3,set=1;fd=4,set=1,opaque=b;;fd=5,set=9;").unwrap(),
        vec![
            spec(Some(3), Some(1), None),
            spec(Some(4), Some(1), Some("b")),
            spec(Some(5), Some(9), None)
        ]
    );
    assert_eq!(parse_add_fd("").unwrap(), vec![]);
    assert_eq!(parse_add_fd(" ; ").unwrap(), vec![]);
}

/// `fd`/`set` through `parse_add_fd`, or the error text.
fn number(value: &str) -> Result<i64, String> {
    parse_add_fd(&format!("fd={value}")).map(|v| v[0].fd.unwrap())
}

/// What QemuOpts makes of a number option: C `strtoull(value, &end, 0)`,
/// nothing after the number, ERANGE refused.
fn qemu_opts_number(value: &str) -> Option<i64> {
    let c = std::ffi::CString::new(value).unwrap();
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: c is NUL-terminated; errno is this thread's.
    let (v, err) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtoull(c.as_ptr(), &mut end, 0);
        (v, *libc::__errno_location())
    };
    let consumed = end as usize - c.as_ptr() as usize;
    // strtoull reports "no digits" by consuming nothing.
    (consumed > 0 && consumed == value.len() && err == 0).then_some(v as i64)
}

/// Spec section 4 "QEMU's -add-fd syntax": numbers are read as QemuOpts
/// reads them (base 0), so `fd=010` is fd 8 in QEMU and here.
#[test]
fn numbers_are_read_like_qemu_opts() {
    assert_eq!(number("010"), Ok(8));
    assert_eq!(number("0x1f"), Ok(31));
    assert_eq!(number("0X1F"), Ok(31));
    assert_eq!(number(" \t+7"), Ok(7));
    assert_eq!(number("0"), Ok(0));
    assert_eq!(number("-1"), Ok(-1), "wraps, then the check refuses it");
    for bad in ["", " ", "-", "08", "0x", "0xg", "7 ", "1e3", "+-1", "3.0"] {
        assert_eq!(
            number(bad),
            Err("Parameter 'fd' expects a number".into()),
            "{bad:?}"
        );
    }
    assert_eq!(
        number("18446744073709551616"),
        Err("Value '18446744073709551616' is too large for parameter 'fd'".into())
    );
    let mut x: u64 = 0x0123_4567_89ab_cdef;
    let alphabet = b" \t+-0123456789xXabfg";
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 9) as usize;
        let v: String = (0..len)
            .map(|i| alphabet[((x >> (5 + 4 * i)) % alphabet.len() as u64) as usize] as char)
            .collect();
        assert_eq!(number(&v).ok(), qemu_opts_number(&v), "{v:?}");
    }
}

/// Regression tests for bad input: a clear message naming what is wrong.
#[test]
fn syntax_errors_name_the_parameter() {
    assert_eq!(
        parse_add_fd("fd=abc,set=1"),
        Err("Parameter 'fd' expects a number".into())
    );
    assert_eq!(
        parse_add_fd("fd=3,set=1x"),
        Err("Parameter 'set' expects a number".into())
    );
    assert_eq!(
        parse_add_fd("fd,set=1"),
        Err("Invalid parameter 'fd' (expected key=value)".into())
    );
    assert_eq!(
        parse_add_fd("fd=3,set=1,path=/x"),
        Err("Invalid parameter 'path'".into())
    );
    assert_eq!(
        parse_add_fd("fd=3;bogus=1"),
        Err("Invalid parameter 'bogus'".into())
    );
    assert_eq!(
        parse_add_fd("fd=3,,set=1"),
        Err("Parameter 'fd' expects a number".into()),
        ",, belongs to the value"
    );
}

#[test]
fn checks_come_in_qemus_order_with_qemus_texts() {
    let open = |_| true;
    assert_eq!(spec(None, Some(1), None).check(open), Err(FD_REQUIRED));
    assert_eq!(spec(Some(-1), Some(1), None).check(open), Err(FD_REQUIRED));
    assert_eq!(
        spec(None, None, None).check(open),
        Err(FD_REQUIRED),
        "fd is checked first"
    );
    for fd in 0..=2 {
        assert_eq!(spec(Some(fd), Some(1), None).check(open), Err(FD_STDIO));
        assert_eq!(
            spec(Some(fd), None, None).check(open),
            Err(FD_STDIO),
            "fd before set"
        );
    }
    assert_eq!(
        spec(Some(7), Some(1), None).check(|fd| fd != 7),
        Err(FD_INVALID)
    );
    assert_eq!(
        spec(Some(7), None, None).check(|fd| fd != 7),
        Err(FD_INVALID),
        "fd validity before set"
    );
    assert_eq!(
        spec(Some(1 << 40), Some(1), None).check(open),
        Err(FD_INVALID),
        "beyond int"
    );
    assert_eq!(spec(Some(3), None, None).check(open), Err(SET_REQUIRED));
    assert_eq!(spec(Some(3), Some(-5), None).check(open), Err(SET_REQUIRED));
    assert_eq!(spec(Some(3), Some(0), None).check(open), Ok((3, 0)));
    assert_eq!(
        spec(Some(9), Some(i64::MAX), None).check(open),
        Ok((9, i64::MAX as u64))
    );
}

#[test]
fn exact_texts_are_qemus() {
    assert_eq!(
        FD_REQUIRED,
        "fd option is required and must be non-negative"
    );
    assert_eq!(FD_STDIO, "fd cannot be a standard I/O stream");
    assert_eq!(FD_INVALID, "fd is not valid or already in use");
    assert_eq!(
        SET_REQUIRED,
        "set option is required and must be non-negative"
    );
}
