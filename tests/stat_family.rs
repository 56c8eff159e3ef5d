//! Programs that look before they open: stat, lstat,
//! fstatat, statx, access, faccessat and glibc's __xstat family answer for
//! fdset paths from the set's members.
use fdset_testkit::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Every stat-like line `c-tests/stat_family.c` prints.
const STAT_CALLS: &[&str] = &[
    "stat",
    "stat64",
    "lstat",
    "lstat64",
    "fstatat",
    "fstatat-nofollow",
    "fstatat64",
    "__xstat",
    "__xstat64",
    "__lxstat",
    "__lxstat64",
    "__fxstatat",
    "__fxstatat64",
    "statx",
    "fstat-of-open",
];

/// `stat_family PATH` with `files` as the members of set 1, in that order.
fn look(path: &str, files: &[(&Path, bool, bool)], env: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut cmd = preloaded(c_test("stat_family"));
    cmd.arg(path).envs(env.iter().copied());
    members_of_set_one(&mut cmd, files);
    let out = cmd.output().expect("run stat_family");
    assert!(out.status.success(), "{}", stderr_of(&out));
    stdout_of(&out)
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("NAME RESULT");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn get<'a>(lines: &'a [(String, String)], key: &str) -> &'a str {
    &lines
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no line {key}"))
        .1
}

/// stat answers with the member's own metadata, as fstat of an opened dup
/// would; errno is untouched by success.
#[test]
fn every_stat_call_answers_like_fstat_of_the_member() {
    let d = TempDir::new("stat-all");
    let f = d.file("f", b"twelve bytes");
    let ino = std::fs::metadata(&f).unwrap().ino();
    let lines = look("/dev/fdset/1", &[(&f, false, true)], &[]);
    for call in STAT_CALLS {
        assert_eq!(get(&lines, call), format!("ok size=12 ino={ino}"), "{call}");
    }
    assert_eq!(get(&lines, "errno-after-success"), "1234");
}

/// Spec section 8, "as the kernel would answer for the member's file":
/// flags the kernel refuses are `EINVAL` on a set path as on the file
/// itself, through libc and through `syscall()`.
#[test]
fn flags_the_kernel_refuses_are_einval_on_a_set_as_on_its_file() {
    let d = TempDir::new("stat-badflags");
    let f = d.file("f", b"x");
    let on_set = look("/dev/fdset/1", &[(&f, false, true)], &[]);
    let on_file = look(f.to_str().unwrap(), &[(&f, false, true)], &[]);
    let mut seen = 0;
    for (k, v) in on_set.iter().filter(|(k, _)| k.starts_with("badflags-")) {
        assert_eq!(get(&on_file, k), "err EINVAL", "{k} on the file");
        assert_eq!(v, "err EINVAL", "{k} on the set");
        seen += 1;
    }
    assert_eq!(seen, 8, "every bad-flag call was made");
}

/// Spec section 8, "as the kernel would answer for the member's file":
/// `statx`'s sync bits, which `newfstatat` takes (both at once too) and
/// `statx` one at a time, are taken on a set path as on the file.
#[test]
fn the_sync_flags_the_kernel_takes_are_taken_on_a_set_as_on_its_file() {
    let d = TempDir::new("stat-syncflags");
    let f = d.file("f", b"twelve bytes");
    let ino = std::fs::metadata(&f).unwrap().ino();
    let on_set = look("/dev/fdset/1", &[(&f, false, true)], &[]);
    let on_file = look(f.to_str().unwrap(), &[(&f, false, true)], &[]);
    let mut seen = 0;
    for (k, v) in on_set.iter().filter(|(k, _)| k.starts_with("syncflags-")) {
        assert_eq!(
            get(&on_file, k),
            format!("ok size=12 ino={ino}"),
            "{k} on the file"
        );
        assert_eq!(v, &format!("ok size=12 ino={ino}"), "{k} on the set");
        seen += 1;
    }
    assert_eq!(seen, 6, "every sync-flag call was made");
}

