//! fdset-run's seccomp mode serves the extended-attribute calls
//! (`getxattr`, `lgetxattr`, `listxattr`, `llistxattr`) and the `utime`
//! family (`utime`, `utimes`, `futimesat` as system calls, `utimensat`) on
//! set paths as the shim does (spec section 8): through the set's newest
//! member, compared with the same static program (c-tests/seccomp_path_calls.c)
//! on the member's file without supervision; names under a prefix that are
//! no set number, missing sets and the prefix directory answer as the
//! README says.

use fdset_testkit::*;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn set_xattr(file: &Path, name: &str, value: &[u8]) {
    let p = CString::new(file.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    // SAFETY: valid NUL-terminated strings and a buffer of value.len() bytes.
    let r = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr {name} on {}: {}",
        file.display(),
        std::io::Error::last_os_error()
    );
}

/// A file with the attributes the program asks for.
fn file_with_xattrs(dir: &TempDir, name: &str) -> std::path::PathBuf {
    let f = dir.file(name, b"some content\n");
    set_xattr(&f, "user.fdset", b"hello");
    set_xattr(&f, "user.other", b"second value");
    set_xattr(&f, "user.empty", b"");
    f
}

/// The program's lines on `path` under `fdset-run --seccomp` with set 1 =
/// `member` (mode ro), or unsupervised when `member` is None.
fn calls_on(path: &str, member: Option<&Path>) -> Vec<String> {
    let prog = c_test("seccomp_path_calls");
    let cmd = match member {
        Some(m) => {
            let mut cmd = fdset_run();
            cmd.args(["--seccomp", "--file", &file_arg(1, m, "ro"), "--"])
                .arg(&prog)
                .arg(path);
            cmd
        }
        None => {
            let mut cmd = Command::new(&prog);
            cmd.arg(path);
            cmd
        }
    };
    let out = output_within(cmd, LIMIT);
    assert!(out.status.success(), "{path}: {}", stderr_of(&out));
    stdout_of(&out).lines().map(str::to_string).collect()
}

fn line<'a>(lines: &'a [String], name: &str) -> &'a str {
    let prefix = format!("{name} ");
    lines
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
}

#[test]
fn xattr_and_utime_calls_on_a_set_path_answer_as_on_its_file() {
    let dir = TempDir::new("seccomp-path-calls");
    let via_set = file_with_xattrs(&dir, "via-set.txt");
    let direct = file_with_xattrs(&dir, "direct.txt");
    let served = calls_on("/dev/fdset/1", Some(&via_set));
    let plain = calls_on(&direct.to_string_lossy(), None);
    assert_eq!(served.len(), plain.len(), "{served:?}\n{plain:?}");
    for (s, p) in served.iter().zip(&plain) {
        assert_eq!(s, p, "the set path vs the file itself");
    }
    // The answers are the real ones, not a default.
    assert_eq!(
        line(&plain, "getxattr"),
        "getxattr rc=5 errno=0 bytes=hello"
    );
    let size = "some content\n".len();
    for (call, answer) in [
        ("newfstatat-sync-force", format!("rc=0 errno=0 size={size}")),
        ("newfstatat-sync-both", format!("rc=0 errno=0 size={size}")),
        ("statx-sync-dont", format!("rc=0 errno=0 size={size}")),
        (
            "statx-sync-both",
            format!("rc=-1 errno={} size=0", libc::EINVAL),
        ),
    ] {
        assert_eq!(line(&plain, call), format!("{call} {answer}"));
    }
    for (call, errno) in [
        ("getxattr-small", libc::ERANGE),
        ("getxattr-missing", libc::ENODATA),
        ("getxattr-bad-buffer", libc::EFAULT),
        ("getxattr-long-name", libc::ERANGE),
        ("listxattr-small", libc::ERANGE),
    ] {
        assert_eq!(line(&plain, call), format!("{call} rc=-1 errno={errno}"));
    }
    assert!(
        line(&plain, "listxattr").contains("user.fdset|"),
        "{plain:?}"
    );
    assert_eq!(
        line(&plain, "sys-utimes"),
        "sys-utimes rc=0 errno=0 atime=3000000.000005000 mtime=4000000.000007000"
    );
    assert!(line(&plain, "sys-utimes-bad-usec").contains(&format!("errno={}", libc::EINVAL)));
    assert!(
        line(&plain, "sys-utime-now").ends_with("now=1"),
        "{plain:?}"
    );
    // The set's own file changed, as the direct one did.
    let (a, b) = (
        std::fs::metadata(&via_set).unwrap(),
        std::fs::metadata(&direct).unwrap(),
    );
    assert!(a.mtime() > 1_000_000_000, "{}", a.mtime());
    assert!(
        (a.mtime() - b.mtime()).abs() <= 2,
        "{} vs {}",
        a.mtime(),
        b.mtime()
    );
}

