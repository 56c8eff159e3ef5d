//! Real programs that look at a set path before or after they open it
//! (spec section 8, and section 2 "Open" item 7), run by `fdset-run` and
//! compared with the same program on the file's own path: cp, ls -l,
//! realpath, readlink -f, Python's Path.resolve, Node's fs.realpathSync,
//! truncate, touch, df, stat -f; names under the prefix that are no set
//! number; Node with io_uring and FDSET_IO_URING=0; a shell redirection
//! into a pipe or device member.
use fdset_testkit::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

/// `fdset-run` with `--file` for each `(set, path, mode)`, then `args`.
fn run(files: &[(u32, &Path, &str)], args: &[&str]) -> Output {
    run_env(files, args, &[])
}

fn run_env(files: &[(u32, &Path, &str)], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = fdset_run();
    for (set, path, mode) in files {
        cmd.arg("--file").arg(file_arg(*set, path, mode));
    }
    cmd.args(args).envs(env.iter().copied());
    cmd.output().expect("run fdset-run")
}

/// The same program without the shim.
fn plain(program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    without_shim_env(&mut cmd);
    cmd.args(args).output().expect("run program")
}

fn success(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {:?}\nstderr: {}",
        out.status,
        stderr_of(out)
    );
    assert_eq!(stderr_of(out), "", "{what} printed an error");
    stdout_of(out)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Spec section 2, "Open" item 7: cp probes its target with
