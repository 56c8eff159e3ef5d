//! Sets that follow the program across fork and exec (spec section 7).
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::process::Command;

const DATA: &[u8] = b"carried across exec\n";

/// `program` preloaded with `data` at fd 3 and FDSET_ADD_FD=fd=3,set=1.
fn with_set(program: impl AsRef<std::ffi::OsStr>, dir: &TempDir, data: &[u8]) -> Command {
    let f = dir.file("data.txt", data);
    let mut cmd = preloaded(program);
    cmd.env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
    cmd
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        stderr_of(&out)
    );
    stdout_of(&out)
}

fn text() -> String {
    String::from_utf8_lossy(DATA).into_owned()
}

/// spec 7 "exec in a forked child": every libc path that starts a program.
/// Spec 6, errno preserved on success: each start that succeeds leaves
/// errno as it was (`c-tests/exec_paths.c` exits 93 otherwise).
#[test]
fn every_fork_and_spawn_path_carries_the_sets() {
    let methods = [
        "fork-execve",
        "fork-execv",
        "fork-execvp",
        "fork-execvpe",
        "fork-execl",
        "fork-execle",
        "fork-execlp",
        "fork-execl_many",
        "fork-fexecve",
        "fork-execveat",
        "vfork",
        "clone",
        "posix_spawn",
        "posix_spawnp",
        "system",
        "popen",
    ];
    for m in methods {
        let dir = TempDir::new("exec");
        let mut cmd = with_set(c_test("exec_paths"), &dir, DATA);
        cmd.args([m, "/dev/fdset/1"]);
        let out = run_ok(cmd);
        assert_eq!(out, format!("{}parent: {}", text(), text()), "method {m}");
    }
}

/// The caller's own posix_spawn file actions still run, and its object is
/// usable again afterwards.
#[test]
fn posix_spawn_keeps_the_callers_file_actions() {
    let dir = TempDir::new("exec");
    let mut cmd = with_set(c_test("exec_paths"), &dir, DATA);
    cmd.args(["posix_spawn_actions", "/dev/fdset/1"]);
    assert_eq!(run_ok(cmd), format!("{0}{0}parent: {0}", text()));
}

/// Spec 7 "`posix_spawn` whose own file actions write to a member's
/// number": only a member's number makes the child go without the sets.
/// Actions that close one of the program's dups leave the child the sets;
/// that dup is not recorded in it.
#[test]
fn posix_spawn_closing_a_dup_still_carries_the_sets() {
    let dir = TempDir::new("exec");
    let mut cmd = with_set(c_test("exec_paths"), &dir, DATA);
    cmd.args(["posix_spawn_closing_a_dup", "/dev/fdset/1"]);
    assert_eq!(run_ok(cmd), format!("{0}parent: {0}", text()));
}

/// spec 7 "exec in the same process": the new image sees the same sets.
#[test]
fn exec_in_place_through_each_exec_function() {
    for m in [
        "execve", "execv", "execvp", "execvpe", "execl", "execle", "execlp", "fexecve", "execveat",
    ] {
        let dir = TempDir::new("exec");
        let mut cmd = with_set(c_test("exec_paths"), &dir, DATA);
        cmd.args([&format!("inplace-{m}"), "/dev/fdset/1"]);
        assert_eq!(run_ok(cmd), text(), "method inplace-{m}");
    }
}

/// `bash -c 'cat /dev/fdset/1; cat /dev/fdset/1'` prints the file twice.
#[test]
fn shell_children_each_read_the_set() {
    let dir = TempDir::new("exec");
    let mut cmd = with_set("bash", &dir, DATA);
    cmd.args(["-c", "cat /dev/fdset/1; cat /dev/fdset/1"]);
    assert_eq!(run_ok(cmd), format!("{0}{0}", text()));
}

fn python_binary() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 on PATH");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// a shell script that execs the Python interpreter, which reads a set.
#[test]
fn script_that_execs_python_reads_the_set() {
    let dir = TempDir::new("exec");
    let script = dir.file(
        "wrapper.sh",
        format!(
            "#!/bin/sh\nexec \"{}\" -c 'import sys; sys.stdout.write(open(\"/dev/fdset/1\").read())'\n",
            python_binary()
        )
        .as_bytes(),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = output_of_fresh_executable(&mut with_set(&script, &dir, DATA));
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        stderr_of(&out)
    );
    assert_eq!(stdout_of(&out), text());
}

