//! fdset-run's seccomp mode (spec section 9) for programs LD_PRELOAD cannot
//! reach: a `gcc -static` C program, a musl-static one, busybox-static and
//! raw `syscall(SYS_openat)` from a dynamic program read, write and stat
//! sets served from outside them, each compared with the same program on
//! the ordinary path; a static program is switched to seccomp mode with a
//! note; the FDSET_* variables fdset-run inherits are served there too.
//!
//! Needs `musl-tools` (`.ci/setup` installs it) and, for busybox,
//! `apt-get download` from Debian's archive (cached under target/).

use fdset_testkit::qmp::Program;
use fdset_testkit::seccomp::*;
use fdset_testkit::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Reading, writing (mode=rw) and stat'ing set 1 with the program `prog`
/// (stepped as c-tests/seccomp_step.c) under fdset-run, compared with the
/// same program on the file itself, unsupervised.
fn step_program_serves_a_set(prog: &Path, extra: &[&str]) {
    let dir = TempDir::new("seccomp-step");
    let via_set = dir.file("via-set.txt", b"first line\nsecond\n");
    let direct = dir.file("direct.txt", b"first line\nsecond\n");
    let mut cmd = launcher(true, &[(1, &via_set, "rw")], prog, &[]);
    cmd.args(extra);
    let mut served = Program::spawn(cmd);
    let mut plain = Program::spawn(Command::new(prog));
    reads_writes_and_stats_as_the_file(&mut served, &mut plain, &via_set, &direct);
    other_path_calls_as_the_file(&mut served, &mut plain, &via_set, &direct);
    openat2_requests_as_the_file(&mut served, &mut plain, &via_set, &direct);
    // The members stay fdset-run's: the program holds no copy of them.
    let pid = program_pid(served.pid());
    assert!(
        !holds(pid, &via_set),
        "the program holds a member: {:?}",
        fd_targets(pid)
    );
    assert!(holds(served.pid(), &via_set));
    set_paths_answer_as_section_8_says(&mut served);
    // O_PATH: a descriptor of the member's file, not counted as a dup.
    let fd = served.step("open /dev/fdset/1 rp");
    assert_eq!(fd, "fd 3");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/3")).unwrap(),
        via_set
    );
    assert_eq!(served.step("close 3"), "ok");
    assert_eq!(served.step("exit"), "");
    assert_eq!(plain.step("exit"), "");
}

/// Opens, reads, writes and stats of set 1 answer as on the file.
fn reads_writes_and_stats_as_the_file(
    served: &mut Program,
    plain: &mut Program,
    via_set: &Path,
    direct: &Path,
) {
    let steps = [
        "stat @",
        "lstat @",
        "statx @",
        "access @ r",
        "access @ rw",
        "open @ r",
        "read 3",
        "fdflags 3",
        "open @ rwt",
        "write 4 replaced",
        "pread 3",
        "close 4",
        "close 3",
        "open @ rwae",
        "fdflags 3",
        "write 3 +more",
        "close 3",
        "stat @",
        "open @ r",
        "read 3",
        "close 3",
    ];
    let answers = same_answers(served, plain, "/dev/fdset/1", direct, &steps);
    assert_eq!(answers[0], "stat mode=100644 size=18 nlink=1");
    assert_eq!(answers[2], "statx mode=100644 size=18");
    assert_eq!(answers[6], "data first line|second|");
    assert_eq!(answers[10], "data replaced");
    assert_eq!(answers[19], "data replaced+more");
    assert_eq!(std::fs::read_to_string(via_set).unwrap(), "replaced+more");
}

/// The other path calls of section 8, through a member.
fn other_path_calls_as_the_file(
    served: &mut Program,
    plain: &mut Program,
    via_set: &Path,
    direct: &Path,
) {
    let answers = same_answers(
        served,
        plain,
        "/dev/fdset/1",
        direct,
        &[
            "statfs @",
            "truncate @ 5",
            "stat @",
            "touch @ 1000000000",
            "mtime @",
        ],
    );
    assert!(answers[0].starts_with("statfs type="), "{answers:?}");
    assert_eq!(answers[2], "stat mode=100644 size=5 nlink=1");
    assert_eq!(answers[4], "mtime 1000000000");
    assert_eq!(std::fs::read_to_string(via_set).unwrap(), "repla");
}

