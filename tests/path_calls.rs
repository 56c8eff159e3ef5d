//! Spec section 8 "Other path calls on set paths" and section 2 "Open"
//! item 7, with `c-tests/path_calls.c`: the answers for `/dev/fdset/1` are
//! those for the member's own file (extended attributes, readlink, statfs,
//! truncate, the utime family, O_PATH), the prefix directory answers as a
//! read-only directory, and other names under the prefix do not exist.
use fdset_testkit::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A member: the file, and whether it is opened for writing / reading.
type Member<'a> = (&'a Path, bool, bool);

/// `c-tests/stat_family` or `path_calls` ARGS, preloaded, with `members` as
/// set 1 (fd 3, 4, ... in that order); stdout as `(NAME, RESULT)` lines.
fn run_with(
    program: &str,
    args: &[&str],
    members: &[Member],
    env: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut cmd = preloaded(c_test(program));
    cmd.args(args).envs(env.iter().copied());
    members_of_set_one(&mut cmd, members);
    lines_of(cmd)
}

/// The same program on an ordinary path, without the shim.
fn run_plain(program: &str, args: &[&str]) -> Vec<(String, String)> {
    let mut cmd = Command::new(c_test(program));
    without_shim_env(&mut cmd);
    cmd.args(args);
    lines_of(cmd)
}

fn lines_of(mut cmd: Command) -> Vec<(String, String)> {
    let out = cmd.output().expect("run the C program");
    assert!(out.status.success(), "{cmd:?}: {}", stderr_of(&out));
    stdout_of(&out)
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("NAME RESULT");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// FDSET_LOG's stderr lines without the `[pid comm] ` each one names.
fn log_text(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| {
            match l
                .strip_prefix("fdset-shim: [")
                .and_then(|r| r.split_once("] "))
            {
                Some((_, text)) => format!("fdset-shim: {text}\n"),
                None => format!("{l}\n"),
            }
        })
        .collect()
}

fn get<'a>(lines: &'a [(String, String)], key: &str) -> &'a str {
    &lines
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no line {key} in {lines:?}"))
        .1
}

/// A file with a `user.fdset` extended attribute. The temporary directory
/// must support user attributes (ext4, xfs, btrfs, tmpfs since Linux 6.6),
/// or the comparison would only compare two failures.
fn file_with_xattr(d: &TempDir, name: &str, content: &[u8]) -> PathBuf {
    let f = d.file(name, content);
    let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid NUL-terminated strings and a 5-byte value.
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            c"user.fdset".as_ptr(),
            b"hello".as_ptr().cast(),
            5,
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr on {}: {} (the tests need a temp dir with user xattrs)",
        f.display(),
        std::io::Error::last_os_error()
    );
    f
}

/// Spec section 8: getxattr, lgetxattr, listxattr, llistxattr through the
/// f*xattr call on a member; readlink is EINVAL (a set path is no symbolic
/// link); statfs/statvfs through a member. Every line equals the one for
/// the member's own file, except realpath, which returns the set path itself.
#[test]
fn looking_calls_answer_like_the_members_file() {
    let d = TempDir::new("calls-look");
    let f = file_with_xattr(&d, "f", b"0123456789");
    let plain = run_plain("path_calls", &["look", f.to_str().unwrap()]);
    assert_eq!(get(&plain, "getxattr"), "ok 5 hello", "the xattr is there");
    let set = run_with(
        "path_calls",
        &["look", "/dev/fdset/1"],
        &[(&f, false, true)],
        &[],
    );
    same_as_the_file(&plain, &set, &f);
    assert_eq!(get(&set, "readlink"), "err EINVAL");
    assert_eq!(get(&set, "listxattr"), "ok size-query=same user.fdset");
    assert_eq!(get(&set, "errno-after-success"), "ok 1234");
}

