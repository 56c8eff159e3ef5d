//! Spec section 3: "a listening socket accepts monitors, up to 64 at a time
//! (a further peer is closed at once and the refusal logged)": idle peers
//! must not be able to use up the program's descriptors.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use std::process::Stdio;

const MAX_MONITORS: usize = 64;

fn refusals(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("refused a control connection: 64 monitors are connected"))
        .count()
}

#[test]
fn at_most_64_monitors_at_once_and_the_rest_are_closed_and_logged() {
    let dir = TempDir::new("monitor-limit");
    let log = dir.path().join("stderr.txt");
    let (prog, path) = with_listener(&dir, |cmd| {
        cmd.env("FDSET_LOG", "1")
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
    });
    let before = prog.fds().len();
    let mut monitors: Vec<Qmp> = (0..MAX_MONITORS)
        .map(|_| {
            let mut q = Qmp::connect(&path);
            q.greeting();
            q
        })
        .collect();
    // Every further peer is closed without a greeting, however many come.
    for _ in 0..20 {
        let mut q = Qmp::connect(&path);
        assert!(q.at_eof(), "a peer beyond {MAX_MONITORS} was served");
    }
    assert_eq!(prog.fds().len(), before + MAX_MONITORS);
    assert_eq!(refusals(&log), 20);
    // The monitors that are in keep working.
    for q in monitors.iter_mut().step_by(7) {
        q.negotiate();
    }
    // A monitor that leaves makes room for one more.
    monitors.pop();
    prog.wait_fds("the monitor that left is closed", |fds| {
        fds.len() == before + MAX_MONITORS - 1
    });
    let mut q = Qmp::connect(&path);
    q.greeting();
    q.negotiate();
    let mut over = Qmp::connect(&path);
    assert!(over.at_eof());
    assert_eq!(refusals(&log), 21);
}

/// A monitor given as a connected socket counts too.
#[test]
fn a_socketpair_monitor_counts_toward_the_64() {
    let dir = TempDir::new("monitor-limit-pair");
    let path = dir.path().join("qmp.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let mut cmd = preloaded(c_test("qmp_step"));
    cmd.env("FDSET_CONTROL_FD", "3,4");
    inherit_fds(
        &mut cmd,
        vec![
            (std::fs::File::from(std::os::fd::OwnedFd::from(theirs)), 3),
            (std::fs::File::from(std::os::fd::OwnedFd::from(listener)), 4),
        ],
    );
    let _prog = Program::spawn(cmd);
    let mut pair = Qmp::new(ours);
    pair.greeting();
    let _accepted: Vec<Qmp> = (1..MAX_MONITORS)
        .map(|_| {
            let mut q = Qmp::connect(&path);
            q.greeting();
            q
        })
        .collect();
    let mut over = Qmp::connect(&path);
    assert!(over.at_eof(), "the 65th monitor was served");
    pair.negotiate();
}
