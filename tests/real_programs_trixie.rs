//! The real-program suite inside a Debian 13 (trixie, glibc 2.41) chroot,
//! with the shim built on this Debian 12 host (glibc 2.36) preloaded: a
//! newer glibc whose programs reach entry points the shim does not answer
//! fails here first. Same table and comparisons as tests/real_programs_suite.rs,
//! each program compared with itself on the ordinary path inside the chroot.
//!
//! The chroot is built by `.ci/trixie-chroot` (as root; `.ci/run` does it
//! before the tests). Without it these tests fail when `CI` is set, and
//! otherwise say on stderr that they did not run and why.
use fdset_testkit::programs::{report, run_suite};
use fdset_testkit::trixie::{Trixie, in_ci};
use fdset_testkit::*;
use std::io::Write;

/// The chroot, or `None` after saying why the test does not run (a panic in CI).
fn chroot(test: &str) -> Option<Trixie> {
    match Trixie::find() {
        Ok(t) => Some(t),
        Err(why) if in_ci() => panic!(
            "{test}: CI is set but the Debian 13 chroot cannot be used: {why}. \
             .ci/run builds it with `bash .ci/trixie-chroot` before the tests."
        ),
        Err(why) => {
            // Past the harness's capture: a passing test's output is not shown.
            // One write, so that tests running at once do not interleave.
            let line = format!(
                "{test}: NOT RUN: {why}. Build the chroot with `sudo bash .ci/trixie-chroot` \
                 (CI does, in .ci/run); with CI set this is a failure.\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

/// The glibc number as (major, minor).
fn version(text: &str) -> (u32, u32) {
    let v = text.trim().trim_start_matches("glibc ").trim();
    let mut it = v
        .split('.')
        .map(|n| n.parse::<u32>().expect("glibc version"));
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn the_chroot_has_a_newer_glibc_than_the_host() {
    let Some(t) = chroot("the_chroot_has_a_newer_glibc_than_the_host") else {
        return;
    };
    let host = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("getconf");
    let host = stdout_of(&host);
    let inside = t.glibc();
    let _ = writeln!(
        std::io::stderr(),
        "trixie chroot at {}: {inside}; host: {}",
        t.root().display(),
        host.trim()
    );
    assert!(
        version(&inside) > version(&host),
        "the chroot's {inside} is not newer than the host's {host}"
    );
    assert!(
        version(&inside) >= (2, 41),
        "Debian 13 has glibc 2.41, got {inside}"
    );
}

#[test]
fn every_program_of_the_suite_agrees_with_the_ordinary_path_in_debian_13() {
    let Some(t) = chroot("every_program_of_the_suite_agrees_with_the_ordinary_path_in_debian_13")
    else {
        return;
    };
    let results = run_suite(&t);
    let table = report(
        &format!("real programs in the Debian 13 chroot ({})", t.glibc()),
        &results,
    );
    let _ = std::fs::write(profile_dir().join("real-programs-trixie.txt"), &table);
    let _ = std::io::stderr().write_all(table.as_bytes());
    assert!(
        results.len() >= 10,
        "the chroot suite must run at least ten programs"
    );
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{table}");
}

/// fdset-run built on the host runs inside the chroot too: it opens a file
/// there with its own rights (`--file`), puts its stdin in a sealed memfd
/// (`--data`), and the program started under the newer glibc reads both.
#[test]
fn fdset_run_launches_a_program_inside_debian_13() {
    let Some(t) = chroot("fdset_run_launches_a_program_inside_debian_13") else {
        return;
    };
    use fdset_testkit::programs::Place;
    let dir = t.scratch("fdset-run");
    std::fs::write(dir.host.join("note.txt"), b"a note inside the chroot\n").unwrap();
    let script = "import os\n\
        print(os.path.exists('/dev/fdset/1'), os.path.exists('/dev/fdset/3'))\n\
        print(open('/dev/fdset/1').read(), end='')\n\
        print(open('/dev/fdset/2').read(), end='')\n";
    let argv: Vec<String> = [
        "/opt/fdset-shim/fdset-run",
        "--file",
        &format!("set=1,path={}/note.txt", dir.inside),
        "--data",
        "set=2,path=-",
        "--",
        "python3",
        "-c",
        script,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut cmd = t.command_in(&argv, &[]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start fdset-run in the chroot");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"secret=from stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        "True False\na note inside the chroot\nsecret=from stdin\n"
    );
}

/// The README's "Known not to work", with Debian 13's versions of the
/// programs: each fails on a set with a message and leaves the file behind
/// the set untouched (see tests/real_programs_suite.rs).
#[test]
fn programs_that_need_a_sibling_file_fail_cleanly_on_a_set_in_debian_13() {
    let Some(t) = chroot("programs_that_need_a_sibling_file_fail_cleanly_on_a_set_in_debian_13")
    else {
        return;
    };
    let results = fdset_testkit::programs::run_limits(&t);
    let table = report("known not to work in the Debian 13 chroot", &results).replace(
        "agree with the ordinary path",
        "fail cleanly on a set, losing nothing",
    );
    let _ = std::io::stderr().write_all(table.as_bytes());
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{table}");
}
