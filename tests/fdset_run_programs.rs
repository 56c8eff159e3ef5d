//! Real programs reading and writing through sets under `fdset-run`: cat, cp, diff and cmp of two sets, sha256sum,
//! dd of=/dev/fdset/2, Python reading a --data set from stdin).
use fdset_testkit::*;
use std::process::Command;

fn output(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("run fdset-run")
}

#[test]
fn cat_reads_a_set() {
    let d = TempDir::new("real-cat");
    let f = d.file("f", b"line one\nline two\n");
    let out = output(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "cat",
        "/dev/fdset/1",
    ]));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(out.stdout, b"line one\nline two\n");
}

/// cp stats the source before and after opening it and refuses a file that
/// "was replaced while being copied": the stat family must answer for the set.
#[test]
fn cp_copies_a_set_to_a_file() {
    let d = TempDir::new("real-cp");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let f = d.file("f", &content);
    let dst = d.path().join("out");
    let out = output(
        fdset_run()
            .arg("--file")
            .arg(file_arg(1, &f, "ro"))
            .args(["--", "cp", "/dev/fdset/1"])
            .arg(&dst),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(std::fs::read(&dst).unwrap(), content);
}

/// diff and cmp of two sets: equal contents succeed, different ones are
/// reported with the set paths.
#[test]
fn diff_and_cmp_of_two_sets() {
    let d = TempDir::new("real-diff");
    let a = d.file("a", b"alpha\nbeta\n");
    let a2 = d.file("a2", b"alpha\nbeta\n");
    let b = d.file("b", b"alpha\ngamma\n");
    let run = |prog: &[&str], second: &std::path::Path| {
        output(
            fdset_run()
                .arg("--file")
                .arg(file_arg(1, &a, "ro"))
                .arg("--file")
                .arg(file_arg(2, second, "ro"))
                .arg("--")
                .args(prog)
                .args(["/dev/fdset/1", "/dev/fdset/2"]),
        )
    };
    let same = run(&["diff"], &a2);
    assert!(same.status.success(), "{}", stderr_of(&same));
    assert_eq!(same.stdout, b"");
    let differ = run(&["diff"], &b);
    assert_eq!(differ.status.code(), Some(1), "{}", stderr_of(&differ));
    assert_eq!(stdout_of(&differ), "2c2\n< beta\n---\n> gamma\n");
    let same = run(&["cmp"], &a2);
    assert!(same.status.success(), "{}", stderr_of(&same));
    let differ = run(&["cmp"], &b);
    assert_eq!(differ.status.code(), Some(1));
    assert_eq!(
        stdout_of(&differ),
        "/dev/fdset/1 /dev/fdset/2 differ: byte 7, line 2\n"
    );
}

#[test]
fn sha256sum_of_a_set_matches_the_file() {
    let d = TempDir::new("real-sha");
    let f = d.file("f", &vec![0x5au8; 123_457]);
    let expected = Command::new("sha256sum").arg(&f).output().unwrap();
    let expected = stdout_of(&expected)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let out = output(fdset_run().arg("--file").arg(file_arg(1, &f, "ro")).args([
        "--",
        "sha256sum",
        "/dev/fdset/1",
    ]));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{expected}  /dev/fdset/1\n"));
}

/// dd opens its output O_WRONLY|O_CREAT|O_TRUNC: the shim truncates the
/// set's file as open would.
#[test]
fn dd_writes_into_a_set() {
    let d = TempDir::new("real-dd");
    let src = d.file("src", &vec![0xa5u8; 70_000]);
    let dst = d.file("dst", &vec![1u8; 100_000]);
    let out = output(
        fdset_run()
            .arg("--file")
            .arg(file_arg(1, &src, "ro"))
            .arg("--file")
            .arg(file_arg(2, &dst, "wo"))
            .args([
                "--",
                "dd",
                "if=/dev/fdset/1",
                "of=/dev/fdset/2",
                "bs=8192",
                "status=none",
            ]),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(std::fs::read(&dst).unwrap(), vec![0xa5u8; 70_000]);
}

/// Python reads a secret given on the launcher's stdin (`--data path=-`),
/// and sees the path exist with os.path.exists (the stat family).
#[test]
fn python_reads_data_from_stdin() {
    let script = "import os\n\
        print(os.path.exists('/dev/fdset/1'), os.path.exists('/dev/fdset/2'))\n\
        print(open('/dev/fdset/1').read(), end='')\n";
    let mut cmd = fdset_run();
    cmd.args(["--data", "set=1,path=-", "--"])
        .arg(python())
        .args(["-c", script]);
    let out = output_with_stdin(cmd, b"token=abc123\n");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "True False\ntoken=abc123\n");
}
