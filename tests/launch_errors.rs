//! Launch-time errors (spec section 4, "Launch-time spec errors"):
//! one line `fdset-shim: TEXT` on stderr, exit status 1, and `main` never
//! runs. Bad FDSET_PREFIX / FDSET_ALIAS / FDSET_ADD_FD syntax stop the
//! program the same way. And the variables are hidden from its children
//! (spec section 5).
use fdset_testkit::*;
use std::process::Output;

/// Run shim_env_report with fd 3 and fd 4 inherited (read-only files) and
/// the given FDSET_ variables.
fn launch(vars: &[(&str, &str)]) -> Output {
    let dir = TempDir::new("launch");
    let file = dir.file("f", b"x");
    let mut cmd = preloaded(c_test("shim_env_report"));
    cmd.envs(vars.iter().copied());
    inherit_fds(
        &mut cmd,
        vec![
            (open_for_child(&file, false, true), 3),
            (open_for_child(&file, false, true), 4),
        ],
    );
    cmd.output().expect("run shim_env_report")
}

fn expect_refused(vars: &[(&str, &str)], text: &str) {
    let out = launch(vars);
    assert_eq!(stderr_of(&out), format!("fdset-shim: {text}\n"), "{vars:?}");
    assert_eq!(out.status.code(), Some(1), "{vars:?}");
    assert_eq!(stdout_of(&out), "", "{vars:?}: main must not run");
}

#[test]
fn fd_missing_or_negative() {
    let text = "fd option is required and must be non-negative";
    for spec in ["set=1", "fd=-1,set=1", "fd=-1", "opaque=x"] {
        expect_refused(&[("FDSET_ADD_FD", spec)], text);
    }
}

#[test]
fn fd_is_a_standard_stream() {
    for spec in ["fd=0,set=1", "fd=1,set=1", "fd=2,set=1", "fd=2"] {
        expect_refused(
            &[("FDSET_ADD_FD", spec)],
            "fd cannot be a standard I/O stream",
        );
    }
}

#[test]
fn fd_not_open_or_already_taken() {
    let text = "fd is not valid or already in use";
    // fd 9 is not open; the other is beyond any fd number.
    for spec in ["fd=9,set=1", "fd=99999999999,set=1"] {
        expect_refused(&[("FDSET_ADD_FD", spec)], text);
    }
}

#[test]
fn set_missing_or_negative() {
    for spec in ["fd=3", "fd=3,set=-1", "fd=3,set=1;fd=4"] {
        expect_refused(
            &[("FDSET_ADD_FD", spec)],
            "set option is required and must be non-negative",
        );
    }
}

/// "A program must never run with part of its fds missing": a good spec
/// before a bad one does not let main run either.
#[test]
fn one_bad_spec_stops_the_whole_launch() {
    expect_refused(
        &[("FDSET_ADD_FD", "fd=3,set=1;fd=2,set=1")],
        "fd cannot be a standard I/O stream",
    );
}

/// Regression tests for bad input: malformed syntax is a clear error, exit 1.
#[test]
fn malformed_add_fd_syntax() {
    for (spec, text) in [
        ("fd=three,set=1", "Parameter 'fd' expects a number"),
        ("fd=3,set=", "Parameter 'set' expects a number"),
        ("fd=3,set=1,colour=red", "Invalid parameter 'colour'"),
        ("fd,set=1", "Invalid parameter 'fd' (expected key=value)"),
        ("fd=09,set=1", "Parameter 'fd' expects a number"),
        (
            "fd=3,set=99999999999999999999",
            "Value '99999999999999999999' is too large for parameter 'set'",
        ),
    ] {
        expect_refused(&[("FDSET_ADD_FD", spec)], text);
    }
}

#[test]
fn bad_prefix_and_alias_values() {
    for (var, value, text) in [
        (
            "FDSET_PREFIX",
            "run/fdset",
            "FDSET_PREFIX entry 'run/fdset' is not an absolute path (write e.g. /run/fdset/)",
        ),
        (
            "FDSET_PREFIX",
            "/",
            "FDSET_PREFIX entry '/' would capture every path",
        ),
        (
            "FDSET_ALIAS",
            "/disk.img",
            "FDSET_ALIAS entry '/disk.img' is not PATH=N (e.g. /var/lib/disk.img=1)",
        ),
        (
            "FDSET_ALIAS",
            "disk.img=1",
            "FDSET_ALIAS entry 'disk.img=1': path 'disk.img' is not absolute",
        ),
        (
            "FDSET_ALIAS",
            "/disk.img=x",
            "FDSET_ALIAS entry '/disk.img=x': 'x' is not a set number (0..2147483647)",
        ),
    ] {
        expect_refused(&[(var, value), ("FDSET_ADD_FD", "fd=3,set=1")], text);
    }
}