/// the machine's own `python3`, which may itself be a wrapper
/// script (pyenv's shim is one here: checked below so the test says which).
#[test]
fn machines_python3_reads_the_set() {
    let which = Command::new("sh")
        .args(["-c", "command -v python3"])
        .output()
        .expect("sh");
    let path = String::from_utf8_lossy(&which.stdout).trim().to_string();
    let head = std::fs::read(&path)
        .map(|b| b.starts_with(b"#!"))
        .unwrap_or(false);
    eprintln!(
        "python3 is {path} ({})",
        if head { "a script wrapper" } else { "a binary" }
    );
    let dir = TempDir::new("exec");
    let mut cmd = with_set(&path, &dir, DATA);
    cmd.args([
        "-c",
        "import sys; sys.stdout.write(open('/dev/fdset/1').read())",
    ]);
    assert_eq!(run_ok(cmd), text());
}

/// `subprocess.run(['cat', '/dev/fdset/1'])` from a preloaded Python
/// (CPython's subprocess closes inherited fds in the child and uses vfork).
#[test]
fn python_subprocess_child_reads_the_set() {
    let dir = TempDir::new("exec");
    let mut cmd = with_set(python_binary(), &dir, DATA);
    cmd.args([
        "-c",
        "import subprocess, sys\n\
         r = subprocess.run(['cat', '/dev/fdset/1'], capture_output=True, check=True)\n\
         sys.stdout.write(r.stdout.decode())\n\
         sys.stdout.write(open('/dev/fdset/1').read())",
    ]);
    assert_eq!(run_ok(cmd), format!("{0}{0}", text()));
}

/// spec 7 "fork": the child sees the sets as they were; nothing it does
/// changes the parent's.
#[test]
fn forked_child_is_isolated_from_the_parent() {
    let dir = TempDir::new("exec");
    let mut cmd = with_set(c_test("fork_isolation"), &dir, DATA);
    cmd.arg("/dev/fdset/1");
    assert_eq!(run_ok(cmd), format!("ok {}", text()));
}

/// What a child's fd table holds, as `readlink` targets of /proc/self/fd.
fn child_fd_targets(shell_cmd: &str) -> Vec<String> {
    let dir = TempDir::new("exec");
    let mut cmd = with_set("bash", &dir, DATA);
    cmd.args(["-c", shell_cmd]);
    run_ok(cmd).lines().map(str::to_string).collect()
}

/// no leaks: an exec into a clean environment, and a child that
/// does not preload the shim, receive no fd of ours (no member, no state).
#[test]
fn clean_environment_and_non_preloaded_children_get_nothing() {
    let list = "for f in /proc/self/fd/*; do readlink $f; done; true";
    for shell in [
        format!("exec env -i /bin/sh -c '{list}'"),
        format!("env -u LD_PRELOAD /bin/sh -c '{list}'"),
    ] {
        let targets = child_fd_targets(&shell);
        assert!(!targets.is_empty(), "{shell}: listed nothing");
        for t in &targets {
            assert!(
                !t.contains("data.txt"),
                "{shell}: member leaked: {targets:?}"
            );
            assert!(
                !t.contains("fdset-state"),
                "{shell}: state leaked: {targets:?}"
            );
        }
    }
}

/// The carried state is validated like any input: a forged FDSET_STATE stops
/// the program before main with a clear message, never trusting a number.
#[test]
fn forged_state_is_refused() {
    let cases: &[(&str, &str)] = &[
        ("abc", "'abc' is not a descriptor number"),
        ("-4", "is not a descriptor number"),
        ("99999999", "is not a descriptor number"),
        ("1", "is not a descriptor number"),
        ("7", "fd 7 is not the shim's state memfd"),
    ];
    for (value, want) in cases {
        let out = preloaded(c_test("smoke_read"))
            .arg("/dev/null")
            .env("FDSET_STATE", value)
            .output()
            .expect("spawn");
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "FDSET_STATE={value}: {err}");
        assert!(err.contains(want), "FDSET_STATE={value}: {err}");
        assert!(out.stdout.is_empty(), "main ran for FDSET_STATE={value}");
    }
}

