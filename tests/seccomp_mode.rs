//! fdset-run's seccomp mode (spec section 9): programs LD_PRELOAD cannot
//! reach (a `gcc -static` C program, a musl-static one, busybox-static, Go
//! with and without cgo, raw `syscall(SYS_openat)` from a dynamic program)
//! read, write and stat sets served from outside them, each compared with
//! the same program on the ordinary path; the refcount across the tree
//! (fork, exit, exec); `--qmp` into a running Go program; ordinary paths
//! unchanged.
//!
//! Needs `golang-go` and `musl-tools` (`.ci/setup` installs them) and, for
//! busybox, `apt-get download` from Debian's archive (cached under target/).

use fdset_testkit::qmp::{Program, Qmp};
use fdset_testkit::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

fn run_out(cmd: Command) -> Output {
    output_within(cmd, LIMIT)
}

/// `target/`, for caches that outlive a test run (Go's build cache, the
/// unpacked busybox package).
fn target_dir() -> PathBuf {
    profile_dir().parent().expect("target/").to_path_buf()
}

/// The process fdset-run started (its only child).
fn program_pid(launcher: u32) -> u32 {
    let start = Instant::now();
    loop {
        let mut kids = Vec::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{launcher}/task")) {
            for t in dir.flatten() {
                if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                    kids.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
                }
            }
        }
        if let Some(&k) = kids.first() {
            return k;
        }
        assert!(start.elapsed() < LIMIT, "fdset-run {launcher} has no child");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What descriptors of process `pid` refer to.
fn fd_targets(pid: u32) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in dir.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                v.push(t.to_string_lossy().into_owned());
            }
        }
    }
    v
}

fn holds(pid: u32, file: &Path) -> bool {
    let f = file.to_string_lossy();
    fd_targets(pid).iter().any(|t| *t == f)
}

/// `fdset-run [--seccomp] --file set=S,path=P,mode=M ... -- PROGRAM ARGS`.
fn launcher(seccomp: bool, files: &[(u32, &Path, &str)], program: &Path, args: &[&str]) -> Command {
    let mut cmd = fdset_run();
    if seccomp {
        cmd.arg("--seccomp");
    }
    for (set, path, mode) in files {
        cmd.arg("--file").arg(file_arg(*set, path, mode));
    }
    cmd.arg("--").arg(program).args(args);
    cmd
}