/// `openat2` (spec section 8: as the libc function): what the kernel
/// refuses before any lookup is refused on a set path too, with its errno,
/// and the file is left as it was: RESOLVE_CACHED (32) with O_TRUNC is
/// EAGAIN, O_PATH with O_RDWR and O_DIRECTORY|O_CREAT are EINVAL.
fn openat2_requests_as_the_file(
    served: &mut Program,
    plain: &mut Program,
    via_set: &Path,
    direct: &Path,
) {
    let answers = same_answers(
        served,
        plain,
        "/dev/fdset/1",
        direct,
        &[
            "open2 @ rwt 32",
            "open2 @ rwp 0",
            "open2 @ rdc 0",
            "open2 @ r 32",
            "read 3",
            "close 3",
        ],
    );
    assert_eq!(answers[0], format!("err {}", libc::EAGAIN));
    assert_eq!(answers[1], format!("err {}", libc::EINVAL));
    assert_eq!(answers[2], format!("err {}", libc::EINVAL));
    assert_eq!(answers[4], "data repla");
    assert_eq!(std::fs::read_to_string(via_set).unwrap(), "repla");
}

/// Section 8 for set paths, and what differs from a real file.
fn set_paths_answer_as_section_8_says(served: &mut Program) {
    for (step, expected) in [
        ("readlink /dev/fdset/1", format!("err {}", libc::EINVAL)),
        ("open /dev/fdset/1x r", format!("err {}", libc::EINVAL)),
        ("stat /dev/fdset/1x", format!("err {}", libc::ENOENT)),
        ("open /dev/fdset/9 r", format!("err {}", libc::ENOENT)),
        ("open /dev/fdset/1 rd", format!("err {}", libc::ENOTDIR)),
        (
            "stat /dev/fdset",
            "stat mode=40555 size=0 nlink=2".to_string(),
        ),
        ("access /dev/fdset/1 x", format!("err {}", libc::EACCES)),
        // The prefix directory as the shim answers it: its parent's
        // times, and no W_OK (mode 0555 for root as well).
        (
            "mtime /dev/fdset",
            format!("mtime {}", std::fs::metadata("/dev").unwrap().mtime()),
        ),
        ("access /dev/fdset w", format!("err {}", libc::EACCES)),
        ("access /dev/fdset x", "ok".to_string()),
    ] {
        assert_eq!(served.step(step), expected, "{step}");
    }
}

#[test]
fn gcc_static_program_reads_writes_and_stats_a_set_as_its_file() {
    step_program_serves_a_set(&c_test("seccomp_step"), &[]);
}

#[test]
fn a_static_program_is_switched_to_seccomp_mode_with_a_note() {
    let dir = TempDir::new("seccomp-auto");
    let f = dir.file("f.txt", b"auto\n");
    let cmd = launcher(false, &[(2, &f, "ro")], &c_test("seccomp_step"), &[]);
    let out = output_with_stdin(cmd, b"open /dev/fdset/2 r\nread 3\nexit\n");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "main\nfd 3\ndata auto|\n");
    let err = stderr_of(&out);
    assert!(
        err.contains("cannot be preloaded with the shim, because it is statically linked")
            && err.contains("serving its sets from outside it with seccomp"),
        "{err}"
    );
}

/// In seccomp mode no shim reads the FDSET_* variables, so fdset-run serves
/// the FDSET_ADD_FD, FDSET_PREFIX and FDSET_ALIAS it was started with
/// itself, as preload mode gives them to the shim (spec section 9: "the
/// same rules as the shim"; section 5: taken out of the program's
/// environment), and refuses the FDSET_CONTROL_FD and FDSET_WAIT=1 that
/// only a shim could act on. Ignored before: the program got ENOENT.
#[test]
fn inherited_settings_are_served_in_seccomp_mode() {
    let dir = TempDir::new("seccomp-inherited");
    let f = dir.file("f.txt", b"given\n");
    let g = dir.file("g.txt", b"inherited\n");
    let mut cmd = launcher(true, &[(1, &f, "ro")], &c_test("seccomp_step"), &[]);
    cmd.env("FDSET_ADD_FD", "fd=7,set=2")
        .env("FDSET_PREFIX", "/run/f")
        .env("FDSET_ALIAS", "/srv/k=1");
    inherit_fds(&mut cmd, vec![(open_for_child(&g, false, true), 7)]);
    let mut served = Program::spawn(cmd);
    assert_eq!(served.step("open /run/f/1 r"), "fd 3");
    assert_eq!(served.step("read 3"), "data given|");
    assert_eq!(served.step("open /srv/k r"), "fd 4");
    assert_eq!(served.step("read 4"), "data given|");
    assert_eq!(served.step("open /dev/fdset/2 r"), "fd 5");
    assert_eq!(served.step("read 5"), "data inherited|");
    let pid = program_pid(served.pid());
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    for var in environ.split(|&b| b == 0) {
        assert!(
            !var.starts_with(b"FDSET_"),
            "the program was given {}",
            String::from_utf8_lossy(var)
        );
    }
    // fd 7 went to fdset-run's registry: the program holds no copy.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/fd/7")).exists(),
        "{:?}",
        fd_targets(pid)
    );
    assert_eq!(served.step("exit"), "");

    for (var, value) in [("FDSET_CONTROL_FD", "5"), ("FDSET_WAIT", "1")] {
        let mut cmd = launcher(true, &[], &c_test("seccomp_step"), &[]);
        // Refused before the program starts: nothing reads a stdin (a
        // written one could meet EPIPE), so the program gets none.
        cmd.env(var, value).stdin(std::process::Stdio::null());
        let out = run_out(cmd);
        assert_eq!(out.status.code(), Some(125), "{var}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).starts_with(&format!("fdset-run: {var}")),
            "{}",
            stderr_of(&out)
        );
        assert_eq!(stdout_of(&out), "", "{var}: the program ran");
    }
}