/// A memfd that looks like the shim's but names an fd that is not open, or
/// one out of range: refused, not trusted.
#[test]
fn forged_state_memfd_naming_bad_fds_is_refused() {
    for (json, want) in [
        (
            r#"{"version":1,"sets":[{"id":1,"members":[{"fd":600}]}]}"#,
            "fd 600 is not open",
        ),
        (
            r#"{"version":1,"sets":[{"id":1,"members":[{"fd":5000000}]}]}"#,
            "descriptor number",
        ),
        (r#"{"version":1,"sets":"#, "not valid JSON"),
    ] {
        let out = run_with_forged_state(json);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{json}: {err}");
        assert!(err.contains(want), "{json}: {err}");
    }
}

/// bwrap arguments for a sandbox that sees /usr and the shim's directory,
/// not the test's files, then runs `sh -c SCRIPT`.
fn bwrap_args(libdir: &str, script: String) -> Vec<String> {
    let mut a = bwrap_usr_view(libdir);
    a.extend(["--unshare-user-try", "--unshare-pid", "--", "/bin/sh", "-c"].map(String::from));
    a.push(script);
    a
}

/// Run a bwrap command; the sandbox must not see the data file yet read it.
fn check_bwrap(mut cmd: Command) {
    let out = cmd
        .output()
        .expect("run bwrap (install bubblewrap: .ci/setup does)");
    let err = stderr_of(&out);
    assert!(
        !err.contains("No permissions to create new namespace")
            && !err.contains("Operation not permitted"),
        "bwrap cannot create namespaces on this machine (user namespaces are required): {err}"
    );
    assert!(out.status.success(), "bwrap failed: {err}");
    assert_eq!(stdout_of(&out), text());
}

/// a sandbox that execs the program where the file itself is not
/// visible at all (bubblewrap; the library's directory is bound so that the
/// exec'd program can load it).
#[test]
fn bwrap_sandbox_child_reads_a_set_whose_file_it_cannot_see() {
    let libdir = shim_lib()
        .parent()
        .expect("lib dir")
        .to_string_lossy()
        .into_owned();
    let dir = TempDir::new("bwrap");
    let mut cmd = with_set("bwrap", &dir, DATA);
    let data_dir = dir.path().to_string_lossy().into_owned();
    cmd.args(bwrap_args(
        &libdir,
        format!("test -e '{data_dir}/data.txt' && echo VISIBLE; cat /dev/fdset/1"),
    ));
    check_bwrap(cmd);
}

/// `fdset-run --file ... -- bwrap ... -- cat /dev/fdset/1`, the
/// launcher's monitor connected to bwrap, the file's directory not bound.
#[test]
fn fdset_run_starts_bwrap_whose_child_reads_the_set() {
    let libdir = shim_lib()
        .parent()
        .expect("lib dir")
        .to_string_lossy()
        .into_owned();
    let dir = TempDir::new("bwrap-run");
    let f = dir.file("data.txt", DATA);
    let data_dir = dir.path().to_string_lossy().into_owned();
    let mut cmd = fdset_run();
    cmd.arg("--file")
        .arg(format!("set=1,path={}", f.display()))
        .args(["--", "bwrap"]);
    cmd.args(bwrap_args(
        &libdir,
        format!("test -e '{data_dir}/data.txt' && echo VISIBLE; cat /dev/fdset/1"),
    ));
    let started = std::time::Instant::now();
    check_bwrap(cmd);
    // The sandboxed child is not this process: no wait for a monitor
    // hand-over that could never come.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

/// Spec 7 "exec in the same process": a QMP client connected
/// before the exec keeps working after it: no second greeting, a command
/// split across the exec is answered, `query-fdsets` answers the same, the
/// dup the program kept stays recorded, `add-fd` after the exec works. A
/// failed exec leaves the monitor served as before.
#[test]
fn qmp_monitor_survives_an_exec_in_place() {
    let dir = TempDir::new("exec-qmp");
    let path = dir.file("data.txt", b"before and after\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let file = std::fs::File::open(&path).expect("open data");
    let r = q.add_fd(&file, json!({"fdset-id": 2, "opaque": "kept"}));
    let member = r["return"]["fd"].as_i64().expect("member fd");
    let before = q.exec("query-fdsets", json!({}));
    assert_eq!(
        before,
        json!({"return": [{"fdset-id": 2, "fds": [{"fd": member, "opaque": "kept"}]}]})
    );
    let dup = p.open("/dev/fdset/2", "r").expect("open set 2");

    // A failed exec: everything as before.
    assert!(p.step("execfail").starts_with("err "));
    assert_eq!(q.exec("query-fdsets", json!({})), before);

    // Half a command before the exec, the rest after it.
    q.send(b"{\"execute\": \"query-");
    assert_eq!(p.step("exec"), "main", "the program image was replaced");
    q.send(b"fdsets\", \"id\": 7}");
    assert_eq!(
        q.reply(),
        json!({"return": before["return"].clone(), "id": 7})
    );
    // The dup kept across the exec still reads the file and is still a dup.
    assert_eq!(p.step(&format!("read {dup}")), "data before and after|");
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    // The monitor still adds and removes.
    let file2 = std::fs::File::open(&path).expect("open data");
    let r2 = q.add_fd(&file2, json!({"fdset-id": 3}));
    let m2 = r2["return"]["fd"].as_i64().expect("second member");
    let fd = p.open("/dev/fdset/3", "r").expect("open set 3 after exec");
    assert_eq!(p.step(&format!("read {fd}")), "data before and after|");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 2})),
        json!({"return": {}})
    );
    assert_eq!(
        q.exec("query-fdsets", json!({})),
        json!({"return": [{"fdset-id": 3, "fds": [{"fd": m2}]}]})
    );
    // Removing set 2 with no dup open closed its member in the new image.
    assert!(
        p.fds_to(&path).iter().all(|&f| f as i64 != member),
        "member of removed set 2 still open"
    );
}