/// The same command lines against a set path and against the file itself
/// give the same answers (descriptor numbers included).
fn same_answers(
    set_side: &mut Program,
    file_side: &mut Program,
    set_path: &str,
    file: &Path,
    steps: &[&str],
) -> Vec<String> {
    let file = file.to_string_lossy();
    let mut answers = Vec::new();
    for step in steps {
        let a = set_side.step(&step.replace("@", set_path));
        let b = file_side.step(&step.replace("@", &file));
        assert_eq!(a, b, "{step}: set path vs the file");
        answers.push(a);
    }
    answers
}

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
    let answers = same_answers(&mut served, &mut plain, "/dev/fdset/1", &direct, &steps);
    assert_eq!(answers[0], "stat mode=100644 size=18 nlink=1");
    assert_eq!(answers[2], "statx mode=100644 size=18");
    assert_eq!(answers[6], "data first line|second|");
    assert_eq!(answers[10], "data replaced");
    assert_eq!(answers[19], "data replaced+more");
    assert_eq!(std::fs::read_to_string(&via_set).unwrap(), "replaced+more");
    // The other path calls of section 8, through a member.
    let answers = same_answers(
        &mut served,
        &mut plain,
        "/dev/fdset/1",
        &direct,
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
    assert_eq!(std::fs::read_to_string(&via_set).unwrap(), "repla");
    // The members stay fdset-run's: the program holds no copy of them.
    let pid = program_pid(served.pid());
    assert!(
        !holds(pid, &via_set),
        "the program holds a member: {:?}",
        fd_targets(pid)
    );
    assert!(holds(served.pid(), &via_set));
    // Section 8 for set paths, and what differs from a real file.
    assert_eq!(
        served.step("readlink /dev/fdset/1"),
        format!("err {}", libc::EINVAL)
    );
    assert_eq!(
        served.step("open /dev/fdset/1x r"),
        format!("err {}", libc::EINVAL)
    );
    assert_eq!(
        served.step("stat /dev/fdset/1x"),
        format!("err {}", libc::ENOENT)
    );
    assert_eq!(
        served.step("open /dev/fdset/9 r"),
        format!("err {}", libc::ENOENT)
    );
    assert_eq!(
        served.step("open /dev/fdset/1 rd"),
        format!("err {}", libc::ENOTDIR)
    );
    assert_eq!(
        served.step("stat /dev/fdset"),
        "stat mode=40555 size=0 nlink=2"
    );
    assert_eq!(
        served.step("access /dev/fdset/1 x"),
        format!("err {}", libc::EACCES)
    );
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

#[test]
fn gcc_static_program_reads_writes_and_stats_a_set_as_its_file() {
    step_program_serves_a_set(&c_test("seccomp_step"), &[]);
}

#[test]
fn a_static_program_is_switched_to_seccomp_mode_with_a_note() {
    let dir = TempDir::new("seccomp-auto");
    let f = dir.file("f.txt", b"auto\n");
    let mut cmd = launcher(false, &[(2, &f, "ro")], &c_test("seccomp_step"), &[]);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"open /dev/fdset/2 r\nread 3\nexit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "main\nfd 3\ndata auto|\n");
    let err = stderr_of(&out);
    assert!(
        err.contains("cannot be preloaded with the shim, because it is statically linked")
            && err.contains("serving its sets from outside it with seccomp"),
        "{err}"
    );
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

// ------------------------------------------------------------ Go

const GO_MAIN: &str = r#"package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

func errno(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return fmt.Sprintf("err %d", int(e))
	}
	return "err " + err.Error()
}

func run(cmd string, args []string) string {
	switch cmd {
	case "read":
		b, err := os.ReadFile(args[0])
		if err != nil {
			return errno(err)
		}
		return "data " + strings.ReplaceAll(string(b), "\n", "|")
	case "write":
		f, err := os.OpenFile(args[0], os.O_RDWR|os.O_TRUNC, 0)
		if err != nil {
			return errno(err)
		}
		n, err := f.WriteString(args[1])
		if err != nil {
			return errno(err)
		}
		if err := f.Close(); err != nil {
			return errno(err)
		}
		return fmt.Sprintf("wrote %d", n)
	case "stat":
		fi, err := os.Stat(args[0])
		if err != nil {
			return errno(err)
		}
		return fmt.Sprintf("stat size=%d mode=%v", fi.Size(), fi.Mode())
	}
	return "unknown command"
}

func main() {
	if len(os.Args) > 2 {
		fmt.Println(run(os.Args[1], os.Args[2:]))
		return
	}
	fmt.Println("main")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "exit" {
			fmt.Println("")
			return
		}
		fmt.Println(run(f[0], f[1:]))
	}
}
"#;

const GO_CGO: &str = "package main\n\n// #include <unistd.h>\nimport \"C\"\n\nvar _ = C.getpid\n";

/// The Go program above, built with `go build` (cgo: linked to glibc, yet
/// its file calls are Go's own system calls).
fn go_program(dir: &TempDir, cgo: bool) -> PathBuf {
    std::fs::write(dir.path().join("main.go"), GO_MAIN).unwrap();
    let out = dir.path().join(if cgo { "prog-cgo" } else { "prog" });
    let mut c = Command::new("go");
    c.arg("build").arg("-o").arg(&out).arg("main.go");
    if cgo {
        std::fs::write(dir.path().join("cgo.go"), GO_CGO).unwrap();
        c.arg("cgo.go");
    }
    c.current_dir(dir.path())
        .env("CGO_ENABLED", if cgo { "1" } else { "0" })
        .env("GOCACHE", target_dir().join("go-cache"))
        .env("GOPATH", target_dir().join("go-path"))
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "");
    let built = run_out(c);
    assert!(
        built.status.success(),
        "go build (apt install golang-go): {}",
        stderr_of(&built)
    );
    out
}