#[test]
fn raw_syscall_openat_from_a_dynamic_program_is_served_under_seccomp() {
    let dir = TempDir::new("seccomp-raw");
    let f = dir.file("f.txt", b"raw bytes\n");
    let prog = c_test("seccomp_step_dynamic");
    // Preloaded (the default for a glibc program): the shim serves libc's
    // open and libc's syscall(SYS_openat) alike (spec section 8).
    let mut shim = Program::spawn(launcher(false, &[(1, &f, "ro")], &prog, &[]));
    assert_eq!(shim.step("open /dev/fdset/1 r"), "fd 3");
    assert_eq!(shim.step("rawopen /dev/fdset/1 r"), "fd 4");
    assert_eq!(shim.step("exit"), "");
    // --seccomp: both are served, from outside.
    let mut served = Program::spawn(launcher(true, &[(1, &f, "ro")], &prog, &[]));
    assert_eq!(served.step("rawopen /dev/fdset/1 r"), "fd 3");
    assert_eq!(served.step("read 3"), "data raw bytes|");
    assert_eq!(served.step("open /dev/fdset/1 r"), "fd 4");
    assert_eq!(served.step("pread 4"), "data raw bytes|");
    assert_eq!(
        served.step("rawopen /dev/fdset/1 w"),
        format!("err {}", libc::EACCES)
    );
    assert_eq!(served.step("exit"), "");
}

#[test]
fn musl_static_program_reads_writes_and_stats_a_set_as_its_file() {
    let dir = TempDir::new("seccomp-musl");
    let prog = dir.path().join("seccomp_step_musl");
    let src = repo_root().join("c-tests/seccomp_step.c");
    let out = run_out({
        let mut c = Command::new("musl-gcc");
        c.args(["-static", "-O2", "-D_GNU_SOURCE", "-o"])
            .arg(&prog)
            .arg(&src);
        c
    });
    assert!(
        out.status.success(),
        "musl-gcc (apt install musl-tools): {}",
        stderr_of(&out)
    );
    let interp = Command::new("file").arg(&prog).output();
    if let Ok(o) = interp {
        assert!(
            stdout_of(&o).contains("statically linked"),
            "{}",
            stdout_of(&o)
        );
    }
    step_program_serves_a_set(&prog, &[]);
}

// ------------------------------------------------------------ busybox

/// busybox-static from Debian's archive, unpacked once under target/.
fn busybox() -> PathBuf {
    static BB: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BB.get_or_init(|| {
        let cache = target_dir().join("busybox-static");
        let bin = cache.join("root/bin/busybox");
        if bin.exists() {
            return bin;
        }
        std::fs::create_dir_all(&cache).unwrap();
        let out = run_out({
            let mut c = Command::new("apt-get");
            c.args(["download", "busybox-static"]).current_dir(&cache);
            c
        });
        assert!(
            out.status.success(),
            "apt-get download busybox-static: {}",
            stderr_of(&out)
        );
        let deb = std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .expect("the downloaded .deb");
        let out = run_out({
            let mut c = Command::new("dpkg");
            c.arg("-x").arg(&deb).arg(cache.join("root"));
            c
        });
        assert!(out.status.success(), "dpkg -x: {}", stderr_of(&out));
        assert!(bin.exists());
        bin
    })
    .clone()
}