/// Spec section 8, "as the kernel would answer for the member's file": at
/// the descriptor limit (every number taken), the calls that look at a set
/// path answer as they do for the file (through the member itself, where
/// no private copy of it can be made): none says EMFILE.
#[test]
fn looking_calls_answer_at_the_descriptor_limit() {
    let d = TempDir::new("calls-full");
    let f = file_with_xattr(&d, "f", b"0123456789");
    let plain = run_plain("path_calls", &["full", f.to_str().unwrap()]);
    let set = run_with(
        "path_calls",
        &["full", "/dev/fdset/1"],
        &[(&f, false, true)],
        &[],
    );
    assert_eq!(get(&set, "full"), "ok taken=some", "the table was full");
    assert_eq!(get(&set, "full-stat"), "ok 10");
    same_as_the_file(&plain, &set, &f);
}

/// Every line for `/dev/fdset/1` equals the one for its member's file `f`,
/// except realpath, which returns the set path itself.
fn same_as_the_file(plain: &[(String, String)], set: &[(String, String)], f: &Path) {
    assert_eq!(plain.len(), set.len());
    for ((k, want), (k2, got)) in plain.iter().zip(set) {
        assert_eq!(k, k2);
        if k.starts_with("realpath") || k == "canonicalize_file_name" {
            assert_eq!(got, "ok /dev/fdset/1", "{k}");
            assert_eq!(*want, format!("ok {}", f.canonicalize().unwrap().display()));
        } else {
            assert_eq!(got, want, "{k}");
        }
    }
}

/// The same through a prefix and an alias path (spec section 5).
#[test]
fn prefix_and_alias_paths_look_the_same() {
    let d = TempDir::new("calls-prefix");
    let f = file_with_xattr(&d, "f", b"abc");
    let env = [
        ("FDSET_PREFIX", "/run/fdset"),
        ("FDSET_ALIAS", "/srv/vm/disk.img=1"),
    ];
    for path in ["/run/fdset/1", "/srv/vm/disk.img"] {
        let set = run_with("path_calls", &["look", path], &[(&f, false, true)], &env);
        assert_eq!(get(&set, "getxattr"), "ok 5 hello", "{path}");
        assert_eq!(get(&set, "readlinkat"), "err EINVAL", "{path}");
        assert_eq!(get(&set, "realpath-buf"), format!("ok {path}"));
        assert!(get(&set, "statvfs").starts_with("ok "), "{path}");
    }
}

/// Spec section 8: a missing set does not exist for any of these calls.
#[test]
fn missing_set_is_enoent_for_every_call() {
    let d = TempDir::new("calls-missing");
    let f = d.file("f", b"x");
    let set = run_with(
        "path_calls",
        &["look", "/dev/fdset/2"],
        &[(&f, false, true)],
        &[],
    );
    for (k, v) in &set {
        if k != "errno-after-success" {
            assert_eq!(v, "err ENOENT", "{k}");
        }
    }
}

/// Spec section 8: names under a prefix that are no set number
/// (`2-journal`, `2.zip`, vim's `2~`) do not exist: stat, access, readlink
/// and the rest say ENOENT; open stays EINVAL as in QEMU.
#[test]
fn names_that_are_no_set_number_do_not_exist() {
    let d = TempDir::new("calls-names");
    let f = d.file("f", b"x");
    for name in [
        "/dev/fdset/2-journal",
        "/dev/fdset/2.zip",
        "/dev/fdset/2~",
        "/dev/fdset/1/",
    ] {
        let look = run_with("path_calls", &["look", name], &[(&f, false, true)], &[]);
        for (k, v) in &look {
            if k != "errno-after-success" {
                assert_eq!(v, "err ENOENT", "{k} {name}");
            }
        }
        let stat = run_with("stat_family", &[name], &[(&f, false, true)], &[]);
        for (k, v) in &stat {
            match k.as_str() {
                "fstat-of-open" => assert_eq!(v, "err EINVAL", "{name}: open stays EINVAL"),
                "errno-after-success" => {}
                // The kernel checks flags before the path.
                k if k.starts_with("badflags-") => assert_eq!(v, "err EINVAL", "{k} {name}"),
                _ => assert_eq!(v, "err ENOENT", "{k} {name}"),
            }
        }
    }
}