/// open(O_PATH|O_DIRECTORY), which must say ENOTDIR for a file; then it
/// opens it O_WRONLY|O_TRUNC and writes. The result equals cp to an
/// ordinary path. A set needs an O_WRONLY member for that open (section 2,
/// step 3): `mode=wo`, or `mode=rw` (which holds one).
#[test]
fn cp_into_a_set_writes_the_member() {
    let d = TempDir::new("rp-cp");
    let src = d.file("src", b"new content\n");
    let ordinary = d.file("ordinary", b"old old old old\n");
    success(&plain("cp", &[s(&src), s(&ordinary)]), "cp to a path");
    assert_eq!(std::fs::read(&ordinary).unwrap(), b"new content\n");
    for modes in [&["wo"][..], &["rw"][..], &["ro", "wo"][..]] {
        let dst = d.file("dst", b"old old old old\n");
        let files: Vec<(u32, &Path, &str)> = modes.iter().map(|m| (1, dst.as_path(), *m)).collect();
        success(
            &run(&files, &["--", "cp", s(&src), "/dev/fdset/1"]),
            "cp to the set",
        );
        assert_eq!(
            std::fs::read(&dst).unwrap(),
            std::fs::read(&ordinary).unwrap(),
            "{modes:?}"
        );
    }
    // With no O_WRONLY member the open is refused, as QEMU refuses it.
    let dst = d.file("dst", b"old\n");
    let out = run(&[(1, &dst, "ro")], &["--", "cp", s(&src), "/dev/fdset/1"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("Permission denied"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(&dst).unwrap(), b"old\n");
}

/// Spec section 8: `ls -l /dev/fdset/1` prints no error (its getxattr /
/// llistxattr calls for ACLs and labels go through a member) and the
/// same line as `ls -l` of the file, apart from the name.
/// A shell's `>` opens `O_WRONLY|O_CREAT|O_TRUNC`; open(2) ignores
/// `O_TRUNC` on a pipe or a device (spec section 2, step 4: what open
/// does to a fresh description, done to the shared one), so `echo >
/// /dev/fdset/1` writes into a pipe member and into `/dev/null` as into
/// their own paths, in preload and in seccomp mode (busybox-free: dash and
/// a static C program). It had failed with EINVAL (ftruncate of a pipe).
#[test]
fn a_shell_redirection_writes_into_a_pipe_or_device_member() {
    use std::io::Read;
    for seccomp in [false, true] {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let mut cmd = fdset_run();
        if seccomp {
            cmd.arg("--seccomp");
        }
        cmd.args([
            "--add-fd",
            "fd=5,set=1",
            "--file",
            "set=2,path=/dev/null,mode=wo",
        ]);
        cmd.args([
            "--",
            "sh",
            "-c",
            "echo through > /dev/fdset/1 && echo gone > /dev/fdset/2 && echo ok",
        ]);
        let writer = std::fs::File::from(std::os::fd::OwnedFd::from(writer));
        inherit_fds(&mut cmd, vec![(writer, 5)]);
        let out = output_within(cmd, std::time::Duration::from_secs(30));
        assert!(
            out.status.success(),
            "seccomp {seccomp}: {}",
            stderr_of(&out)
        );
        assert_eq!(stdout_of(&out), "ok\n", "seccomp {seccomp}");
        let mut got = String::new();
        reader.read_to_string(&mut got).unwrap();
        assert_eq!(got, "through\n", "seccomp {seccomp}");
    }
}

#[test]
fn ls_l_prints_the_files_line_without_error() {
    let d = TempDir::new("rp-ls");
    let f = d.file("f", b"some bytes");
    let want = success(&plain("ls", &["-l", s(&f)]), "ls -l FILE");
    let got = success(
        &run(&[(1, &f, "ro")], &["--", "ls", "-l", "/dev/fdset/1"]),
        "ls -l set",
    );
    assert_eq!(got.replace("/dev/fdset/1", s(&f)), want);
    // -d on the prefix directory: a read-only directory, no error.
    let dir = success(
        &run(&[(1, &f, "ro")], &["--", "ls", "-ld", "/dev/fdset"]),
        "ls -ld",
    );
    assert!(dir.starts_with("dr-xr-xr-x "), "{dir}");
}

/// Spec section 8: realpath, readlink -f and realpath -e walk the path
/// with readlink on each component; the prefix directory and the set path
/// are no links, so the answer is the set path itself.
#[test]
fn realpath_and_readlink_f_return_the_set_path() {
    let d = TempDir::new("rp-realpath");
    let f = d.file("f", b"x");
    for args in [
        &["realpath", "/dev/fdset/1"][..],
        &["realpath", "-e", "/dev/fdset/1"][..],
        &["readlink", "-f", "/dev/fdset/1"][..],
        &["readlink", "-e", "/dev/fdset/1"][..],
    ] {
        let mut a = vec!["--"];
        a.extend_from_slice(args);
        assert_eq!(
            success(&run(&[(1, &f, "ro")], &a), args[0]),
            "/dev/fdset/1\n",
            "{args:?}"
        );
    }
    // A prefix path, and a missing set (realpath -e: it does not exist).
    let out = run(
        &[(1, &f, "ro")],
        &["--prefix", "/run/fdset", "--", "realpath", "/run/fdset/1"],
    );
    assert_eq!(success(&out, "realpath prefix"), "/run/fdset/1\n");
    let out = run(&[(1, &f, "ro")], &["--", "realpath", "-e", "/dev/fdset/2"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("No such file or directory"),
        "{}",
        stderr_of(&out)
    );
    // readlink (no -f) of a set path: not a link, as for the file itself.
    let want = plain("readlink", &[s(&f)]);
    let got = run(&[(1, &f, "ro")], &["--", "readlink", "/dev/fdset/1"]);
    assert_eq!(got.status.code(), want.status.code());
    assert_eq!(stdout_of(&got), "");
}

/// Spec section 8: Python's Path.resolve(strict=True) lstat's every
/// component (the prefix directory answers as a directory) and returns
/// the set path; os.path.realpath and os.path.exists agree.
#[test]
fn python_path_resolve_strict() {
    let d = TempDir::new("rp-py");
    let f = d.file("f", b"x");
    let py = python();
    let script = "from pathlib import Path; import os\n\
                  print(Path('/dev/fdset/1').resolve(strict=True))\n\
                  print(os.path.realpath('/dev/fdset/1', strict=True))\n\
                  print(os.path.isdir('/dev/fdset'), os.path.exists('/dev/fdset/1'))\n";
    let out = run(
        &[(1, &f, "ro")],
        &["--", py.to_str().unwrap(), "-c", script],
    );
    assert_eq!(
        success(&out, "python"),
        "/dev/fdset/1\n/dev/fdset/1\nTrue True\n"
    );
}

/// Spec section 8 with Node: fs.realpathSync (JavaScript, lstat through
/// libuv's statx via syscall()) and fs.realpathSync.native (realpath()).
/// Node is installed by .ci/setup.
#[test]
fn node_realpath_sync() {
    let d = TempDir::new("rp-node");
    let f = d.file("f", b"node reads this");
    let script = "const fs = require('fs');\n\
                  console.log(fs.realpathSync('/dev/fdset/1'));\n\
                  console.log(fs.realpathSync.native('/dev/fdset/1'));\n\
                  console.log(fs.statSync('/dev/fdset').isDirectory());\n\
                  console.log(fs.readFileSync('/dev/fdset/1', 'utf8'));\n";
    let out = run(&[(1, &f, "ro")], &["--", "node", "-e", script]);
    assert_eq!(
        success(&out, "node"),
        "/dev/fdset/1\n/dev/fdset/1\ntrue\nnode reads this\n"
    );
}

/// Spec section 8, io_uring: libuv submits opens and stats through a ring
/// when UV_USE_IO_URING=1, where no hook sees them; FDSET_IO_URING=0 makes
/// io_uring_setup fail with ENOSYS, and libuv falls back to calls the
/// shim answers.
#[test]
fn node_with_io_uring_reads_the_set_under_fdset_io_uring_0() {
    let d = TempDir::new("rp-uring");
    let f = d.file("f", b"through the fallback");
    let script = "const fs = require('fs');\n\
                  fs.promises.stat('/dev/fdset/1').then(st => {\n\
                    console.log(st.size);\n\
                    fs.readFile('/dev/fdset/1', 'utf8', (e, t) => console.log(e ? e.code : t));\n\
                  }, e => console.log(e.code));\n";
    let out = run_env(
        &[(1, &f, "ro")],
        &["--", "node", "-e", script],
        &[("UV_USE_IO_URING", "1"), ("FDSET_IO_URING", "0")],
    );
    assert_eq!(success(&out, "node"), "20\nthrough the fallback\n");
}

/// Spec section 8: names under the prefix that are no set number do not
/// exist for programs that check (test -e, stat, Python's os.path.exists,
/// a vim-style backup name), while open of them stays EINVAL as in QEMU.
#[test]
fn names_that_are_no_set_number_do_not_exist() {
    let d = TempDir::new("rp-names");
    let f = d.file("f", b"x");
    for name in ["/dev/fdset/1~", "/dev/fdset/1-journal", "/dev/fdset/1.zip"] {
        let out = run(&[(1, &f, "ro")], &["--", "test", "-e", name]);
        assert_eq!(out.status.code(), Some(1), "test -e {name}");
        let out = run(&[(1, &f, "ro")], &["--", "stat", name]);
        assert!(
            stderr_of(&out).contains("No such file or directory"),
            "{}",
            stderr_of(&out)
        );
        let py = python();
        let code = format!("import os; print(os.path.exists('{name}'), os.path.lexists('{name}'))");
        let out = run(&[(1, &f, "ro")], &["--", py.to_str().unwrap(), "-c", &code]);
        assert_eq!(success(&out, "python"), "False False\n");
        let out = run(&[(1, &f, "ro")], &["--", "cat", name]);
        assert!(
            stderr_of(&out).contains("Invalid argument"),
            "{}",
            stderr_of(&out)
        );
    }
}

/// Spec section 8: `truncate -s` (open O_WRONLY, then ftruncate) and
/// Python's os.truncate (the truncate() call, through a member that can
/// write) change the file behind the set as on its own path.
#[test]
fn truncate_s_and_os_truncate() {
    let d = TempDir::new("rp-trunc");
    let ordinary = d.file("ordinary", b"0123456789");
    success(
        &plain("truncate", &["-s", "3", s(&ordinary)]),
        "truncate path",
    );
    let f = d.file("f", b"0123456789");
    success(
        &run(
            &[(1, &f, "wo")],
            &["--", "truncate", "-s", "3", "/dev/fdset/1"],
        ),
        "truncate set",
    );
    assert_eq!(
        std::fs::read(&f).unwrap(),
        std::fs::read(&ordinary).unwrap()
    );
    let g = d.file("g", b"0123456789");
    let py = python();
    let out = run(
        &[(1, &g, "rw")],
        &[
            "--",
            py.to_str().unwrap(),
            "-c",
            "import os; os.truncate('/dev/fdset/1', 3)",
        ],
    );
    success(&out, "os.truncate");
    assert_eq!(std::fs::read(&g).unwrap(), b"012");
    // A read-only set: EACCES, the file untouched.
    let out = run(
        &[(1, &g, "ro")],
        &[
            "--",
            py.to_str().unwrap(),
            "-c",
            "import os; os.truncate('/dev/fdset/1', 1)",
        ],
    );
    assert!(
        stderr_of(&out).contains("PermissionError"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(&g).unwrap(), b"012");
}

/// Spec section 8: `touch -d` sets the times through a member: its
/// O_WRONLY|O_CREAT open needs an O_WRONLY member, and when that is
/// refused (mode=ro, mode=rw) touch falls back to utimensat on the path,
/// which the shim answers. The times equal touch's on an ordinary path.
#[test]
fn touch_sets_the_times_of_the_file_behind_the_set() {
    let d = TempDir::new("rp-touch");
    let ordinary = d.file("ordinary", b"x");
    let when = "2001-02-03 04:05:06 UTC";
    success(&plain("touch", &["-d", when, s(&ordinary)]), "touch path");
    let want = std::fs::metadata(&ordinary).unwrap().mtime();
    for mode in ["ro", "wo", "rw"] {
        let f = d.file(&format!("f-{mode}"), b"x");
        success(
            &run(
                &[(1, &f, mode)],
                &["--", "touch", "-d", when, "/dev/fdset/1"],
            ),
            "touch set",
        );
        let m = std::fs::metadata(&f).unwrap();
        assert_eq!((m.mtime(), m.atime()), (want, want), "mode={mode}");
    }
}

/// Spec section 8: df and stat -f answer from the member's file system,
/// as for the file's own path.
#[test]
fn df_and_stat_f_name_the_members_file_system() {
    let d = TempDir::new("rp-df");
    let f = d.file("f", b"x");
    let cols = |text: &str| -> Vec<String> {
        // Filesystem, size and mount point (free space may move between runs).
        text.lines()
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                format!("{} {} {}", w[0], w[1], w[w.len() - 1])
            })
            .collect()
    };
    let want = success(&plain("df", &[s(&f)]), "df path");
    let got = success(
        &run(&[(1, &f, "ro")], &["--", "df", "/dev/fdset/1"]),
        "df set",
    );
    assert_eq!(cols(&got), cols(&want));
    let fmt = "%i %l %t %s %S %b %c";
    let want = success(&plain("stat", &["-f", "-c", fmt, s(&f)]), "stat -f path");
    let got = success(
        &run(
            &[(1, &f, "ro")],
            &["--", "stat", "-f", "-c", fmt, "/dev/fdset/1"],
        ),
        "stat -f set",
    );
    assert_eq!(got, want);
}

/// Spec section 8: the prefix directory, absent on disk, is a read-only
/// directory owned by the effective ids (coreutils' stat, test -d).
#[test]
fn the_prefix_directory_is_a_read_only_directory() {
    assert!(
        !Path::new("/dev/fdset").exists(),
        "/dev/fdset exists on this machine"
    );
    let d = TempDir::new("rp-dir");
    let f = d.file("f", b"x");
    // SAFETY: plain id queries.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let out = run(
        &[(1, &f, "ro")],
        &["--", "stat", "-c", "%a %u %g %F", "/dev/fdset"],
    );
    assert_eq!(
        success(&out, "stat"),
        format!("555 {uid} {gid} directory\n")
    );
    let out = run(&[(1, &f, "ro")], &["--", "test", "-d", "/dev/fdset/"]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&[(1, &f, "ro")], &["--", "test", "-w", "/dev/fdset"]);
    assert_eq!(out.status.code(), Some(1));
}
