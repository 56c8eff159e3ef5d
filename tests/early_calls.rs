//! Calls that reach the hooks before the shim's constructor has run (from
//! another library's constructor; here the program's `.preinit_array`,
//! which runs before every shared object's initializer): libc's functions
//! are found all the same, with their results and `errno`, and the
//! constructor that runs after them still takes the launch-time sets (spec
//! section 4) and hides `FDSET_ADD_FD` (section 5).
use fdset_testkit::*;
use std::time::Duration;

#[test]
fn calls_before_the_constructor_reach_libc_and_the_sets_come_after() {
    let dir = TempDir::new("early");
    let content = "set one";
    let file = dir.file("one", content.as_bytes());
    let mut cmd = preloaded(c_test("early_calls"));
    cmd.arg(&file)
        .arg(content)
        .env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(&mut cmd, vec![(open_for_child(&file, false, true), 3)]);
    let out = output_within(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "early_calls failed: {}\nstdout: {}",
        stderr_of(&out),
        stdout_of(&out)
    );
    let stdout = stdout_of(&out);
    let parts: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    assert_eq!(parts, ["before-constructor", "after-constructor"]);
}