/// Spec section 8: the prefix directory itself, when none is on disk,
/// answers stat, lstat, statx, access as a read-only directory; readlink
/// says it is no link; realpath returns it. (Skipped nowhere: /dev/fdset
/// and /run/fdset do not exist on a machine that does not use them; the
/// test checks that first and fails if they do.)
#[test]
fn the_prefix_directory_answers_as_a_read_only_directory() {
    for dir in ["/dev/fdset", "/run/fdset"] {
        assert!(
            !Path::new(dir).exists(),
            "{dir} exists on this machine: the test needs it absent"
        );
    }
    let d = TempDir::new("calls-dir");
    let f = d.file("f", b"x");
    let env = [("FDSET_PREFIX", "/run/fdset/")];
    for dir in ["/dev/fdset", "/dev/fdset/", "/run/fdset", "/run/fdset//"] {
        let stat = run_with("stat_family", &[dir], &[(&f, false, true)], &env);
        for (k, v) in &stat {
            match k.as_str() {
                // open of the directory is libc's business (ENOENT) or,
                // with the slash, a set path with no number (EINVAL).
                "fstat-of-open" => assert!(v == "err ENOENT" || v == "err EINVAL", "{dir}: {v}"),
                "errno-after-success" => assert_eq!(v, "1234", "{dir}"),
                k if k.starts_with("badflags-") => assert_eq!(v, "err EINVAL", "{k} {dir}"),
                "badbits-access" => assert_eq!(v, "err EINVAL", "{k} {dir}"),
                "access-F_OK"
                | "badbits-euidaccess-R_OK"
                | "badbits-eaccess"
                | "access-R_OK"
                | "access-X_OK"
                | "faccessat-eaccess-R_OK"
                | "euidaccess-R_OK" => assert_eq!(v, "ok", "{k} {dir}"),
                "access-W_OK" | "access-RW" | "faccessat-W_OK" | "eaccess-W_OK" => {
                    assert_eq!(v, "err EACCES", "{k} {dir}")
                }
                _ => assert!(v.starts_with("ok size=0 ino="), "{k} {dir}: {v}"),
            }
        }
        let look = run_with("path_calls", &["look", dir], &[(&f, false, true)], &env);
        assert_eq!(get(&look, "readlink"), "err EINVAL", "{dir}");
        let trimmed = dir.trim_end_matches('/');
        assert_eq!(get(&look, "realpath-null"), format!("ok {trimmed}"));
        assert_eq!(
            get(&look, "canonicalize_file_name"),
            format!("ok {trimmed}")
        );
        assert_eq!(get(&look, "listxattr"), "ok size-query=same");
        assert_eq!(get(&look, "getxattr"), "err ENODATA");
    }
    // Not a prefix: libc's answer.
    let stat = run_with("stat_family", &["/run/fdsetx"], &[(&f, false, true)], &env);
    assert_eq!(get(&stat, "stat"), "err ENOENT");
}

/// A directory that is on disk answers for itself.
#[test]
fn a_prefix_directory_on_disk_answers_for_itself() {
    let d = TempDir::new("calls-realdir");
    let prefix = d.path().join("sets");
    std::fs::create_dir(&prefix).unwrap();
    let f = d.file("f", b"x");
    let ino = std::fs::metadata(&prefix).unwrap().ino();
    let env = [("FDSET_PREFIX", prefix.to_str().unwrap())];
    let stat = run_with(
        "stat_family",
        &[prefix.to_str().unwrap()],
        &[(&f, false, true)],
        &env,
    );
    assert_eq!(get(&stat, "stat"), format!("ok size=4096 ino={ino}"));
    assert_eq!(get(&stat, "access-W_OK"), "ok");
}