/// Mode bits beyond R_OK|W_OK|X_OK, "exactly as the libc function": the
/// kernel's EINVAL for `access`; glibc's `euidaccess` and `eaccess` drop
/// them once the file is found (ENOENT for a missing set, as for a
/// missing file).
#[test]
fn unknown_access_bits_are_treated_as_libc_treats_them() {
    let d = TempDir::new("stat-badbits");
    let f = d.file("f", b"x");
    let on_set = look("/dev/fdset/1", &[(&f, false, true)], &[]);
    let on_file = look(f.to_str().unwrap(), &[(&f, false, true)], &[]);
    let missing_set = look("/dev/fdset/2", &[(&f, false, true)], &[]);
    let missing = d.path().join("missing");
    let missing_file = look(missing.to_str().unwrap(), &[(&f, false, true)], &[]);
    for (call, want) in [
        ("badbits-access", "err EINVAL"),
        ("badbits-euidaccess-R_OK", "ok"),
        ("badbits-eaccess", "ok"),
    ] {
        assert_eq!(get(&on_file, call), want, "{call} on the file");
        assert_eq!(get(&on_set, call), want, "{call} on the set");
        let absent = get(&missing_file, call);
        assert_eq!(get(&missing_set, call), absent, "{call} when missing");
    }
}

/// "access honours the modes the set can serve": R_OK needs an
/// O_RDONLY or O_RDWR member, W_OK an O_WRONLY or O_RDWR one.
#[test]
fn access_honours_the_modes_the_set_serves() {
    let d = TempDir::new("stat-access");
    let f = d.file("f", b"x");
    let read_only = look("/dev/fdset/1", &[(&f, false, true)], &[]);
    let write_only = look("/dev/fdset/1", &[(&f, true, false)], &[]);
    let read_write = look("/dev/fdset/1", &[(&f, true, true)], &[]);
    let expect = [
        ("access-F_OK", "ok", "ok", "ok"),
        ("access-R_OK", "ok", "err EACCES", "ok"),
        ("access-W_OK", "err EACCES", "ok", "ok"),
        ("access-RW", "err EACCES", "err EACCES", "ok"),
        ("faccessat-W_OK", "err EACCES", "ok", "ok"),
        ("faccessat-eaccess-R_OK", "ok", "err EACCES", "ok"),
        ("euidaccess-R_OK", "ok", "err EACCES", "ok"),
        ("eaccess-W_OK", "err EACCES", "ok", "ok"),
    ];
    for (call, ro, wo, rw) in expect {
        assert_eq!(get(&read_only, call), ro, "{call} on an O_RDONLY set");
        assert_eq!(get(&write_only, call), wo, "{call} on an O_WRONLY set");
        assert_eq!(get(&read_write, call), rw, "{call} on an O_RDWR set");
    }
    // An O_RDONLY and an O_WRONLY member together serve both.
    let both = look("/dev/fdset/1", &[(&f, false, true), (&f, true, false)], &[]);
    assert_eq!(get(&both, "access-RW"), "ok");
}

/// X_OK "as fstat says": the file's execute bits decide (root needs any).
#[test]
fn x_ok_follows_the_file_mode() {
    let d = TempDir::new("stat-x");
    let f = d.file("f", b"#!/bin/sh\n");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let expected_plain = if Command::new("test")
        .arg("-x")
        .arg(&f)
        .status()
        .unwrap()
        .success()
    {
        "ok"
    } else {
        "err EACCES"
    };
    assert_eq!(
        get(
            &look("/dev/fdset/1", &[(&f, false, true)], &[]),
            "access-X_OK"
        ),
        expected_plain
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        get(
            &look("/dev/fdset/1", &[(&f, false, true)], &[]),
            "access-X_OK"
        ),
        "ok"
    );
}

/// Spec section 8, X_OK "as the kernel would answer for the member's
/// file", beyond the mode bits: root may search a directory of mode 0600,
/// and a mode-0755 file on a `noexec` mount executes for nobody. Each is
/// compared with `test -x` on the file's own path. (The tests run as root;
/// the noexec mount is made in a mount namespace of its own.)
#[test]
fn x_ok_is_the_kernels_answer_for_the_members_file() {
    let d = TempDir::new("stat-x-kernel");
    let dir = d.path().join("private");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o600)).unwrap();
    let plain = Command::new("test").arg("-x").arg(&dir).status().unwrap();
    let lines = look("/dev/fdset/1", &[(&dir, false, true)], &[]);
    assert!(plain.success(), "root searches any directory");
    assert_eq!(get(&lines, "access-X_OK"), "ok", "a directory of mode 0600");

    let mnt = d.path().join("noexec");
    std::fs::create_dir(&mnt).unwrap();
    let script = r#"mount -t tmpfs -o noexec,size=1m tmpfs "$1" || exit 99
