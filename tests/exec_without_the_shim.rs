//! Spec section 7: "Nothing of this leaks to a program started without the
//! shim". An environment can name the shim in `LD_PRELOAD` and still start
//! a program the loader never preloads it into: a statically linked
//! program, an environment whose last `LD_PRELOAD` (the one the loader
//! reads) is another, a relative path the loader cannot find from where
//! the program starts. Such a program gets no member and no state; one
//! the loader does preload the shim into gets the sets.
use fdset_testkit::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const DATA: &[u8] = b"only for the shim\n";

/// Lists what the program has open and whether `FDSET_STATE` reached it.
const LIST_FDS: &str = r#"#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char path[64], target[256];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        printf("%s\n", target);
    }
    printf("FDSET_STATE=%s\n", getenv("FDSET_STATE") ? getenv("FDSET_STATE") : "unset");
    return 0;
}
"#;

/// execve(ARGV[1]="/bin/sh", {"sh", "-c", ARGV[2]}) with an environment of
/// PATH and two LD_PRELOAD entries, ARGV[3] then ARGV[4].
const TWO_PRELOADS: &str = r#"#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 5) return 2;
    static char first[4096], last[4096];
    snprintf(first, sizeof first, "LD_PRELOAD=%s", argv[3]);
    snprintf(last, sizeof last, "LD_PRELOAD=%s", argv[4]);
    char *env[] = {"PATH=/usr/bin:/bin", first, last, NULL};
    char *args[] = {"sh", "-c", argv[2], NULL};
    execve(argv[1], args, env);
    perror("execve");
    return 99;
}
"#;

fn compile(d: &TempDir, source: &str, name: &str, flags: &[&str]) -> PathBuf {
    let src = d.file(&format!("{name}.c"), source.as_bytes());
    let out = d.path().join(name);
    let status = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc {name}");
    out
}

/// `program` preloaded, with the data file as set 1's member.
fn with_set(program: impl AsRef<std::ffi::OsStr>, dir: &TempDir) -> Command {
    let f = dir.file("data.txt", DATA);
    let mut cmd = preloaded(program);
    members_of_set_one(&mut cmd, &[(&f, false, true)]);
    cmd
}

fn output(mut cmd: Command) -> String {
    stdout_if_ok(&cmd.output().expect("spawn"))
}

/// Neither a member nor the state memfd nor `FDSET_STATE` in `listing`.
fn got_nothing(listing: &str, what: &str) {
    assert!(
        listing.contains("FDSET_STATE="),
        "{what}: listed nothing: {listing}"
    );
    assert!(
        !listing.contains("data.txt"),
        "{what}: a member leaked: {listing}"
    );
    assert!(
        !listing.contains("fdset-state"),
        "{what}: the state leaked: {listing}"
    );
    assert!(
        listing.contains("FDSET_STATE=unset"),
        "{what}: FDSET_STATE leaked: {listing}"
    );
}

#[test]
fn a_static_program_gets_no_member_and_no_state() {
    let dir = TempDir::new("exec-static");
    let prog = compile(&dir, LIST_FDS, "list-fds-static", &["-static", "-O1"]);
    let p = prog.display();
    // Exec in place, fork+exec by the shell, and posix_spawn (env runs it
    // with execvp after the shell's fork: one more exec in place).
    for script in [
        format!("exec {p}"),
        format!("{p}; true"),
        format!("env {p}"),
    ] {
        let mut cmd = with_set("sh", &dir);
        cmd.args(["-c", &script]);
        got_nothing(&output(cmd), &script);
    }
    // The same program linked dynamically loads the shim and gets the sets.
    let dynamic = compile(&dir, LIST_FDS, "list-fds", &["-O1"]);
    let mut cmd = with_set("sh", &dir);
    cmd.args(["-c", &format!("exec {}", dynamic.display())]);
    let listing = output(cmd);
    assert!(
        listing.contains("data.txt"),
        "the member reaches a dynamic program: {listing}"
    );
}

