//! The first promise of the README: a program reads the file behind an
//! inherited fd when it opens /dev/fdset/1 (spec section 1, section 4).
use fdset_testkit::*;

#[test]
fn c_program_reads_launch_time_set() {
    let dir = TempDir::new("smoke");
    let f = dir.file("data.txt", b"hello through fd set 1\n");
    let mut cmd = preloaded(c_test("smoke_read"));
    cmd.arg("/dev/fdset/1").env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(&mut cmd, vec![(open_for_child(&f, false, true), 3)]);
    let out = cmd.output().expect("run smoke_read");
    assert!(out.status.success(), "stderr: {}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "hello through fd set 1\n");
}
