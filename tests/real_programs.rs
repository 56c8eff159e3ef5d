//! Real programs under the shim with FDSET_ADD_FD: unmodified
//! coreutils, a shell and Python read /dev/fdset/1 and get the file's exact
//! bytes (spec section 1).
use fdset_testkit::programs::random_bytes;
use fdset_testkit::*;
use std::path::Path;
use std::process::Command;

/// `program` with `file` as set 1 (read-only member at fd 3).
fn with_set(program: impl AsRef<std::ffi::OsStr>, file: &Path) -> Command {
    let mut cmd = preloaded(program);
    cmd.env("FDSET_ADD_FD", "fd=3,set=1");
    inherit_fds(&mut cmd, vec![(open_for_child(file, false, true), 3)]);
    cmd
}

/// Run `program args` on set 1; its stdout.
fn run_on_set(program: impl AsRef<std::ffi::OsStr>, args: &[&str], file: &Path) -> Vec<u8> {
    let out = with_set(program, file)
        .args(args)
        .output()
        .expect("run program");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        args,
        stderr_of(&out)
    );
    out.stdout
}

fn fixture() -> (TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = TempDir::new("real");
    let data = random_bytes();
    let file = dir.file("data.bin", &data);
    (dir, file, data)
}

#[test]
fn cat_reads_exact_bytes() {
    let (_dir, file, data) = fixture();
    assert!(
        run_on_set("cat", &["/dev/fdset/1"], &file) == data,
        "cat output differs from the file"
    );
}

#[test]
fn head_c_reads_the_first_bytes() {
    let (_dir, file, data) = fixture();
    assert_eq!(
        run_on_set("head", &["-c", "1000", "/dev/fdset/1"], &file),
        &data[..1000]
    );
}

#[test]
fn wc_c_counts_every_byte() {
    let (_dir, file, _) = fixture();
    assert_eq!(
        run_on_set("wc", &["-c", "/dev/fdset/1"], &file),
        b"1048576 /dev/fdset/1\n"
    );
}

/// The real hash, computed by sha256sum on the file's own path without the shim.
fn real_sha256(file: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(file)
        .output()
        .expect("sha256sum");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn sha256sum_through_stdio_fopen_matches_the_real_hash() {
    let (_dir, file, _) = fixture();
    let hash = real_sha256(&file);
    let out = String::from_utf8(run_on_set("sha256sum", &["/dev/fdset/1"], &file)).unwrap();
    assert_eq!(out, format!("{hash}  /dev/fdset/1\n"));
}

/// "`sha256sum /dev/fdset/1 /dev/fdset/1` printing the same hash
/// twice" (the second open starts at offset 0 again).
#[test]
fn sha256sum_of_the_set_twice_prints_the_same_hash_twice() {
    let (_dir, file, _) = fixture();
    let hash = real_sha256(&file);
    let out = String::from_utf8(run_on_set(
        "sha256sum",
        &["/dev/fdset/1", "/dev/fdset/1"],
        &file,
    ))
    .unwrap();
    assert_eq!(out, format!("{hash}  /dev/fdset/1\n{hash}  /dev/fdset/1\n"));
}

#[test]
fn dd_if_copies_exact_bytes() {
    let (dir, file, data) = fixture();
    let copy = dir.path().join("copy.bin");
    let of = format!("of={}", copy.display());
    run_on_set(
        "dd",
        &["if=/dev/fdset/1", &of, "bs=65536", "status=none"],
        &file,
    );
    assert!(
        std::fs::read(&copy).unwrap() == data,
        "dd copy differs from the file"
    );
}

/// The interpreter binary itself (fdset_testkit::python): `python3` on PATH may be a
/// shell wrapper (pyenv), which is the exec issue's subject, not this one's.
#[test]
fn python_open_reads_exact_binary_bytes() {
    let (_dir, file, data) = fixture();
    let script = "import sys; sys.stdout.buffer.write(open('/dev/fdset/1', 'rb').read())";
    assert!(
        run_on_set(python(), &["-c", script], &file) == data,
        "python read differs from the file"
    );
}

#[test]
fn python_text_read_twice_gets_the_whole_file_each_time() {
    let dir = TempDir::new("real-py");
    let file = dir.file("text.txt", "line one\nzwei — drei\n".as_bytes());
    let script =
        "a = open('/dev/fdset/1').read(); b = open('/dev/fdset/1').read(); print(repr(a), a == b)";
    let out = with_set(python(), &file)
        .args(["-c", script])
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "'line one\\nzwei — drei\\n' True\n");
}

/// Spec section 5: FDSET_PREFIX and FDSET_ALIAS paths resolve like
/// /dev/fdset/N in an unmodified program, with the same errno for a bad
/// number or a missing set.
#[test]
fn cat_through_prefix_and_alias() {
    let dir = TempDir::new("real-alias");
    let file = dir.file("f.txt", b"through a prefix\n");
    let out = with_set("cat", &file)
        .args([
            "/run/fdset-test/1",
            "/var/lib/fdset-test/disk.img",
            "/dev/fdset/1",
        ])
        .env("FDSET_PREFIX", "/run/fdset-test")
        .env("FDSET_ALIAS", "/var/lib/fdset-test/disk.img=1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "through a prefix\n".repeat(3));

    let out = with_set("cat", &file)
        .args(["/run/fdset-test/x", "/run/fdset-test/2"])
        .env("FDSET_PREFIX", "/run/fdset-test/")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert_eq!(
        stderr_of(&out),
        "cat: /run/fdset-test/x: Invalid argument\ncat: /run/fdset-test/2: No such file or directory\n"
    );
}

/// A shell's `>` and `>>` on a set with a write-only member: O_TRUNC
/// truncates and writes at 0, O_APPEND appends (spec section 2 "Open" step 4).
#[test]
fn shell_redirections_write_and_append_to_a_set() {
    let dir = TempDir::new("real-sh");
    let file = dir.file("out.txt", b"old content, longer than the new one\n");
    let mut cmd = preloaded("/bin/sh");
    cmd.args(["-c", "echo hi > /dev/fdset/2; echo more >> /dev/fdset/2"])
        .env("FDSET_ADD_FD", "fd=4,set=2");
    inherit_fds(&mut cmd, vec![(open_for_child(&file, true, false), 4)]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(std::fs::read(&file).unwrap(), b"hi\nmore\n");
}
