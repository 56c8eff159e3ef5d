//! Unit tests of the registry's bookkeeping for the hooks (spec section 2),
//! with a recording fake of the descriptor operations: members and dups
//! renumbered (dup2 onto a member, freopen), a forked child, the state
//! restored after an exec, and a dup number reused after a close no hook saw.
use fdset_core::registry;
use fdset_testkit::fake_fdops;
use fdset_testkit::registry_ops::*;

use fake_fdops::FakeFds;
use libc::O_RDONLY;
use registry::{ClosedMember, MemberInfo, Registry, SetView};

// ---- Bookkeeping used by the hooks (dup2 onto a member, freopen, fork, exec)

#[test]
fn renumbered_member_and_dup_are_followed() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert!(reg.renumber(m, 150));
    assert!(reg.is_member(150) && !reg.is_member(m));
    assert!(reg.renumber_dup(d, 60));
    assert_eq!((reg.dup_owner(60), reg.dup_owner(d)), (Some(1), None));
    assert_eq!(reg.set(1).unwrap().dups, vec![60]);
    assert!(!reg.renumber(999, 1000) && !reg.renumber_dup(999, 1000));
}

#[test]
fn forked_child_keeps_its_sets_in_use_without_monitors() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    reg.child_after_fork();
    assert_eq!(reg.monitors(), 0);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert_eq!(close_dup(&mut reg, &mut fake, d), vec![]);
    assert!(fake.is_open(m));
}

#[test]
fn restored_state_behaves_like_the_original() {
    let mut reg = Registry::new();
    let mut fake = FakeFds::new();
    let m = fake.open_file(O_RDONLY, true);
    let d = fake.open_file(O_RDONLY, true);
    let info = MemberInfo {
        status_flags: O_RDONLY,
        kind: Some(registry::FileKind::Regular),
    };
    reg.restore_member(
        3,
        registry::Member {
            fd: m,
            opaque: Some("o".into()),
            removed: true,
            info,
        },
    );
    reg.restore_dup(3, d);
    assert_eq!(reg.query(), vec![SetView { id: 3, fds: vec![] }]);
    assert_eq!(
        close_dup(&mut reg, &mut fake, d),
        vec![ClosedMember {
            set: 3,
            fd: m,
            removed: true,
            accmode: O_RDONLY
        }]
    );
}

// ---- a dup closed where no hook sees it (README "Not supported": fcloseall,
// closedir of an fdopendir): when its number comes back from a later dup,
// the stale record goes, so its set's refcount does not stay raised forever.
#[test]
fn a_reused_dup_number_drops_the_stale_record() {
    let (mut reg, mut fake) = monitored();
    let m1 = add(&mut reg, &mut fake, 1, O_RDONLY);
    add(&mut reg, &mut fake, 2, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert!(
        remove(&mut reg, &mut fake, 1, None)
            .expect("set 1")
            .is_empty(),
        "a dup is open"
    );
    fake.program_close(d); // unseen by the registry
    assert_eq!(refcount(&reg, 1), 1);
    let (_, d2) = open_ok(&mut reg, &mut fake, 2, O_RDONLY);
    assert_eq!(d2, d, "the fake hands out the lowest free number");
    assert_eq!(reg.dup_owner(d), Some(2));
    assert_eq!(refcount(&reg, 2), 1);
    assert!(
        reg.set(1).is_none(),
        "set 1 (removed, no dup left) is dropped"
    );
    assert!(!fake.is_open(m1), "set 1's removed member is closed");
}

// The same, when the reused number comes back to the stale record's own set
// and no monitor is connected: the new dup is counted before the stale one
// goes, so the cleanup that follows sees refcount 1 and keeps the member
// the new dup was made from (spec section 2: members close at refcount 0).
#[test]
fn a_reused_dup_number_in_its_own_set_keeps_the_member_for_the_new_dup() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, d) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert!(disconnect(&mut reg, &mut fake).is_empty(), "a dup is open");
    fake.program_close(d); // unseen by the registry
    let (_, d2) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert_eq!(d2, d, "the fake hands out the lowest free number");
    assert_eq!(refcount(&reg, 1), 1);
    assert_eq!(reg.dup_owner(d), Some(1));
    assert!(
        fake.is_open(m),
        "the member stays while the new dup is open"
    );
    assert_eq!(
        close_dup(&mut reg, &mut fake, d),
        vec![ClosedMember {
            set: 1,
            fd: m,
            removed: false,
            accmode: O_RDONLY
        }]
    );
    assert!(reg.set(1).is_none());
}
