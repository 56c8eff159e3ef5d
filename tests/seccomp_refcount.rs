//! fdset-run's seccomp mode (spec section 9): the refcount of a set across
//! the supervised process tree. A removed member is closed only when no
//! process holds a dup of it (fork, exit, exec, `dup2` over a dup), each
//! process's dup counted once.

use fdset_testkit::qmp::{Program, Qmp};
use fdset_testkit::seccomp::*;
use fdset_testkit::*;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

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

/// Wait until process `pid` (fdset-run) no longer holds `file`; `why` it
/// would be a failure if it still did after [`LIMIT`].
fn wait_closed(pid: u32, file: &Path, why: &str) {
    let start = Instant::now();
    while holds(pid, file) {
        assert!(start.elapsed() < LIMIT, "{why}");
        std::thread::sleep(Duration::from_millis(10));
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
    wait_closed(
        launcher_pid,
        &file,
        "the member stayed open after the last dup ended",
    );
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
    wait_closed(p.pid(), &file, "a dup was counted twice: the member stays");
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

/// Spec 9, the filter sends `dup3` and `close_range` too: each ends a dup
/// of a removed member as `close` does (the member is closed with it).
#[test]
fn dup3_and_close_range_end_dups_as_close_does() {
    for (how, end) in [("dup3", "dup3 4 3"), ("close_range", "closerange 3 3")] {
        let dir = TempDir::new("seccomp-dup3");
        let file = dir.file("member.txt", b"x\n");
        let (mut p, mut q) = served_with_qmp(&dir, &file);
        assert_eq!(p.step("open /dev/fdset/1 r"), "fd 3", "{how}");
        assert_eq!(p.step("open /proc/self/status r"), "fd 4", "{how}");
        assert_eq!(
            q.exec("remove-fd", json!({"fdset-id": 1})),
            json!({"return": {}})
        );
        assert_eq!(sets(&mut q), vec![(1, 0)], "{how}: the dup keeps it");
        assert_eq!(p.step(end), "ok", "{how}");
        assert_eq!(sets(&mut q), vec![], "{how}");
        assert!(!holds(p.pid(), &file), "{how}: the member is closed");
        assert_eq!(p.step("exit"), "");
    }
}

/// Spec 9, the filter sends `creat`: `creat` of a set path is an open with
/// `O_WRONLY|O_CREAT|O_TRUNC` of the set (refused for a read-only member,
/// where the real file system would say ENOENT; served by a writable one,
/// which it truncates).
#[test]
fn creat_of_a_set_path_is_served() {
    let dir = TempDir::new("seccomp-creat");
    let file = dir.file("member.txt", b"old content\n");
    let (mut p, mut q) = served_with_qmp(&dir, &file);
    assert_eq!(
        p.step("creat /dev/fdset/1"),
        format!("err {}", libc::EACCES)
    );
    let w = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    let r = q.add_fd(&w, json!({"fdset-id": 2}));
    assert!(r["return"]["fd"].is_i64(), "{r}");
    let fd = p.step("creat /dev/fdset/2");
    assert!(fd.starts_with("fd "), "{fd}");
    let n = &fd[3..];
    assert_eq!(p.step(&format!("write {n} new")), "wrote 3");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
    assert_eq!(p.step("exit"), "");
}