#[test]
fn the_last_ld_preload_of_an_environment_is_the_one_that_counts() {
    let dir = TempDir::new("exec-two-preloads");
    let two = compile(&dir, TWO_PRELOADS, "two-preloads", &["-O1"]);
    let shim = shim_lib();
    let other = dir.path().join("not-a-library.so");
    let script = "cat /dev/fdset/1; for f in /proc/self/fd/*; do readlink $f; done; \
                  echo FDSET_STATE=${FDSET_STATE:-unset}";
    let run = |first: &Path, last: &Path| {
        let mut cmd = with_set(&two, &dir);
        cmd.arg("/bin/sh").arg(script).arg(first).arg(last);
        let out = cmd.output().expect("spawn");
        stdout_of(&out)
    };
    // The loader preloads the last entry: the shim, which gets the sets.
    let listing = run(&other, &shim);
    assert!(
        listing.starts_with(std::str::from_utf8(DATA).unwrap()),
        "shim last: the set opens: {listing}"
    );
    // The shim first, something else last: the loader never loads the shim.
    got_nothing(&run(&shim, &other), "shim first");
}

#[test]
fn a_relative_ld_preload_the_loader_cannot_find_gets_nothing() {
    let dir = TempDir::new("exec-relative-preload");
    let shim = shim_lib();
    let (shim_dir, name) = (shim.parent().unwrap(), shim.file_name().unwrap());
    let relative = Path::new(".").join(name);
    let list =
        "for f in /proc/self/fd/*; do readlink $f; done; echo FDSET_STATE=${FDSET_STATE:-unset}";
    let run = |script: String| {
        let mut cmd = with_set("sh", &dir);
        cmd.current_dir(shim_dir).env("LD_PRELOAD", &relative);
        cmd.args(["-c", &script]);
        output(cmd)
    };
    // From the shim's folder the relative path resolves: the sets go along.
    let here = run(format!("exec sh -c 'cat /dev/fdset/1; {list}'"));
    assert!(
        here.starts_with(std::str::from_utf8(DATA).unwrap()),
        "where the path resolves: {here}"
    );
    // From / it does not: the loader skips it, and nothing leaks.
    got_nothing(&run(format!("cd /; exec sh -c '{list}'")), "from /");
}

/// README "Not supported, and why": `valgrind PROG` gets no sets in PROG
/// (valgrind's launcher, preloaded, execs its statically linked tool,
/// into which nothing is carried, and the tool starts PROG); the tool
/// started directly as the README shows preloads the shim into PROG
/// alone, which reads the set.
#[test]
fn valgrind_tool_started_directly_serves_the_sets_where_the_launcher_does_not() {
    let dir = TempDir::new("exec-valgrind");
    let f = dir.file("disk.img", DATA);
    let tool = Path::new("/usr/libexec/valgrind/none-amd64-linux");
    assert!(
        tool.exists(),
        "{} is missing (valgrind is installed by .ci/setup)",
        tool.display()
    );
    let direct = {
        let mut cmd = preloaded(tool);
        cmd.env("VALGRIND_LIB", "/usr/libexec/valgrind")
            .env("VALGRIND_LAUNCHER", "/usr/bin/valgrind")
            .arg("-q")
            .arg(c_test("smoke_read"))
            .arg("/dev/fdset/1");
        members_of_set_one(&mut cmd, &[(&f, false, true)]);
        cmd.output().expect("run valgrind's tool")
    };
    assert!(direct.status.success(), "{}", stderr_of(&direct));
    assert_eq!(direct.stdout, DATA);
    let launched = {
        let mut cmd = preloaded("valgrind");
        cmd.args(["-q", "--tool=none"])
            .arg(c_test("smoke_read"))
            .arg("/dev/fdset/1");
        members_of_set_one(&mut cmd, &[(&f, false, true)]);
        cmd.output().expect("run valgrind")
    };
    assert!(!launched.status.success(), "{}", stdout_of(&launched));
    assert!(
        stderr_of(&launched).contains("No such file or directory"),
        "{}",
        stderr_of(&launched)
    );
}
