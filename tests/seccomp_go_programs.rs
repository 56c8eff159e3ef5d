//! fdset-run's seccomp mode (spec section 9) for Go programs, with and
//! without cgo (linked to glibc, yet their file calls are Go's own system
//! calls): they read, write and stat sets served from outside them, each
//! compared with the same program on the ordinary path; `--qmp` adds a set
//! to a running Go program.
//!
//! Needs `golang-go` (`.ci/setup` installs it).

use fdset_testkit::qmp::{Program, Qmp};
use fdset_testkit::seccomp::*;
use fdset_testkit::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

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
