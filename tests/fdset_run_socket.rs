//! `fdset-run --qmp PATH`: the socket it made is removed at exit only while
//! PATH still names that very socket, and a PATH too long for a socket
//! address is refused with a message that says so.
use fdset_testkit::*;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Stdio;

/// `fdset-run --qmp SOCK -- cat`: the program ends when its stdin
/// is closed.
fn launcher(sock: &Path) -> std::process::Child {
    fdset_run()
        .arg("--qmp")
        .arg(sock)
        .args(["--", "cat"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start fdset-run")
}

fn end(mut child: std::process::Child) {
    drop(child.stdin.take());
    let st = child.wait().expect("wait for fdset-run");
    assert!(st.success(), "fdset-run: {st:?}");
}

#[test]
fn its_own_socket_is_removed_at_exit() {
    let dir = TempDir::new("run-sock-own");
    let sock = dir.path().join("ctl.qmp");
    let mut child = launcher(&sock);
    wait_for_path(&sock, &mut child);
    assert!(
        std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket()
    );
    end(child);
    assert!(!sock.exists(), "the socket outlived fdset-run");
}

#[test]
fn a_file_put_in_place_of_the_socket_is_left_alone() {
    let dir = TempDir::new("run-sock-file");
    let sock = dir.path().join("ctl.qmp");
    let mut child = launcher(&sock);
    wait_for_path(&sock, &mut child);
    std::fs::remove_file(&sock).unwrap();
    std::fs::File::create(&sock)
        .and_then(|mut f| f.write_all(b"somebody else's"))
        .unwrap();
    end(child);
    assert_eq!(std::fs::read(&sock).unwrap(), b"somebody else's");
}

#[test]
fn another_socket_at_the_path_is_left_alone() {
    let dir = TempDir::new("run-sock-other");
    let sock = dir.path().join("ctl.qmp");
    let mut child = launcher(&sock);
    wait_for_path(&sock, &mut child);
    std::fs::remove_file(&sock).unwrap();
    let _theirs = std::os::unix::net::UnixListener::bind(&sock).expect("bind another socket");
    end(child);
    assert!(
        std::fs::symlink_metadata(&sock).is_ok_and(|m| m.file_type().is_socket()),
        "fdset-run removed a socket that was not its own"
    );
}

/// A directory under the test's temp dir whose `name` makes a path of
/// exactly `len` bytes.
fn path_of_len(dir: &TempDir, len: usize) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let base = dir.path().as_os_str().as_bytes().len() + 1;
    assert!(len > base + 2, "temp dir path too long for the test");
    let p = dir.path().join("s".repeat(len - base));
    assert_eq!(p.as_os_str().as_bytes().len(), len);
    p
}

#[test]
fn a_qmp_path_over_107_bytes_is_refused_saying_so() {
    let dir = TempDir::new("run-sock-long");
    let long = path_of_len(&dir, 108);
    let out = fdset_run()
        .arg("--qmp")
        .arg(&long)
        .args(["--", "true"])
        .output()
        .expect("run fdset-run");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        format!(
            "fdset-run: --qmp {}: the path is 108 bytes long; a Unix socket path can be at most 107 bytes (choose a shorter one)\n",
            long.display()
        )
    );
    assert!(!long.exists());
    // 107 bytes fit.
    let fits = path_of_len(&dir, 107);
    let out = fdset_run()
        .arg("--qmp")
        .arg(&fits)
        .args(["--", "true"])
        .output()
        .expect("run fdset-run");
    assert!(out.status.success(), "{}", stderr_of(&out));
}
