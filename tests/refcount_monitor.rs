//! Spec section 2 "Close" and "Cleanup of a set", with a monitor connected
//! so that refcounts decide when members close ("fclose, dup2,
//! close_range over dups keep refcounts right"; members closed at the right
//! moments, checked in /proc/PID/fd).
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;

/// A removed set's member stays open while any dup is open, and closes
/// with the last one, whichever call closes it.
#[test]
fn removed_member_closes_with_the_last_dup_whatever_closes_it() {
    let dir = TempDir::new("refcount");
    let path = dir.file("data.txt", b"refcount\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let file = std::fs::File::open(&path).expect("open data");
    let member = q.add_fd(&file, json!({"fdset-id": 1}))["return"]["fd"]
        .as_i64()
        .expect("fd") as i32;
    drop(file);

    let a = p.open("/dev/fdset/1", "r").expect("dup a");
    let b = p.open("/dev/fdset/1", "r").expect("dup b");
    let c = p.open("/dev/fdset/1", "r").expect("dup c");
    let fp = p.step("fopen /dev/fdset/1");
    let stream: i32 = fp
        .strip_prefix("fp ")
        .expect("fopen of a set path")
        .parse()
        .expect("stream number");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    // Removed members are invisible, the set is listed while dups live.
    assert_eq!(
        q.exec("query-fdsets", json!({})),
        json!({"return": [{"fdset-id": 1, "fds": []}]})
    );
    let still = |p: &Program, why: &str| {
        assert!(
            p.fds_to(&path).contains(&member),
            "member closed too early: {why}"
        )
    };

    // dup2 onto a dup closes that dup: refcount 4 -> 3.
    assert_eq!(p.step(&format!("dup2 0 {a}")), "ok");
    still(&p, "after dup2 onto one dup");
    // fclose of a stream on a dup: 3 -> 2.
    assert_eq!(p.step(&format!("fclose {stream}")), "ok");
    still(&p, "after fclose");
    // close_range over one dup: 2 -> 1.
    assert_eq!(p.step(&format!("closerange {b} {b}")), "ok");
    still(&p, "after close_range");
    // The last dup: the member goes, and so does the set.
    assert_eq!(p.step(&format!("close {c}")), "ok");
    assert!(
        p.fds_to(&path).is_empty(),
        "member not closed with the last dup"
    );
    assert_eq!(q.exec("query-fdsets", json!({})), json!({"return": []}));
    // The number dup2 put at `a` is the program's own again.
    assert_eq!(p.step(&format!("close {a}")), "ok");
}

/// Without removal, members close when the last monitor leaves and no dup
/// is open; a dup still open keeps its set's members until it is closed.
#[test]
fn members_close_when_the_last_monitor_leaves() {
    let dir = TempDir::new("refcount");
    let path1 = dir.file("one.txt", b"one\n");
    let path2 = dir.file("two.txt", b"two\n");
    let (mut p, mut q) = ready_socketpair(|_| {});
    let m1 = q.add_fd(
        &std::fs::File::open(&path1).expect("one"),
        json!({"fdset-id": 1}),
    )["return"]["fd"]
        .as_i64()
        .expect("fd") as i32;
    q.add_fd(
        &std::fs::File::open(&path2).expect("two"),
        json!({"fdset-id": 2}),
    );
    let d1 = p.open("/dev/fdset/1", "r").expect("dup of set 1");
    drop(q);
    p.wait_fds("set 2's member closed at disconnect", |fds| {
        !fds.values().any(|t| t.ends_with("two.txt"))
    });
    assert!(
        p.fds_to(&path1).contains(&m1),
        "set 1's member closed while its dup is open"
    );
    assert_eq!(p.step(&format!("close {d1}")), "ok");
    assert_eq!(
        p.fds_to(&path1),
        Vec::<i32>::new(),
        "set 1's member kept after its last dup"
    );
}