/// Sets 1..=`n`, each with one member of `path` and `opaque`; the members.
fn sets_of(q: &mut Qmp, path: &std::path::Path, n: usize, opaque: &str) -> Vec<i32> {
    (1..=n)
        .map(|id| {
            let file = std::fs::File::open(path).expect("open data");
            ret_fd(&q.add_fd(&file, json!({"fdset-id": id, "opaque": opaque})))
        })
        .collect()
}

/// Spec 7 "exec in the same process", with a reply the client has not read
/// yet: a `query-fdsets` of 3 MB (three sets, each member with an opaque
/// string of 1,000,000 bytes) is answered, the socket takes a few hundred
/// KB of it, and the program execs while the rest waits to be sent. The
/// new image sends the rest: the client reads the whole reply, then the
/// answer to a command sent behind it, and the monitor and the sets keep
/// working. (The pending output was once refused
/// when it was over 2 MiB, and a refused state stops the new image.)
#[test]
fn an_exec_in_place_keeps_a_reply_not_yet_sent() {
    let dir = TempDir::new("exec-pending-reply");
    let path = dir.file("data.txt", b"pending\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let opaque = "o".repeat(1_000_000);
    let members = sets_of(&mut q, &path, 3, &opaque);
    let expected: Vec<_> = (1..=3)
        .rev()
        .map(|id| json!({"fdset-id": id, "fds": [{"fd": members[id - 1], "opaque": opaque}]}))
        .collect();
    // A second command behind it, which waits until the reply is out.
    q.send(
        b"{\"execute\": \"query-fdsets\", \"id\": 1}{\"execute\": \"query-version\", \"id\": 2}",
    );
    // The reply has started to arrive: the command has run, and most of
    // its 3 MB waits in the program for the client to read.
    let mut pfd = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&q.stream),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut pfd, 1, 10_000) };
    assert_eq!(ready, 1, "no reply began within 10 s");
    assert_eq!(p.step("exec"), "main", "the program image was replaced");
    assert_eq!(q.reply(), json!({"return": expected, "id": 1}));
    let version = q.reply();
    assert_eq!(version["id"], json!(2), "{version}");
    assert!(version["return"]["qemu"]["major"].is_u64(), "{version}");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 2})),
        json!({"return": {}})
    );
    let after = q.exec("query-fdsets", json!({}));
    assert_eq!(
        after["return"].as_array().map(Vec::len),
        Some(2),
        "sets after the exec"
    );
    let fd = p
        .open("/dev/fdset/3", "r")
        .expect("open set 3 after the exec");
    assert_eq!(p.step(&format!("read {fd}")), "data pending|");
}