/// Spec section 8: truncate through a member that can write (ftruncate),
/// else EACCES; the file behind the set has the new length.
#[test]
fn truncate_goes_through_a_member_that_can_write() {
    let d = TempDir::new("calls-trunc");
    let f = d.file("f", b"0123456789");
    let plain_file = d.file("g", b"0123456789");
    let plain = run_plain(
        "path_calls",
        &["truncate", plain_file.to_str().unwrap(), "4"],
    );
    // An O_RDONLY member (newest) and an O_WRONLY one: the writer serves.
    let set = run_with(
        "path_calls",
        &["truncate", "/dev/fdset/1", "4"],
        &[(&f, true, false), (&f, false, true)],
        &[],
    );
    assert_eq!(set, plain);
    assert_eq!(get(&set, "truncate64"), "ok");
    // Cut to 2 bytes, then grown to 4 (zeros), as on the ordinary path.
    assert_eq!(std::fs::read(&f).unwrap(), b"01\0\0");
    assert_eq!(std::fs::read(&plain_file).unwrap(), b"01\0\0");
    // Only readers: EACCES, the file untouched.
    let ro = run_with(
        "path_calls",
        &["truncate", "/dev/fdset/1", "2"],
        &[(&f, false, true)],
        &[],
    );
    assert_eq!(get(&ro, "truncate"), "err EACCES");
    assert_eq!(get(&ro, "truncate64"), "err EACCES");
    assert_eq!(std::fs::read(&f).unwrap(), b"01\0\0");
    // A negative length is EINVAL before anything else, as the kernel
    // says for any path (a missing one too).
    let missing = d.path().join("missing");
    let plain = run_plain("path_calls", &["truncate", missing.to_str().unwrap(), "-2"]);
    assert_eq!(get(&plain, "truncate64"), "err EINVAL");
    for members in [&[(&*f, false, true)][..], &[(&*f, true, true)][..]] {
        let set = run_with(
            "path_calls",
            &["truncate", "/dev/fdset/1", "-2"],
            members,
            &[],
        );
        assert_eq!(set, plain);
    }
    assert_eq!(std::fs::read(&f).unwrap(), b"01\0\0");
}