fn go_program_reads_writes_and_stats_a_set(cgo: bool) {
    let dir = TempDir::new("seccomp-go");
    let prog = go_program(&dir, cgo);
    let via_set = dir.file("via-set.txt", b"go content\n");
    let direct = dir.file("direct.txt", b"go content\n");
    // Automatic: fdset-run sees a Go program.
    let mut served = Program::spawn(launcher(false, &[(4, &via_set, "rw")], &prog, &[]));
    let mut plain = Program::spawn(Command::new(&prog));
    let answers = same_answers(
        &mut served,
        &mut plain,
        "/dev/fdset/4",
        &direct,
        &["stat @", "read @", "write @ rewritten", "read @", "stat @"],
    );
    assert_eq!(answers[1], "data go content|");
    assert_eq!(answers[3], "data rewritten");
    assert_eq!(std::fs::read(&via_set).unwrap(), b"rewritten");
    assert_eq!(
        served.step("read /dev/fdset/5"),
        format!("err {}", libc::ENOENT)
    );
    assert_eq!(served.step("exit"), "");
    assert_eq!(plain.step("exit"), "");
}

#[test]
fn go_program_reads_writes_and_stats_a_set_as_its_file() {
    go_program_reads_writes_and_stats_a_set(false);
}

#[test]
fn go_program_with_cgo_reads_writes_and_stats_a_set_as_its_file() {
    go_program_reads_writes_and_stats_a_set(true);
}

#[test]
fn qmp_adds_a_set_to_a_running_go_program() {
    let dir = TempDir::new("seccomp-go-qmp");
    let prog = go_program(&dir, false);
    let sock = dir.path().join("qmp.sock");
    let added = dir.file("added.txt", b"added at run time\n");
    let mut cmd = fdset_run();
    cmd.arg("--seccomp")
        .arg("--qmp")
        .arg(&sock)
        .arg("--")
        .arg(&prog);
    let mut p = Program::spawn(cmd);
    assert_eq!(p.step("read /dev/fdset/7"), format!("err {}", libc::ENOENT));
    let mut q = Qmp::ready(&sock);
    let file = std::fs::File::open(&added).unwrap();
    let r = q.add_fd(&file, json!({"fdset-id": 7, "opaque": "late"}));
    assert_eq!(r["return"]["fdset-id"], 7, "{r}");
    drop(file);
    assert_eq!(p.step("read /dev/fdset/7"), "data added at run time|");
    assert_eq!(p.step("stat /dev/fdset/7"), "stat size=18 mode=-rw-r--r--");
    // fdset-ctl drives the same server.
    let ctl = run_out({
        let mut c = Command::new(bin("fdset-ctl"));
        c.arg("--socket")
            .arg(&sock)
            .arg("query-fdsets")
            .arg("--json");
        c
    });
    assert!(ctl.status.success(), "{}", stderr_of(&ctl));
    let v: Value = serde_json::from_str(stdout_of(&ctl).trim()).unwrap();
    assert_eq!(v[0]["fdset-id"], 7, "{v}");
    assert_eq!(v[0]["fds"][0]["opaque"], "late", "{v}");
    let r = q.exec("remove-fd", json!({"fdset-id": 7}));
    assert_eq!(r, json!({"return": {}}));
    assert_eq!(p.step("read /dev/fdset/7"), format!("err {}", libc::ENOENT));
    assert_eq!(p.step("exit"), "");
    drop(q);
    let st = p.child.wait().unwrap();
    assert!(st.success(), "{st:?}");
    assert!(!sock.exists(), "the --qmp socket is removed at the end");
}

// ------------------------------------------------------------ refcount

/// `query-fdsets`, as set id -> visible member count.
fn sets(q: &mut Qmp) -> Vec<(u64, usize)> {
    let r = q.exec("query-fdsets", json!({}));
    r["return"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|s| {
            (
                s["fdset-id"].as_u64().unwrap(),
                s["fds"].as_array().unwrap().len(),
            )
        })
        .collect()
}

