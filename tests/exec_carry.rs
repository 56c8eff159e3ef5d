//! Spec section 7, "exec in the same process": the sets follow an exec,
//! and members stay close-on-exec at all other times. The writer makes each
//! member inheritable by the same call that finds it still open, so these
//! check both sides of that: a failed exec leaves every member close-on-exec
//! again with no state memfd left, a member the program closed behind the
//! shim's back is left out (the new image starts, with the other sets), and
//! in the new image the members are close-on-exec again.
use fdset_testkit::qmp::Program;
use fdset_testkit::*;
use std::collections::BTreeMap;

/// Whether fd `fd` of process `pid` is close-on-exec (`/proc/PID/fdinfo`).
fn cloexec(pid: u32, fd: i32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).expect("fdinfo");
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("flags line");
    u32::from_str_radix(flags.trim(), 8).expect("octal flags") & libc::O_CLOEXEC as u32 != 0
}

/// The members: the shim's descriptors of the three files, by file.
fn members(p: &Program, files: &[std::path::PathBuf]) -> BTreeMap<usize, Vec<i32>> {
    files
        .iter()
        .enumerate()
        .map(|(i, f)| (i, p.fds_to(f)))
        .collect()
}

#[test]
fn members_are_close_on_exec_except_across_the_exec_itself() {
    let dir = TempDir::new("exec-carry");
    let files: Vec<_> = (1..=3)
        .map(|i| dir.file(&format!("set{i}.txt"), format!("set {i}\n").as_bytes()))
        .collect();
    let mut cmd = preloaded(c_test("qmp_step"));
    let inherited = files
        .iter()
        .enumerate()
        .map(|(i, f)| (open_for_child(f, false, true), 3 + i as i32))
        .collect();
    inherit_fds(&mut cmd, inherited);
    cmd.env("FDSET_ADD_FD", "fd=3,set=1;fd=4,set=2;fd=5,set=3");
    let mut p = Program::spawn(cmd);
    let pid = p.pid();
    let before = members(&p, &files);
    for (i, fds) in &before {
        assert_eq!(fds.len(), 1, "set {}: one member, {before:?}", i + 1);
        assert!(cloexec(pid, fds[0]), "member of set {} at start", i + 1);
    }

    // A failed exec that got as far as the kernel (an executable file it
    // cannot run: ENOEXEC), so the sets were made ready to carry: every
    // member close-on-exec again, no state left open.
    let bad = dir.file("not-a-program", b"\0\0\0\0 not an executable format\n");
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    assert_eq!(
        p.step(&format!("execfail {}", bad.display())),
        format!("err {}", libc::ENOEXEC)
    );
    assert_eq!(members(&p, &files), before);
    for fds in before.values() {
        assert!(
            cloexec(pid, fds[0]),
            "member {} after a failed exec",
            fds[0]
        );
    }
    assert!(
        !p.fds().values().any(|t| t.contains("fdset-state")),
        "state memfd left: {:?}",
        p.fds()
    );

    // Set 2's member closed behind the shim's back: the exec leaves it out.
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    assert_eq!(p.step(&format!("rawclose {}", before[&1][0])), "ok");
    assert_eq!(p.step("exec"), "main", "the new image started");
    let after = members(&p, &files);
    assert_eq!(after[&0], before[&0]);
    assert_eq!(after[&2], before[&2]);
    assert!(after[&1].is_empty(), "{after:?}");
    for i in [0, 2] {
        assert!(
            cloexec(pid, after[&i][0]),
            "member of set {} after exec",
            i + 1
        );
    }
    for (set, want) in [(1, "data set 1|"), (3, "data set 3|")] {
        let fd = p.open(&format!("/dev/fdset/{set}"), "r").expect("open set");
        assert_eq!(p.step(&format!("read {fd}")), want);
    }
    assert_eq!(p.open("/dev/fdset/2", "r"), Err(libc::ENOENT));
    assert_eq!(p.step("exit"), "");
}
