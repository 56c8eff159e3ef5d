//! The real-program suite on this machine: every program of
//! `fdset_testkit::programs::CASES` run on `/dev/fdset/N` under the shim
//! (the files handed over as inherited descriptors in `FDSET_ADD_FD`) must
//! agree with the same program on the file's ordinary path without the shim:
//! exit status, stdout, stderr, the files it writes (spec section 1: an
//! unmodified program gets the file's exact bytes; section 8: the calls
//! around an open answer as for the member's file). The same table runs in
//! the Debian 13 chroot (tests/real_programs_trixie.rs).
use fdset_testkit::programs::{Host, report, run_suite};
use std::io::Write;

#[test]
fn every_program_of_the_suite_agrees_with_the_ordinary_path() {
    let results = run_suite(&Host);
    let table = report("real programs on this host", &results);
    let _ = std::fs::write(
        fdset_testkit::profile_dir().join("real-programs-host.txt"),
        &table,
    );
    // Written past the test harness's capture, so the table is in the log.
    let _ = std::io::stderr().write_all(table.as_bytes());
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{table}");
}

/// The README's "Known not to work": programs that create or rename a file
/// beside the path (`sed -i`, `perl -i`, sqlite's rollback journal, `zip`
/// updates, `gzip FILE`, `mv`) do their job on the ordinary path, and on a
/// set fail with a message, leaving the file behind the set untouched
/// (nothing is lost).
#[test]
fn programs_that_need_a_sibling_file_fail_cleanly_on_a_set() {
    let results = fdset_testkit::programs::run_limits(&Host);
    let table = report("known not to work on this host", &results).replace(
        "agree with the ordinary path",
        "fail cleanly on a set, losing nothing",
    );
    let _ = std::io::stderr().write_all(table.as_bytes());
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{table}");
}