/// chmod and chown (the spec is silent; README "Calls around an open"):
/// through the newest member, so that each answers as on the member's own
/// file, bad flags included (EINVAL), and the file behind the set gets the
/// new mode and owner. Python's `shutil.copy` onto a set path (which copies
/// the mode last) works as onto the file.
#[test]
fn chmod_and_chown_go_through_a_member() {
    let d = TempDir::new("calls-owner");
    let f = d.file("f", b"x");
    let plain_file = d.file("g", b"x");
    let plain = run_plain("path_calls", &["owner", plain_file.to_str().unwrap()]);
    let set = run_with(
        "path_calls",
        &["owner", "/dev/fdset/1"],
        &[(&f, false, true)],
        &[],
    );
    assert_eq!(set, plain);
    assert_eq!(get(&set, "fchownat"), "ok mode=644 uid=0 gid=0");
    assert_eq!(get(&set, "fchmodat-badflags"), "err EINVAL");
    let src = d.file("src.txt", b"payload\n");
    let dst = d.file("dst.txt", b"");
    let out = fdset_run()
        .arg("--file")
        .arg(file_arg(1, &dst, "wo"))
        .args(["--", python().to_str().unwrap(), "-c"])
        .arg(format!(
            "import shutil; shutil.copy({:?}, '/dev/fdset/1')",
            src.to_str().unwrap()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(std::fs::read(&dst).unwrap(), b"payload\n");
}

/// Spec section 8: utimensat, utimes, utime (and lutimes, futimesat)
/// through a member: each sets the times of the file behind the set, as
/// the same calls do on the file's own path.
#[test]
fn the_utime_family_goes_through_a_member() {
    let d = TempDir::new("calls-times");
    let f = d.file("f", b"x");
    let g = d.file("g", b"x");
    let plain = run_plain("path_calls", &["times", g.to_str().unwrap(), "1000000000"]);
    let set = run_with(
        "path_calls",
        &["times", "/dev/fdset/1", "1000000000"],
        &[(&f, false, true)],
        &[],
    );
    assert_eq!(set, plain);
    assert_eq!(
        get(&set, "utime"),
        "ok want=1000000006 atime=1000000006 mtime=1000000006"
    );
    assert_eq!(get(&set, "utimensat-badflag"), "err EINVAL");
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!((m.atime(), m.mtime()), (1000000006, 1000000006));
}

/// Spec section 2, "Open" item 7: O_PATH gets a real O_PATH descriptor of
/// the member's file (any member that is not removed serves, whatever its
/// access mode), at the lowest free number, not a recorded dup; O_DIRECTORY
/// on a non-directory member is ENOTDIR and changes nothing (O_TRUNC
/// included).
#[test]
fn o_path_and_o_directory() {
    let d = TempDir::new("calls-opath");
    let f = d.file("f", b"0123456789");
    let ino = std::fs::metadata(&f).unwrap().ino();
    let plain = run_plain("path_calls", &["opath", f.to_str().unwrap()]);
    // An O_WRONLY member only: an O_RDONLY-moded O_PATH open still works.
    let set = run_with(
        "path_calls",
        &["opath", "/dev/fdset/1"],
        &[(&f, true, false)],
        &[],
    );
    let o_path = format!("ok fd=3 o_path=1 dir=0 ino={ino} cloexec=0 read=EBADF");
    assert_eq!(get(&set, "o_path"), o_path);
    assert_eq!(get(&plain, "o_path"), o_path);
    for k in [
        "o_path",
        "o_path-cloexec",
        "o_path-directory",
        "o_directory-wronly-trunc",
        "openat-o_path",
    ] {
        assert_eq!(get(&set, k), get(&plain, k), "{k}");
    }
    // O_RDONLY|O_DIRECTORY: no O_RDONLY member is the first refusal.
    assert_eq!(get(&set, "o_directory"), "err EACCES");
    assert_eq!(
        get(&set, "size-after"),
        "ok 10",
        "O_TRUNC|O_DIRECTORY truncated"
    );
    let ro = run_with(
        "path_calls",
        &["opath", "/dev/fdset/1"],
        &[(&f, false, true)],
        &[],
    );
    assert_eq!(get(&ro, "o_directory"), "err ENOTDIR");
    assert_eq!(get(&ro, "o_path-directory"), "err ENOTDIR");
}

/// O_PATH "a real O_PATH descriptor of the member's file" under a low
/// RLIMIT_NOFILE too: at 64 (below the numbers the shim keeps its own
/// descriptors at) each O_PATH open of the set works, as on the file.
#[test]
fn o_path_under_a_low_fd_limit() {
    let d = TempDir::new("calls-opath-limit");
    let f = d.file("f", b"0123456789");
    let mut cmd = preloaded(c_test("path_calls"));
    cmd.args(["opath", "/dev/fdset/1"]);
    members_of_set_one(&mut cmd, &[(&f, false, true)]);
    limit_open_files(&mut cmd, 64);
    let set = lines_of(cmd);
    for k in ["o_path", "o_path-cloexec", "openat-o_path"] {
        let v = get(&set, k);
        assert!(v.starts_with("ok ") && v.contains(" o_path=1 "), "{k}: {v}");
    }
}

/// A directory member serves O_DIRECTORY (a dup) and O_PATH|O_DIRECTORY.
#[test]
fn a_directory_member_serves_o_directory() {
    let d = TempDir::new("calls-odir");
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let ino = std::fs::metadata(&sub).unwrap().ino();
    let set = run_with(
        "path_calls",
        &["opath", "/dev/fdset/1"],
        &[(&sub, false, true)],
        &[],
    );
    assert_eq!(
        get(&set, "o_directory"),
        format!("ok fd=3 o_path=0 dir=1 ino={ino} cloexec=0 read=EISDIR")
    );
    assert_eq!(
        get(&set, "o_path-directory"),
        format!("ok fd=3 o_path=1 dir=1 ino={ino} cloexec=0 read=EBADF")
    );
}

/// The O_PATH descriptor is not a dup: FDSET_LOG says so, and closing it
/// is a plain close (no refcount line).
#[test]
fn an_o_path_descriptor_is_not_recorded() {
    let d = TempDir::new("calls-opath-log");
    let f = d.file("f", b"x");
    let mut cmd = preloaded(c_test("path_calls"));
    cmd.args(["opath", "/dev/fdset/1"])
        .env("FDSET_ADD_FD", "fd=3,set=1")
        .env("FDSET_LOG", "1");
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let log = log_text(&stderr_of(&out));
    let line = log
        .lines()
        .find(|l| l.starts_with("fdset-shim: open /dev/fdset/1 flags=O_RDONLY|O_PATH:"))
        .unwrap_or_else(|| panic!("no O_PATH line in {log}"));
    assert!(
        line.ends_with(": set 1: O_PATH descriptor of member fd 100 -> fd 3 (not a dup)"),
        "{line}"
    );
    assert!(!log.contains("closed member"), "{log}");
}

/// Without /proc (a chroot, a sandbox), O_PATH cannot reopen the member:
/// a plain, unrecorded descriptor of the same file stands in, and
/// O_PATH|O_DIRECTORY still says ENOTDIR (what cp needs). bwrap (from
/// .ci/setup) hides /proc behind an empty tmpfs.
#[test]
fn o_path_without_proc() {
    let d = TempDir::new("calls-noproc");
    let f = d.file("f", b"x");
    let ino = std::fs::metadata(&f).unwrap().ino();
    let mut cmd = Command::new("bwrap");
    without_shim_env(&mut cmd);
    cmd.args(["--dev-bind", "/", "/", "--tmpfs", "/proc", "--", "env"])
        .arg(format!("LD_PRELOAD={}", shim_lib().display()))
        .arg("FDSET_ADD_FD=fd=3,set=1")
        .arg(c_test("path_calls"))
        .args(["opath", "/dev/fdset/1"]);
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
    let lines = lines_of(cmd);
    assert_eq!(
        get(&lines, "o_path"),
        format!("ok fd=3 o_path=0 dir=0 ino={ino} cloexec=0 read=ok")
    );
    assert_eq!(
        get(&lines, "o_path-cloexec"),
        format!("ok fd=3 o_path=0 dir=0 ino={ino} cloexec=1 read=ok")
    );
    assert_eq!(get(&lines, "o_path-directory"), "err ENOTDIR");
}

/// FDSET_LOG names each decision of these calls (spec section 5): the
/// member a call went through, the answers from the prefix directory,
/// and why a name does not exist. Lines for other paths are never written.
#[test]
fn decisions_are_logged() {
    let d = TempDir::new("calls-log");
    let f = d.file("f", b"x");
    let run = |args: &[&str]| {
        let mut cmd = preloaded(c_test("path_calls"));
        cmd.args(args)
            .env("FDSET_ADD_FD", "fd=3,set=1")
            .env("FDSET_LOG", "1");
        inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        log_text(&stderr_of(&out))
    };
    let log = run(&["look", "/dev/fdset/1"]);
    for line in [
        "fdset-shim: getxattr /dev/fdset/1 user.fdset: set 1: through member fd 100: No data available",
        "fdset-shim: listxattr /dev/fdset/1: set 1: through member fd 100",
        "fdset-shim: readlink /dev/fdset/1: EINVAL: set 1 is no symbolic link",
        "fdset-shim: realpath /dev/fdset/1: set 1: the path itself",
        "fdset-shim: statvfs /dev/fdset/1: set 1: through member fd 100",
    ] {
        assert!(log.lines().any(|l| l == line), "no '{line}' in:\n{log}");
    }
    let log = run(&["truncate", "/dev/fdset/1", "0"]);
    assert!(
        log.contains("fdset-shim: truncate /dev/fdset/1 length=0: EACCES: set 1 has no O_WRONLY or O_RDWR member"),
        "{log}"
    );
    let log = run(&["look", "/dev/fdset/7.zip"]);
    assert!(
        log.contains("fdset-shim: readlink /dev/fdset/7.zip: ENOENT: '7.zip' is not a set number (0..2147483647), so nothing by that name exists"),
        "{log}"
    );
    let plain = run(&["look", f.to_str().unwrap()]);
    assert_eq!(plain, "", "nothing is logged for other paths");
}
