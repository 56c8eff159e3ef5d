//! Abuse: the control socket of `fdset-run --qmp` admits only its
//! own user (file mode 0600, then SO_PEERCRED: same uid or root), and the
//! control fds and FDSET_* variables do not reach a program started
//! without the shim.
use fdset_testkit::*;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Not root and not us (the tests run as root: `nobody`).
const OTHER_UID: u32 = 65534;

/// fdset-run with no FDSET_* variable of ours around (cargo sets some).
fn fdset_run() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fdset-run"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("FDSET_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("FDSET_SHIM_LIB", shim_lib());
    cmd
}

/// Kill and reap the launched program when the test ends, pass or fail.
struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a client running as `uid` gets from the socket: "refused: ERRNO" when
/// connect fails, else the first line it reads ("" at once-closed EOF).
fn first_line_as(uid: u32, sock: &Path) -> String {
    let script = "import socket, sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        s.settimeout(10)\n\
        try:\n    s.connect(sys.argv[1])\n\
        except OSError as e:\n    print('refused:', e.errno); sys.exit(0)\n\
        print(s.makefile('rb').readline().decode().strip())\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(sock)
        .uid(uid)
        .output()
        .expect("run python3");
    assert!(out.status.success(), "client failed: {}", stderr_of(&out));
    stdout_of(&out).trim_end().to_string()
}

// "A listening control socket created by fdset-run --qmp is mode
// 0600 and refuses peers of another uid (SO_PEERCRED)".
#[test]
fn control_socket_refuses_peers_of_another_uid() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("abuse-peer");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.path().join("ctl.qmp");
    let mut prog = Running(
        fdset_run()
            .arg("--qmp")
            .arg(&sock)
            .args(["--", "sleep", "30"])
            .spawn()
            .expect("start fdset-run"),
    );
    wait_for_path(&sock, &mut prog.0);
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The file mode stops another user at connect().
    assert_eq!(
        first_line_as(OTHER_UID, &sock),
        format!("refused: {}", libc::EACCES)
    );
    // Were the mode loosened, the server itself still turns the peer away:
    // closed before the greeting.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(first_line_as(OTHER_UID, &sock), "");
    // Our own uid is greeted.
    let us = first_line_as(0, &sock);
    assert!(us.starts_with("{\"QMP\""), "greeting expected, got {us:?}");
}

/// `ls -l /proc/self/fd` and the FDSET_* variables, as seen by a program the
/// shimmed program starts without LD_PRELOAD.
const GRANDCHILD: &str =
    "env -u LD_PRELOAD sh -c 'ls -l /proc/self/fd; env | grep ^FDSET_ || true'";

fn check_grandchild(out: &str, member: &Path) {
    assert!(out.contains(" 0 -> "), "the listing ran:\n{out}");
    assert!(
        !out.contains("socket:"),
        "a socket reached the grandchild:\n{out}"
    );
    assert!(
        !out.contains(&member.display().to_string()),
        "a set member reached the grandchild:\n{out}"
    );
    // FDSET_SHIM_LIB is fdset-run's own setting, not the shim's.
    let vars: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("FDSET_") && !l.starts_with("FDSET_SHIM_LIB="))
        .collect();
    assert!(
        vars.is_empty(),
        "FDSET_ variables reached the grandchild: {vars:?}"
    );
}

// "The control fds and the environment variables are consumed: a
// grandchild started without the shim can't reach the control socket."
#[test]
fn control_fds_and_variables_do_not_reach_a_grandchild_without_the_shim() {
    let dir = TempDir::new("abuse-grandchild");
    let f = dir.file("f", b"data");
    let sock = dir.path().join("ctl.qmp");
    // The launcher's socketpair monitor, a listening socket and a set.
    let out = fdset_run()
        .arg("--file")
        .arg(format!("set=1,path={}", f.display()))
        .arg("--qmp")
        .arg(&sock)
        .args(["--", "sh", "-c", GRANDCHILD])
        .stdin(Stdio::null())
        .output()
        .expect("run fdset-run");
    assert!(out.status.success(), "{}", stderr_of(&out));
    check_grandchild(&stdout_of(&out), &f);

    // The same with the control socket given straight to a preloaded program.
    let (ours, theirs) = UnixStream::pair().unwrap();
    let mut cmd = preloaded("sh");
    cmd.args(["-c", GRANDCHILD])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd.env("FDSET_CONTROL_FD", "3")
        .env("FDSET_ADD_FD", "fd=4,set=1");
    let control = std::fs::File::from(std::os::fd::OwnedFd::from(theirs));
    inherit_fds(
        &mut cmd,
        vec![(control, 3), (open_for_child(&f, false, true), 4)],
    );
    let mut child = cmd.spawn().expect("spawn sh");
    let mut greeting = String::new();
    BufReader::new(&ours).read_line(&mut greeting).unwrap();
    assert!(
        greeting.starts_with("{\"QMP\""),
        "the program serves its control socket: {greeting:?}"
    );
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(child.wait().unwrap().success());
    check_grandchild(&text, &f);
}