/// Spec 7 "exec in the same process" and "exec in a forked child", and the
/// state's bound: sets whose state is larger than a new image accepts (68
/// members with an opaque string of 1,000,000 bytes each: more than the 64
/// MiB a new image reads) cannot go along, and a new image given a state
/// it refuses stops. So the exec, `posix_spawn`, `system` and `popen` fail with
/// `E2BIG`, and the program goes on with its sets and its monitor as they
/// were.
#[test]
fn an_exec_that_cannot_carry_the_sets_fails_with_e2big() {
    let dir = TempDir::new("exec-too-large");
    let path = dir.file("data.txt", b"too large\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    sets_of(&mut q, &path, 68, &"o".repeat(1_000_000));
    let e2big = format!("err {}", libc::E2BIG);
    assert_eq!(p.step("exec"), e2big);
    assert_eq!(p.step("spawn /bin/true"), e2big);
    assert_eq!(p.step("system true"), e2big);
    assert_eq!(p.step("popen true"), e2big);
    // Nothing lost: the monitor answers, the sets open and read.
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 68})),
        json!({"return": {}})
    );
    let fd = p
        .open("/dev/fdset/67", "r")
        .expect("open set 67 after the failed exec");
    assert_eq!(p.step(&format!("read {fd}")), "data too large|");
    // Under the bound again, the exec carries everything.
    for id in 1..=20 {
        assert_eq!(
            q.exec("remove-fd", json!({"fdset-id": id})),
            json!({"return": {}})
        );
    }
    assert_eq!(p.step("spawn /bin/true"), "exit 0");
    assert_eq!(p.step("system true"), "exit 0");
    assert_eq!(p.step("popen true"), "exit 0");
    assert_eq!(p.step("exec"), "main", "the program image was replaced");
    // The dup kept across the exec: open, at the end it was read to.
    assert_eq!(p.step(&format!("read {fd}")), "data");
    assert_eq!(p.step(&format!("close {fd}")), "ok");
    let sets = q.exec("query-fdsets", json!({}));
    assert_eq!(sets["return"].as_array().map(Vec::len), Some(47));
}

/// Spec 7 "exec in the same process", from a program that closed its
/// standard input under a low RLIMIT_NOFILE (20, below the numbers the
/// shim keeps its own descriptors at): the state then goes to the lowest
/// free number the limit allows, never to 0-2, which the new image would
/// refuse (and stop). `cat` reads the set.
#[test]
fn an_exec_with_stdin_closed_under_a_low_fd_limit_carries_the_sets() {
    let dir = TempDir::new("exec-low-limit");
    let mut cmd = with_set("bash", &dir, DATA);
    cmd.args(["-c", "ulimit -n 20; exec 0<&-; exec cat /dev/fdset/1"]);
    assert_eq!(run_ok(cmd), text());
}

