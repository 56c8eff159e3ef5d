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

/// A valgrind tool is statically linked, yet it loads the program it checks
/// with glibc's loader in its own process, `LD_PRELOAD` honoured: the sets
/// are carried into it, and the program reads them, whether valgrind's
/// launcher (preloaded, it takes the sets and execs the tool) or the tool
/// itself is started, and under fdset-run. The program's output is the
/// same as when it reads the file by its path under valgrind.
#[test]
fn a_program_under_valgrind_reads_its_set() {
    let dir = TempDir::new("exec-valgrind");
    let f = dir.file("disk.img", DATA);
    let tool = Path::new("/usr/libexec/valgrind/memcheck-amd64-linux");
    assert!(
        tool.exists(),
        "{} is missing (valgrind is installed by .ci/setup)",
        tool.display()
    );
    let by_path = Command::new("valgrind")
        .args(["-q", "--error-exitcode=9"])
        .arg(c_test("smoke_read"))
        .arg(&f)
        .output()
        .expect("run valgrind");
    assert!(by_path.status.success(), "{}", stderr_of(&by_path));
    assert_eq!(by_path.stdout, DATA);
    let direct = {
        let mut cmd = preloaded(tool);
        cmd.env("VALGRIND_LIB", "/usr/libexec/valgrind")
            .env("VALGRIND_LAUNCHER", "/usr/bin/valgrind")
            .args(["-q", "--error-exitcode=9"])
            .arg(c_test("smoke_read"))
            .arg("/dev/fdset/1");
        members_of_set_one(&mut cmd, &[(&f, false, true)]);
        cmd.output().expect("run valgrind's tool")
    };
    let launched = {
        let mut cmd = preloaded("valgrind");
        cmd.args(["-q", "--error-exitcode=9"])
            .arg(c_test("smoke_read"))
            .arg("/dev/fdset/1");
        members_of_set_one(&mut cmd, &[(&f, false, true)]);
        cmd.output().expect("run valgrind")
    };
    let under_fdset_run = fdset_run()
        .arg("--file")
        .arg(format!("set=1,path={}", f.display()))
        .args(["--", "valgrind", "-q", "--error-exitcode=9"])
        .arg(c_test("smoke_read"))
        .arg("/dev/fdset/1")
        .output()
        .expect("run fdset-run");
    // fdset-run judges the tool as the shim does: preloaded, not served
    // with seccomp (which would print its notice on stderr).
    let tool_under_fdset_run = fdset_run()
        .env("VALGRIND_LIB", "/usr/libexec/valgrind")
        .env("VALGRIND_LAUNCHER", "/usr/bin/valgrind")
        .arg("--file")
        .arg(format!("set=1,path={}", f.display()))
        .arg("--")
        .arg(tool)
        .args(["-q", "--error-exitcode=9"])
        .arg(c_test("smoke_read"))
        .arg("/dev/fdset/1")
        .output()
        .expect("run fdset-run");
    assert!(
        !stderr_of(&tool_under_fdset_run).contains("seccomp"),
        "{}",
        stderr_of(&tool_under_fdset_run)
    );
    for (how, out) in [
        ("fdset-run -- the tool", tool_under_fdset_run),
        ("the tool started directly", direct),
        ("valgrind's launcher", launched),
        ("fdset-run -- valgrind", under_fdset_run),
    ] {
        assert!(out.status.success(), "{how}: {}", stderr_of(&out));
        assert_eq!(out.stdout, by_path.stdout, "{how}");
    }
}

/// What makes a static program a valgrind tool the sets are carried into:
/// its name, `TOOL-amd64-linux` on x86-64, next to
/// `vgpreload_core-amd64-linux.so`.
/// A static program named like a tool for another platform (whose program
/// is one the shim cannot load into), or without the tool's preload
/// beside it, gets nothing, as any static program.
#[test]
fn only_a_valgrind_tool_of_this_platform_is_taken_for_one() {
    // Valgrind's names for this platform and for the 32-bit one beside it.
    let (here, other) = if cfg!(target_arch = "aarch64") {
        ("arm64-linux", "arm-linux")
    } else {
        ("amd64-linux", "x86-linux")
    };
    let core = |platform: &str| format!("vgpreload_core-{platform}.so");
    let dir = TempDir::new("exec-valgrind-name");
    let prog = compile(&dir, LIST_FDS, "list-fds-static", &["-static", "-O1"]);
    let place = |folder: &str, name: &str, preload: Option<&str>| {
        let d = dir.path().join(folder);
        std::fs::create_dir_all(&d).unwrap();
        let tool = d.join(name);
        std::fs::copy(&prog, &tool).unwrap();
        if let Some(p) = preload {
            std::fs::write(d.join(p), b"").unwrap();
        }
        tool
    };
    let listing = |tool: &Path| {
        let mut cmd = with_set("sh", &dir);
        cmd.args(["-c", &format!("exec {}", tool.display())]);
        output(cmd)
    };
    let taken = place("a", &format!("none-{here}"), Some(&core(here)));
    let listed = listing(&taken);
    assert!(
        listed.contains("data.txt") && listed.contains("fdset-state"),
        "a tool of this platform gets the member and the state: {listed}"
    );
    let other = place("b", &format!("none-{other}"), Some(&core(other)));
    got_nothing(&listing(&other), "a tool of another platform");
    let alone = place("c", &format!("none-{here}"), None);
    got_nothing(&listing(&alone), "no vgpreload_core beside it");
    let no_tool = place("d", &format!("-{here}"), Some(&core(here)));
    got_nothing(&listing(&no_tool), "no tool name");
}