#[test]
fn xattr_and_utime_calls_on_names_that_are_no_set_say_enoent() {
    let dir = TempDir::new("seccomp-path-calls-enoent");
    let member = file_with_xattrs(&dir, "member.txt");
    let before = std::fs::metadata(&member).unwrap().mtime();
    for path in ["/dev/fdset/2", "/dev/fdset/1-journal"] {
        let lines = calls_on(path, Some(&member));
        for l in &lines {
            if l.starts_with("sys-utime-now") || l.starts_with("sys-utimes-now") {
                assert!(
                    l.contains(&format!("errno={}", libc::ENOENT)),
                    "{path}: {l}"
                );
                continue;
            }
            // Each call fails with ENOENT (the stat after a time call too).
            assert!(
                l.contains(&format!("errno={}", libc::ENOENT)),
                "{path}: {l}"
            );
            assert!(l.contains("rc=-1"), "{path}: {l}");
        }
    }
    assert_eq!(std::fs::metadata(&member).unwrap().mtime(), before);
}

/// README "Calls around an open": a prefix directory that is not on disk
/// answers as an empty read-only directory, with or without trailing
/// slashes; in seccomp mode field for field as the shim answers it.
#[test]
fn a_prefix_directory_that_is_not_on_disk_has_no_attributes() {
    let dir = TempDir::new("seccomp-path-calls-dir");
    let member = file_with_xattrs(&dir, "member.txt");
    let prefix = dir.path().join("sets");
    let prefix = prefix.to_string_lossy();
    let prog = c_test("seccomp_path_calls");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let real = calls_on(&empty.to_string_lossy(), None);
    for path in [
        prefix.to_string(),
        format!("{prefix}/"),
        format!("{prefix}//"),
        "/dev/fdset//".to_string(),
    ] {
        let mut cmd = fdset_run();
        cmd.args([
            "--seccomp",
            "--file",
            &file_arg(1, &member, "ro"),
            "--prefix",
            &prefix,
            "--",
        ])
        .arg(&prog)
        .arg(&path);
        let out = output_within(cmd, LIMIT);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let lines: Vec<String> = stdout_of(&out).lines().map(str::to_string).collect();
        assert_eq!(
            line(&lines, "getxattr"),
            format!("getxattr rc=-1 errno={}", libc::ENODATA),
            "{path}"
        );
        assert_eq!(
            line(&lines, "lgetxattr"),
            format!("lgetxattr rc=-1 errno={}", libc::ENODATA),
            "{path}"
        );
        assert_eq!(
            line(&lines, "listxattr"),
            "listxattr rc=0 errno=0",
            "{path}"
        );
        assert_eq!(
            line(&lines, "llistxattr"),
            "llistxattr rc=0 errno=0",
            "{path}"
        );
        // A bad name is the kernel's error, which reads the name before the
        // path: as on an empty directory that is there.
        for call in [
            "getxattr-bad-name",
            "getxattr-long-name",
            "getxattr-no-name",
        ] {
            assert_eq!(line(&lines, call), line(&real, call), "{call} {path}");
            assert!(
                !line(&real, call).contains(&format!("errno={}", libc::ENODATA)),
                "{call}"
            );
        }
    }
    // Unsupervised, the directory does not exist.
    let plain = calls_on(&prefix, None);
    assert_eq!(
        line(&plain, "getxattr"),
        format!("getxattr rc=-1 errno={}", libc::ENOENT)
    );
}