/// A setting that is not UTF-8 is a bad value too (taken with replacement
/// characters, a prefix or an alias would silently never match, and an
/// opaque string would be changed): it stops the program with its name.
#[test]
fn a_value_that_is_not_utf8_is_refused() {
    use std::os::unix::ffi::OsStrExt;
    for (var, value) in [
        ("FDSET_PREFIX", &b"/r\xff/"[..]),
        ("FDSET_ALIAS", b"/img/\xff=1"),
        ("FDSET_ADD_FD", b"fd=3,set=1,opaque=\xff"),
    ] {
        let mut cmd = preloaded(c_test("shim_env_report"));
        cmd.env(var, std::ffi::OsStr::from_bytes(value));
        if var != "FDSET_ADD_FD" {
            cmd.env("FDSET_ADD_FD", "fd=3,set=1");
        }
        let out = cmd.output().expect("run shim_env_report");
        assert_eq!(
            stderr_of(&out),
            format!("fdset-shim: {var} is not valid UTF-8\n"),
            "{var}"
        );
        assert_eq!(out.status.code(), Some(1), "{var}");
        assert_eq!(stdout_of(&out), "", "{var}: main must not run");
    }
}

/// Spec section 5: read once, then removed from the environment; neither
/// the program nor a child it starts sees them.
#[test]
fn variables_are_removed_from_the_environment() {
    let out = launch(&[
        ("FDSET_ADD_FD", "fd=3,set=1,opaque=a,,b"),
        ("FDSET_PREFIX", "/run/fdset/"),
        ("FDSET_ALIAS", "/var/disk.img=1"),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    assert!(stdout.starts_with("main ran\n"), "{stdout}");
    assert!(!stdout.contains("main sees"), "main saw: {stdout}");
    let leaked: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FDSET_")).collect();
    assert!(leaked.is_empty(), "the child saw {leaked:?}");
    assert!(
        stdout.lines().any(|l| l.starts_with("PATH=")),
        "the child's env was printed: {stdout}"
    );
}

/// A valid launch with no spec at all, or an empty one, runs main normally.
#[test]
fn empty_add_fd_runs_the_program() {
    for vars in [&[][..], &[("FDSET_ADD_FD", "")][..]] {
        let out = launch(vars);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stdout_of(&out).starts_with("main ran\n"));
        assert_eq!(stderr_of(&out), "");
    }
}

/// Numbers are read as QEMU's option parser reads them (base 0): `fd=0x3`
/// is fd 3 and `set=010` is set 8 (spec section 4 "QEMU's -add-fd syntax").
#[test]
fn hex_and_octal_numbers_name_fd_and_set_as_in_qemu() {
    let dir = TempDir::new("launch-base0");
    let file = dir.file("f", b"base zero\n");
    let mut cmd = preloaded("cat");
    cmd.arg("/dev/fdset/8")
        .env("FDSET_ADD_FD", "fd=0x3,set=010");
    inherit_fds(&mut cmd, vec![(open_for_child(&file, false, true), 3)]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "base zero\n");
}

/// QEMU closes the inherited fds only after every `-add-fd` took its
/// duplicate, so one fd may be named in several specs: each set gets a
/// member, and the original is closed.
#[test]
fn one_fd_named_in_two_specs_serves_both_sets() {
    let dir = TempDir::new("launch-twice");
    let file = dir.file("f", b"twice\n");
    let mut cmd = preloaded("/bin/sh");
    cmd.args(["-c", "cat /dev/fdset/1 /dev/fdset/2 && ls /proc/$$/fd"])
        .env("FDSET_ADD_FD", "fd=3,set=1;fd=3,set=2");
    inherit_fds(&mut cmd, vec![(open_for_child(&file, false, true), 3)]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    let (content, fds) = stdout.split_at("twice\ntwice\n".len());
    assert_eq!(content, "twice\ntwice\n");
    let open: Vec<i32> = fds.split_whitespace().map(|f| f.parse().unwrap()).collect();
    assert!(
        !open.contains(&3),
        "fd 3 is closed once both sets took it: {open:?}"
    );
    // (Numbers above 200 may be the test harness's own, e.g. cargo's jobserver.)
    assert_eq!(
        open.iter().filter(|&&f| (100..200).contains(&f)).count(),
        2,
        "one member per set: {open:?}"
    );
}

/// Spec section 4, "not open, or already close-on-exec": fd 9 is open but
/// close-on-exec (the program opened it itself before the shim started).
#[test]
fn fd_already_close_on_exec() {
    let out = preloaded(c_test("launch_fd_cloexec"))
        .env("FDSET_ADD_FD", "fd=9,set=1")
        .output()
        .expect("run launch_fd_cloexec");
    assert_eq!(
        stderr_of(&out),
        "fdset-shim: fd is not valid or already in use\n"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_of(&out), "", "main must not run");
    // The same program without the spec runs (the check is the fd's flag).
    let out = preloaded(c_test("launch_fd_cloexec"))
        .output()
        .expect("run launch_fd_cloexec");
    assert_eq!(stdout_of(&out), "main ran\n", "{}", stderr_of(&out));
}
