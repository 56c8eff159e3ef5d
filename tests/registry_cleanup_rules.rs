//! Unit tests of the registry's close and cleanup rules (spec section 2,
//! "Close", "Cleanup of a set", "In use, and monitors"), with a recording
//! fake of the descriptor operations: a closed dup lowers the refcount,
//! members close at refcount 0 when their set is not in use or they were
//! removed, and monitors (or no control socket) keep sets in use.
use fdset_core::registry;
use fdset_testkit::fake_fdops;
use fdset_testkit::registry_ops::*;

use fake_fdops::FakeFds;
use libc::{O_RDONLY, O_RDWR, O_WRONLY};
use registry::{ClosedMember, Registry, SetView};

// ---- Close

#[test]
fn closing_a_dup_decrements_the_refcount() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d1) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d2) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    close_dup(&mut reg, &mut fake, d1);
    assert_eq!(refcount(&reg, 1), 1);
    assert!(!reg.is_dup(d1) && reg.is_dup(d2));
}

#[test]
fn forgetting_an_fd_that_is_not_a_dup_does_nothing() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let mine = fake.open_file(O_RDONLY, true);
    fake.take_events();
    let mut closed = Vec::new();
    assert!(!reg.forget_dup(&mut fake, mine, &mut closed));
    assert!(
        !reg.forget_dup(&mut fake, m, &mut closed),
        "a member is not a dup"
    );
    assert!(!reg.forget_dup(&mut fake, -1, &mut closed));
    assert!(closed.is_empty());
    assert_eq!(fake.take_events(), vec![]);
}

// ---- Cleanup: refcount == 0 && (!in_use || removed)

#[test]
fn with_a_monitor_members_outlive_their_dups() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert_eq!(close_dup(&mut reg, &mut fake, d), vec![]);
    assert!(fake.is_open(m));
}

#[test]
fn without_a_monitor_the_last_dup_close_closes_the_members_and_drops_the_set() {
    let mut reg = Registry::new();
    let mut fake = FakeFds::new();
    let a = add(&mut reg, &mut fake, 1, O_RDONLY);
    let b = add(&mut reg, &mut fake, 1, O_RDWR);
    let (_, d1) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d2) = open_ok(&mut reg, &mut fake, 1, O_RDWR);
    assert_eq!(
        close_dup(&mut reg, &mut fake, d1),
        vec![],
        "refcount still 1"
    );
    assert!(fake.is_open(a) && fake.is_open(b));
    let closed = close_dup(&mut reg, &mut fake, d2);
    assert_eq!(
        closed,
        vec![
            ClosedMember {
                set: 1,
                fd: a,
                removed: false,
                accmode: O_RDONLY
            },
            ClosedMember {
                set: 1,
                fd: b,
                removed: false,
                accmode: O_RDWR
            }
        ]
    );
    assert!(!fake.is_open(a) && !fake.is_open(b));
    assert!(reg.set(1).is_none());
}

#[test]
fn removed_member_stays_hidden_until_refcount_zero() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let other = add(&mut reg, &mut fake, 1, O_RDWR);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert_eq!(remove(&mut reg, &mut fake, 1, Some(m)).unwrap(), vec![]);
    assert!(fake.is_open(m), "kept while a dup of its set is open");
    assert_eq!(
        reg.query(),
        vec![SetView {
            id: 1,
            fds: vec![(other, None)]
        }]
    );
    assert_eq!(
        close_dup(&mut reg, &mut fake, d),
        vec![ClosedMember {
            set: 1,
            fd: m,
            removed: true,
            accmode: O_RDONLY
        }]
    );
    assert!(!fake.is_open(m) && fake.is_open(other));
}

#[test]
fn removing_a_member_with_no_dups_closes_it_at_once() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    assert_eq!(
        remove(&mut reg, &mut fake, 1, Some(m)).unwrap(),
        vec![ClosedMember {
            set: 1,
            fd: m,
            removed: true,
            accmode: O_RDONLY
        }]
    );
    assert!(!fake.is_open(m));
    assert!(reg.set(1).is_none(), "no members, no dups: dropped");
}

#[test]
fn remove_whole_set_marks_every_member() {
    let (mut reg, mut fake) = monitored();
    let a = add(&mut reg, &mut fake, 2, O_RDONLY);
    let b = add(&mut reg, &mut fake, 2, O_WRONLY);
    let closed = remove(&mut reg, &mut fake, 2, None).unwrap();
    assert_eq!(FakeFds::closed(&fake.take_events()), {
        let mut v = vec![a, b];
        v.sort();
        v
    });
    assert_eq!(closed.len(), 2);
    assert!(reg.set(2).is_none());
}

#[test]
fn remove_reports_not_found_for_missing_set_fd_or_already_removed_member() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert!(remove(&mut reg, &mut fake, 9, None).is_err());
    assert!(remove(&mut reg, &mut fake, 9, Some(m)).is_err());
    assert!(remove(&mut reg, &mut fake, 1, Some(m + 100)).is_err());
    assert!(
        remove(&mut reg, &mut fake, 1, Some(d)).is_err(),
        "a dup is not a member"
    );
    remove(&mut reg, &mut fake, 1, Some(m)).unwrap();
    assert!(
        remove(&mut reg, &mut fake, 1, Some(m)).is_err(),
        "removed members are invisible"
    );
    assert!(fake.is_open(m));
}

// ---- In use: monitors, and processes without a control socket

#[test]
fn last_monitor_disconnect_closes_idle_members_of_every_set() {
    let mut reg = Registry::new();
    let mut fake = FakeFds::new();
    reg.monitor_connected();
    reg.monitor_connected();
    let idle = add(&mut reg, &mut fake, 1, O_RDONLY);
    let busy = add(&mut reg, &mut fake, 2, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 2, O_RDONLY);
    assert_eq!(
        disconnect(&mut reg, &mut fake),
        vec![],
        "one monitor is still connected"
    );
    assert_eq!(
        disconnect(&mut reg, &mut fake),
        vec![ClosedMember {
            set: 1,
            fd: idle,
            removed: false,
            accmode: O_RDONLY
        }]
    );
    assert!(fake.is_open(busy), "its set has a dup open");
    assert!(reg.set(1).is_none());
    assert_eq!(
        close_dup(&mut reg, &mut fake, d),
        vec![ClosedMember {
            set: 2,
            fd: busy,
            removed: false,
            accmode: O_RDONLY
        }]
    );
}

#[test]
fn a_monitor_connecting_puts_sets_in_use_again() {
    let mut reg = Registry::new();
    let mut fake = FakeFds::new();
    reg.monitor_connected();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    disconnect(&mut reg, &mut fake);
    reg.monitor_connected();
    assert_eq!(close_dup(&mut reg, &mut fake, d), vec![]);
    assert!(fake.is_open(m));
}

#[test]
fn without_a_control_socket_sets_stay_in_use_but_removed_members_go() {
    let mut reg = Registry::new();
    reg.set_always_in_use(true);
    let mut fake = FakeFds::new();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let gone = add(&mut reg, &mut fake, 1, O_RDWR);
    for _ in 0..3 {
        let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
        assert_eq!(close_dup(&mut reg, &mut fake, d), vec![]);
    }
    assert!(fake.is_open(m));
    assert_eq!(
        remove(&mut reg, &mut fake, 1, Some(gone)).unwrap(),
        vec![ClosedMember {
            set: 1,
            fd: gone,
            removed: true,
            accmode: O_RDWR
        }]
    );
}