/// Spec 7 "exec in a child", after the program lowered RLIMIT_NOFILE below
/// the numbers its members sit at (100 and up): spawn file actions cannot
/// name them then (glibc refuses a number over the limit), so
/// `posix_spawn`, `system` and `popen` start their child without the sets,
/// as when the caller's own actions close the members, instead of failing
/// (`system` said 127, `popen` EBADF). An exec in place still carries them.
#[test]
fn spawns_under_a_lowered_fd_limit_start_without_the_sets() {
    let dir = TempDir::new("spawn-low-limit");
    let path = dir.file("data.txt", b"limit\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let member = sets_of(&mut q, &path, 1, "")[0];
    assert!(member >= 100, "member at {member}");
    assert_eq!(p.step("nofile 20"), "ok");
    assert_eq!(p.step("spawn /bin/true"), "exit 0");
    assert_eq!(p.step("system true"), "exit 0");
    assert_eq!(p.step("popen true"), "exit 0");
    // The sets are still the program's, and an exec in place carries them.
    assert_eq!(p.step("exec"), "main", "the program image was replaced");
    let fd = p
        .open("/dev/fdset/1", "r")
        .expect("open set 1 after the exec");
    assert_eq!(p.step(&format!("read {fd}")), "data limit|");
}

/// spec 7 "fork" through `vfork`: the child runs on the parent's memory until
/// it execs, yet closing a dup there must not change the parent's sets. With
/// set 5 removed, its member must stay open until the parent closes its dup.
#[test]
fn vfork_child_does_not_change_the_parents_sets() {
    let dir = TempDir::new("vfork");
    let path = dir.file("data.txt", b"vfork\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let file = std::fs::File::open(&path).expect("open data");
    let member = q.add_fd(&file, json!({"fdset-id": 5}))["return"]["fd"]
        .as_i64()
        .expect("fd") as i32;
    drop(file);
    let dup = p.open("/dev/fdset/5", "r").expect("open set 5");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 5})),
        json!({"return": {}})
    );
    assert_eq!(p.step(&format!("vforkclose {dup}")), "ok");
    assert!(
        p.fds_to(&path).contains(&member),
        "the child's close reached the parent's registry"
    );
    assert_eq!(p.step(&format!("close {dup}")), "ok");
    assert!(
        p.fds_to(&path).is_empty(),
        "member not closed with the parent's last dup"
    );
}

/// `popen` that carries the sets, as glibc's: the streams of earlier
/// popens still open are closed in each new child, so the first `pclose`
/// of two open at once returns (a child holding the other stream's pipe
/// kept the first command from ever seeing its end of input).
#[test]
fn two_popens_at_once_each_end_at_their_pclose() {
    let dir = TempDir::new("popen-two");
    let path = dir.file("data.txt", b"two\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    sets_of(&mut q, &path, 1, "");
    assert_eq!(p.step("popen2 cat >/dev/null"), "exit 0 0");
}

/// `system` that carries the sets, as glibc's when two overlap: the
/// program's SIGINT handler is back once both have ended, and the second
/// command runs with SIGINT and SIGQUIT at their defaults, as the first
/// (compared with the same program without the shim).
#[test]
fn overlapping_systems_put_the_programs_sigint_handler_back() {
    let dir = TempDir::new("system-overlap");
    let want = run_ok(Command::new(c_test("system_overlap")));
    assert!(want.ends_with("SIGINT after: handler\n"), "{want}");
    let got = run_ok(with_set(c_test("system_overlap"), &dir, b"x"));
    assert_eq!(got, want);
}

/// Spec 7, "exec in a forked child ... without the parent's monitors": a
/// program serving a monitor starts a shell (`system`), which reads the set
/// and holds no socket of the parent's; the parent's monitor is not served
/// twice (its next reply is the reply, no second greeting) and the child's
/// close of its dup leaves the parent's member alone.
#[test]
fn a_started_child_has_no_monitor_of_its_own() {
    let dir = TempDir::new("exec-monitor");
    let path = dir.file("data.txt", b"from the parent's set\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let file = std::fs::File::open(&path).expect("open data");
    let member = ret_fd(&q.add_fd(&file, json!({"fdset-id": 2})));
    assert!(
        !p.owned_sockets().is_empty(),
        "the parent holds its control socket"
    );
    let read = dir.path().join("read.txt");
    let fds = dir.path().join("fds.txt");
    let script = format!(
        // (The glob's own directory descriptor is gone when readlink
        // looks: its failure is not the test's.)
        "cat /dev/fdset/2 > {} || exit 3; for f in /proc/$$/fd/*; do readlink $f; done > {}; exit 0",
        read.display(),
        fds.display()
    );
    assert_eq!(p.step(&format!("system {script}")), "exit 0");
    assert_eq!(
        std::fs::read_to_string(&read).unwrap(),
        "from the parent's set\n"
    );
    let held = std::fs::read_to_string(&fds).unwrap();
    assert!(
        !held.lines().any(|l| l.starts_with("socket:")),
        "the child holds a socket: {held}"
    );
    assert_eq!(
        q.exec("query-fdsets", json!({})),
        json!({"return": [{"fdset-id": 2, "fds": [{"fd": member}]}]})
    );
    let dup = p
        .open("/dev/fdset/2", "r")
        .expect("the parent's set still opens");
    assert_eq!(p.step(&format!("close {dup}")), "ok");
}