#[test]
fn busybox_static_cats_stats_and_writes_a_set_as_its_file() {
    let bb = busybox();
    let dir = TempDir::new("seccomp-busybox");
    let content = b"line one\nline two\n";
    let via_set = dir.file("via-set.txt", content);
    let direct = dir.file("direct.txt", content);
    // Set 1 reads (and writes read-write), set 2 is the same file for
    // O_WRONLY opens (a shell's `>`), as a member serves only its own mode.
    let files = [(1, via_set.as_path(), "rw"), (2, via_set.as_path(), "wo")];
    let both = |args: &[&str]| -> (Output, Output) {
        let set_args: Vec<String> = args
            .iter()
            .map(|a| a.replace('@', "/dev/fdset/1").replace('^', "/dev/fdset/2"))
            .collect();
        let set_args: Vec<&str> = set_args.iter().map(String::as_str).collect();
        let served = run_out(launcher(false, &files, &bb, &set_args));
        let d = direct.to_string_lossy();
        let file_args: Vec<String> = args.iter().map(|a| a.replace(['@', '^'], &d)).collect();
        let mut plain = Command::new(&bb);
        plain.args(&file_args);
        (served, run_out(plain))
    };
    for args in [
        &["cat", "@"][..],
        &["wc", "-c", "@"],
        &["stat", "-c", "%s %a %F", "@"],
        &["head", "-n", "1", "@"],
        &["test", "-r", "@"],
        &["sh", "-c", "echo replaced > ^; cat @"],
        &["sh", "-c", "echo more >> ^; cat @"],
        &["md5sum", "@"],
    ] {
        let (served, plain) = both(args);
        assert_eq!(
            served.status.code(),
            plain.status.code(),
            "busybox {args:?}: {}",
            stderr_of(&served)
        );
        let d = direct.to_string_lossy();
        assert_eq!(
            stdout_of(&served),
            stdout_of(&plain).replace(&*d, "/dev/fdset/1"),
            "busybox {args:?}: {}",
            stderr_of(&served)
        );
        assert!(
            stderr_of(&served).contains("because it is statically linked"),
            "{}",
            stderr_of(&served)
        );
    }
    assert_eq!(std::fs::read(&via_set).unwrap(), b"replaced\nmore\n");
    assert_eq!(std::fs::read(&direct).unwrap(), b"replaced\nmore\n");
}

/// Spec section 8, "as the kernel would answer for the member's file", and
/// section 9, "the same rules as the shim" (which makes these calls in the
/// program itself): a process of the tree that dropped to `nobody` may not
/// set the times of root's file nor open it with O_NOATIME (EPERM), though
/// fdset-run, which makes the calls through the member, is root. Compared
/// with the same program as `nobody` on the file itself.
#[test]
fn calls_through_a_member_are_made_with_the_callers_rights() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("seccomp-rights");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.file("roots.txt", b"root's\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let prog = c_test("seccomp_step");
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    // Also as root of its own user namespace (`unshare -r`): capabilities
    // there grant nothing over root's file.
    for own_namespace in [&[][..], &["unshare", "-r", "--"][..]] {
        let mut args: Vec<&str> = nobody.to_vec();
        args.extend(own_namespace);
        args.push(prog.to_str().unwrap());
        times_and_noatime_as_the_caller(&file, &args);
    }
}

/// The steps of [`calls_through_a_member_are_made_with_the_callers_rights`]
/// for `setpriv ARGS`, through set 1 and on the file itself.
fn times_and_noatime_as_the_caller(file: &Path, args: &[&str]) {
    let mtime = std::fs::metadata(file).unwrap().mtime();
    let mut served = Program::spawn(launcher(
        true,
        &[(1, file, "ro")],
        Path::new("setpriv"),
        args,
    ));
    let mut plain_cmd = Command::new("setpriv");
    plain_cmd.args(args);
    let mut plain = Program::spawn(plain_cmd);
    let answers = same_answers(
        &mut served,
        &mut plain,
        "/dev/fdset/1",
        file,
        &[
            "touch @ 1000000000",
            "open @ rn",
            "open @ r",
            "read 3",
            "close 3",
        ],
    );
    assert_eq!(answers[0], format!("err {}", libc::EPERM), "{args:?}");
    assert_eq!(answers[1], format!("err {}", libc::EPERM), "{args:?}");
    assert_eq!(answers[3], "data root's|");
    assert_eq!(std::fs::metadata(file).unwrap().mtime(), mtime);
    assert_eq!(served.step("exit"), "");
    assert_eq!(plain.step("exit"), "");
}

/// The same rule run by an unprivileged fdset-run: a process of the tree
/// that is root of its own user namespace (`unshare -r`) lists and reads a
/// set as on the file (before, fdset-run tried to take credentials it could
/// not, could not give them back, and stopped: every call of the tree then
/// failed with ENOSYS).
#[test]
fn an_unprivileged_fdset_run_serves_a_process_in_its_own_user_namespace() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("seccomp-userns");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.file("theirs.txt", b"u\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = Command::new("setpriv");
    without_shim_env(&mut cmd);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin("fdset-run"))
        .args(["--seccomp", "--file"])
        .arg(file_arg(1, &file, "ro"))
        .args(["--", "unshare", "-r", "sh", "-c"])
        .arg("ls -l /dev/fdset/1 >/dev/null && cat /dev/fdset/1");
    let out = run_out(cmd);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "u\n");
}