printf '#!/bin/sh\n' > "$1/f" && chmod 755 "$1/f"
if test -x "$1/f"; then echo "plain ok"; else echo "plain err EACCES"; fi
exec "$2" --file "set=1,path=$1/f" -- "$3" /dev/fdset/1"#;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(&mnt)
        .arg(bin("fdset-run"))
        .arg(c_test("stat_family"));
    without_shim_env(&mut cmd);
    let out = cmd.output().expect("run unshare");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains("plain err EACCES\n"), "{text}");
    assert!(
        text.contains("\naccess-X_OK err EACCES\n"),
        "a noexec mount:\n{text}"
    );
}

/// Spec section 2, Open step 2, applied to looking: ENOENT for a missing
/// set; and spec section 8: a name under the prefix that is no set number
/// does not exist either (ENOENT, while open of it stays EINVAL); the
/// answer for every call.
#[test]
fn missing_set_and_a_name_that_is_no_set_number_are_enoent() {
    let d = TempDir::new("stat-missing");
    let f = d.file("f", b"x");
    for (path, errno, open_errno) in [
        ("/dev/fdset/2", "ENOENT", "ENOENT"),
        ("/dev/fdset/x", "ENOENT", "EINVAL"),
        ("/dev/fdset/-1", "ENOENT", "EINVAL"),
    ] {
        let lines = look(path, &[(&f, false, true)], &[]);
        for call in STAT_CALLS {
            let want = if *call == "fstat-of-open" {
                open_errno
            } else {
                errno
            };
            assert_eq!(get(&lines, call), format!("err {want}"), "{call} {path}");
        }
        assert_eq!(get(&lines, "access-F_OK"), format!("err {errno}"), "{path}");
        assert_eq!(
            get(&lines, "faccessat-W_OK"),
            format!("err {errno}"),
            "{path}"
        );
    }
}

/// Prefix and alias paths (spec section 5) answer like /dev/fdset/N; other
/// paths under the prefix's parent are left to libc.
#[test]
fn prefix_and_alias_paths_answer_too() {
    let d = TempDir::new("stat-prefix");
    let f = d.file("f", b"four");
    let ino = std::fs::metadata(&f).unwrap().ino();
    let env = [
        ("FDSET_PREFIX", "/run/fdset-test/"),
        ("FDSET_ALIAS", "/srv/disk.img=1"),
    ];
    for path in ["/run/fdset-test/1", "/srv/disk.img"] {
        let lines = look(path, &[(&f, false, true)], &env);
        assert_eq!(
            get(&lines, "statx"),
            format!("ok size=4 ino={ino}"),
            "{path}"
        );
        assert_eq!(
            get(&lines, "stat"),
            format!("ok size=4 ino={ino}"),
            "{path}"
        );
    }
    // A real file is answered by libc, not the shim.
    let lines = look(f.to_str().unwrap(), &[(&f, false, true)], &env);
    assert_eq!(get(&lines, "stat"), format!("ok size=4 ino={ino}"));
    assert_eq!(get(&lines, "access-W_OK"), "ok");
}

/// Real programs: coreutils' stat (statx), test -r/-w (faccessat), and
/// Python's os.path.exists (stat64).
#[test]
fn real_programs_look_at_sets() {
    let d = TempDir::new("stat-real");
    let f = d.file("f", b"0123456789");
    let run = |program: &Path, args: &[&str]| {
        let mut cmd = preloaded(program);
        cmd.args(args).env("FDSET_ADD_FD", "fd=3,set=1");
        inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
        cmd.output().expect("run program")
    };
    let out = run(Path::new("stat"), &["-c", "%s %F", "/dev/fdset/1"]);
    assert_eq!(stdout_of(&out), "10 regular file\n", "{}", stderr_of(&out));
    assert!(
        run(Path::new("test"), &["-r", "/dev/fdset/1"])
            .status
            .success()
    );
    assert!(
        !run(Path::new("test"), &["-w", "/dev/fdset/1"])
            .status
            .success()
    );
    let out = run(Path::new("stat"), &["/dev/fdset/7"]);
    assert!(
        stderr_of(&out).contains("No such file or directory"),
        "{}",
        stderr_of(&out)
    );
    let out = run(
        &python(),
        &[
            "-c",
            "import os; print(os.path.exists('/dev/fdset/1'), os.path.getsize('/dev/fdset/1'), os.path.exists('/dev/fdset/2'), os.access('/dev/fdset/1', os.W_OK))",
        ],
    );
    assert_eq!(
        stdout_of(&out),
        "True 10 False False\n",
        "{}",
        stderr_of(&out)
    );
}