fn wait_gone(pid: u32) {
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
    {
        assert!(start.elapsed() < LIMIT, "process {pid} did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A static program under `--qmp`, set 1 = `file` (read-only).
fn served_with_qmp(dir: &TempDir, file: &Path) -> (Program, Qmp) {
    let sock = dir.path().join("qmp.sock");
    let mut cmd = fdset_run();
    cmd.arg("--qmp")
        .arg(&sock)
        .arg("--file")
        .arg(file_arg(1, file, "ro"))
        .arg("--")
        .arg(c_test("seccomp_step"));
    let p = Program::spawn(cmd);
    let q = Qmp::ready(&sock);
    (p, q)
}

#[test]
fn removed_member_is_closed_only_when_no_process_of_the_tree_holds_a_dup() {
    let dir = TempDir::new("seccomp-refcount");
    let file = dir.file("member.txt", b"counted\n");
    let (mut p, mut q) = served_with_qmp(&dir, &file);
    let launcher_pid = p.pid();
    assert_eq!(p.step("open /dev/fdset/1 r"), "fd 3");
    // A forked child holds a copy of the dup that no call of it showed.
    let child: u32 = p
        .step("fork-hold")
        .strip_prefix("child ")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(p.step("close 3"), "ok");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    // Removed, but the child's dup keeps it: listed with no visible member,
    // and fdset-run still holds the member.
    assert_eq!(sets(&mut q), vec![(1, 0)]);
    assert!(
        holds(launcher_pid, &file),
        "the member was closed while the child held a dup"
    );
    assert_eq!(
        p.step("open /dev/fdset/1 r"),
        format!("err {}", libc::EACCES)
    );
    // The child's exit closes its dups: now the member goes.
    // SAFETY: plain kill of the test's own grandchild.
    unsafe { libc::kill(child as i32, libc::SIGTERM) };
    wait_gone(child);
    let start = Instant::now();
    while holds(launcher_pid, &file) {
        assert!(
            start.elapsed() < LIMIT,
            "the member stayed open after the last dup ended"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sets(&mut q), vec![]);
    assert_eq!(
        p.step("open /dev/fdset/1 r"),
        format!("err {}", libc::ENOENT)
    );
    assert_eq!(p.step("exit"), "");
}

#[test]
fn two_processes_with_a_dup_at_the_same_number_are_each_counted_once() {
    let dir = TempDir::new("seccomp-siblings");
    let file = dir.file("member.txt", b"twice\n");
    let (mut p, mut q) = served_with_qmp(&dir, &file);
    // The child exists before the parent's open, so it holds no copy; its
    // own open then gets the same number 3 for the same member.
    let child: u32 = p
        .step("forkopen /dev/fdset/1")
        .strip_prefix("child ")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(p.step("open /dev/fdset/1 r"), "fd 3");
    // SAFETY: plain kill of the test's own grandchild.
    unsafe { libc::kill(child as i32, libc::SIGUSR1) };
    assert_eq!(p.line(), "child fd 3");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    assert_eq!(p.step("close 3"), "ok");
    assert_eq!(sets(&mut q), vec![(1, 0)], "the child's dup counts");
    // SAFETY: as above.
    unsafe { libc::kill(child as i32, libc::SIGTERM) };
    wait_gone(child);
    let start = Instant::now();
    while holds(p.pid(), &file) {
        assert!(
            start.elapsed() < LIMIT,
            "a dup was counted twice: the member stays"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sets(&mut q), vec![]);
    assert_eq!(p.step("exit"), "");
}

#[test]
fn a_child_closing_its_copy_leaves_the_parents_dup_counted() {
    let dir = TempDir::new("seccomp-forkclose");
    let file = dir.file("member.txt", b"kept\n");
    let (mut p, mut q) = served_with_qmp(&dir, &file);
    assert_eq!(p.step("open /dev/fdset/1 r"), "fd 3");
    assert_eq!(p.step("forkclose 3"), "ok");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    assert_eq!(sets(&mut q), vec![(1, 0)], "the parent's dup still counts");
    assert!(holds(p.pid(), &file));
    assert_eq!(p.step("read 3"), "data kept|");
    assert_eq!(p.step("close 3"), "ok");
    assert_eq!(sets(&mut q), vec![]);
    assert!(!holds(p.pid(), &file));
    assert_eq!(p.step("exit"), "");
}

#[test]
fn exec_closes_close_on_exec_dups_and_keeps_the_others() {
    let dir = TempDir::new("seccomp-exec");
    let file = dir.file("member.txt", b"across exec\n");
    let (mut p, mut q) = served_with_qmp(&dir, &file);
    assert_eq!(p.step("open /dev/fdset/1 re"), "fd 3");
    assert_eq!(p.step("open /dev/fdset/1 r"), "fd 4");
    assert_eq!(p.step("fdflags 3"), "flags 0 cloexec 1");
    assert_eq!(p.step("fdflags 4"), "flags 0 cloexec 0");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    assert_eq!(p.step("exec"), "main");
    // fd 3 went with the exec; fd 4 lives on in the new image.
    assert_eq!(p.step("fdflags 3"), format!("err {}", libc::EBADF));
    assert_eq!(p.step("pread 4"), "data across exec|");
    assert_eq!(sets(&mut q), vec![(1, 0)]);
    assert!(holds(p.pid(), &file));
    assert_eq!(p.step("close 4"), "ok");
    assert_eq!(sets(&mut q), vec![]);
    assert!(!holds(p.pid(), &file));
    assert_eq!(p.step("exit"), "");
}

#[test]
fn a_dup2_onto_a_dup_ends_it() {
    let dir = TempDir::new("seccomp-dup2");
    let file = dir.file("member.txt", b"x\n");
    let (mut p, mut q) = served_with_qmp(&dir, &file);
    assert_eq!(p.step("open /dev/fdset/1 r"), "fd 3");
    assert_eq!(p.step("open /proc/self/status r"), "fd 4");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    // dup2 of a number that is not open fails and closes nothing.
    assert_eq!(p.step("dup2 9 3"), format!("err {}", libc::EBADF));
    assert_eq!(sets(&mut q), vec![(1, 0)]);
    assert_eq!(p.step("dup2 4 3"), "ok");
    assert_eq!(sets(&mut q), vec![]);
    assert!(!holds(p.pid(), &file));
    assert_eq!(p.step("exit"), "");
}

// ------------------------------------------------------------ ordinary paths

#[test]
fn ordinary_paths_behave_exactly_as_without_supervision() {
    let dir = TempDir::new("seccomp-ordinary");
    for i in 0..50 {
        dir.file(
            &format!("file_{i}"),
            format!("{}content", (b'a' + (i % 26) as u8) as char).as_bytes(),
        );
    }
    std::os::unix::fs::symlink("file_3", dir.path().join("link")).unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    let prog = c_test("seccomp_step");
    let served = run_out(launcher(true, &[], &prog, &["opens", &d, "1000"]));
    let mut plain = Command::new(&prog);
    plain.args(["opens", &d, "1000"]);
    let plain = run_out(plain);
    assert!(
        served.status.success() && plain.status.success(),
        "{}",
        stderr_of(&served)
    );
    let (a, b) = (stdout_of(&served), stdout_of(&plain));
    assert_eq!(a.lines().count(), 1000);
    for (x, y) in a.lines().zip(b.lines()) {
        assert_eq!(x, y, "supervised vs unsupervised");
    }
    // The answers are the real ones, not a default.
    assert!(
        b.contains(&format!("1 missing fd=-1 errno={}", libc::ENOENT)),
        "{b}"
    );
    assert!(b.contains(&format!("2 dir-for-writing fd=-1 errno={}", libc::EISDIR)));
    assert!(b.contains(&format!("3 excl fd=-1 errno={}", libc::EEXIST)));
    assert!(b.contains("0 open fd=4 errno=0 byte=a close=0"), "{b}");
    assert!(b.contains(&format!("bad-pointer rc=-1 errno={}", libc::EFAULT)));
    assert!(b.contains(&format!("too-long fd=-1 errno={}", libc::ENAMETOOLONG)));
    assert!(b.contains("readlink rc=6 text=file_3"));
}

#[test]
fn a_program_that_cannot_be_run_is_reported_as_env_would() {
    let out = run_out(launcher(true, &[], Path::new("/nonexistent/program"), &[]));
    assert_eq!(out.status.code(), Some(127), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("cannot run /nonexistent/program"),
        "{}",
        stderr_of(&out)
    );
    let dir = TempDir::new("seccomp-noexec");
    let f = dir.file("not-executable", b"data");
    let out = run_out(launcher(true, &[], &f, &[]));
    assert_eq!(out.status.code(), Some(126), "{}", stderr_of(&out));
}

#[test]
fn exit_status_and_signals_are_the_programs() {
    let out = run_out(launcher(true, &[], Path::new("/bin/sh"), &["-c", "exit 7"]));
    assert_eq!(out.status.code(), Some(7), "{}", stderr_of(&out));
    let out = run_out(launcher(
        true,
        &[],
        Path::new("/bin/sh"),
        &["-c", "kill -TERM $$"],
    ));
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        stderr_of(&out)
    );
}
