//! Opens of a set while another thread changes what the member's number is
//! (spec sections 2 and 6): the shim chooses the member under its lock but
//! duplicates it after releasing the lock, so that other threads do not
//! wait for the system call; a dup made after the member moved must not be
//! handed out as the set's.
use fdset_testkit::*;
use std::time::Duration;

/// Spec section 6: `dup2` onto a member's number gives the number to the
/// program (the member moves); section 2: an open of `/dev/fdset/1` gives
/// the set's file. 12 rounds of at most a quarter of a second, each in a
/// forked child (`FDSET_STRESS_LONG=1`: 80).
#[test]
fn opens_while_dup2_takes_the_members_number_always_get_the_sets_file() {
    let dir = TempDir::new("race-move");
    let a = dir.file("a.txt", b"set one");
    dir.file("b.txt", b"the program's own");
    let rounds = if std::env::var("FDSET_STRESS_LONG").is_ok_and(|v| v == "1") {
        "80"
    } else {
        "12"
    };
    let mut cmd = preloaded(c_test("race_member_move"));
    cmd.arg(rounds)
        .arg(dir.path())
        .env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(&mut cmd, vec![(open_for_child(&a, false, true), 3)]);
    let out = output_within(cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "race_member_move failed: {}\nstdout: {}",
        stderr_of(&out),
        stdout_of(&out)
    );
    assert!(
        stdout_of(&out).starts_with("ok race_member_move"),
        "{}",
        stdout_of(&out)
    );
}
