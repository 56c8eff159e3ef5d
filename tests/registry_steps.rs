//! The open in steps (`Registry::plan_open`, `PlannedOpen::dup`,
//! `Registry::record_planned`, `RecordedDup::apply_flags`,
//! `Registry::undo_open`), which the shim uses so that other threads do not
//! wait for its system calls: what another thread may do between the steps
//! keeps spec section 2 true ("Any failure leaves nothing behind", cleanup,
//! "a dup is recorded if and only if its fd exists"). The model test
//! (`registry_matches_model_*`) checks the steps with nothing in between.
use fdset_core::registry::{
    self, ClosedMember, FdOps, MemberInfo, OpenOutcome, Recorded, Registry,
};
use fdset_testkit::fake_fdops::{Event, FakeFds, Op};
use libc::{EIO, O_RDONLY, O_RDWR, O_TRUNC};

fn add(reg: &mut Registry, fake: &mut FakeFds, set: u64, status: i32) -> i32 {
    let fd = fake.open_file(status, true);
    let info = MemberInfo {
        status_flags: status,
        kind: Some(registry::FileKind::Regular),
    };
    reg.add_member(Some(set), fd, None, info);
    fd
}

fn monitored() -> (Registry, FakeFds) {
    let mut reg = Registry::new();
    reg.monitor_connected();
    (reg, FakeFds::new())
}

/// Steps 1 to 3 with nothing in between.
fn recorded(reg: &mut Registry, fake: &mut FakeFds, set: u64, flags: i32) -> registry::RecordedDup {
    let plan = reg.plan_open(fake, set, flags).expect("plan");
    let dup = plan.dup(fake).expect("dup");
    match reg.record_planned(fake, &plan, dup, &mut Vec::new()) {
        Recorded::Dup(d) => d,
        other => panic!("not recorded: {other:?}"),
    }
}

fn refcount(reg: &Registry, set: u64) -> usize {
    reg.set(set).map_or(0, |s| s.refcount())
}

#[test]
fn a_member_closed_between_the_choice_and_the_dup_means_start_again() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let plan = reg.plan_open(&mut fake, 1, O_RDONLY).unwrap();
    let dup = plan.dup(&mut fake).unwrap();
    // Another thread: remove-fd, and with no dup counted the member closes.
    let mut closed = Vec::new();
    reg.remove(&mut fake, 1, Some(m), &mut closed).unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(
        reg.record_planned(&mut fake, &plan, dup, &mut Vec::new()),
        Recorded::Again,
        "a dup made from a number that may name another file by now is not recorded"
    );
    assert!(!reg.is_dup(dup));
    fake.close(dup);
    // Planned again: the set is gone, as if the remove had come first.
    assert_eq!(
        reg.plan_open(&mut fake, 1, O_RDONLY).unwrap_err(),
        OpenOutcome::NoSuchSet { set: 1 }
    );
}

#[test]
fn a_member_moved_between_the_choice_and_the_dup_means_start_again() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let plan = reg.plan_open(&mut fake, 1, O_RDONLY).unwrap();
    let dup = plan.dup(&mut fake).unwrap();
    // Another thread: dup2 onto the member's number moves the member.
    assert!(reg.renumber(m, 150));
    assert_eq!(
        reg.record_planned(&mut fake, &plan, dup, &mut Vec::new()),
        Recorded::Again
    );
    fake.close(dup);
    let plan = reg.plan_open(&mut fake, 1, O_RDONLY).unwrap();
    assert_eq!(
        plan.member, 150,
        "the new plan duplicates the member where it is now"
    );
}

#[test]
fn a_new_member_added_between_the_steps_does_not_stop_the_open() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    let plan = reg.plan_open(&mut fake, 1, O_RDONLY).unwrap();
    let dup = plan.dup(&mut fake).unwrap();
    add(&mut reg, &mut fake, 1, O_RDONLY);
    let Recorded::Dup(d) = reg.record_planned(&mut fake, &plan, dup, &mut Vec::new()) else {
        panic!("not recorded");
    };
    assert_eq!((d.member, refcount(&reg, 1)), (m, 1));
}

#[test]
fn a_failed_open_undone_leaves_a_set_not_in_use_as_it_was() {
    // A control socket but no monitor yet: the set is not in use, and its
    // members close after the first dup closes, not after a failed open.
    let mut reg = Registry::new();
    let mut fake = FakeFds::new();
    let m = add(&mut reg, &mut fake, 1, O_RDWR);
    let d = recorded(&mut reg, &mut fake, 1, O_RDWR | O_TRUNC);
    assert_eq!(refcount(&reg, 1), 1);
    fake.fail_next(Op::Truncate, EIO);
    let (errno, what) = d.apply_flags(&mut fake).unwrap_err();
    let mut closed = Vec::new();
    let outcome = reg.undo_open(&mut fake, &d, errno, what, &mut closed);
    assert_eq!(outcome.result(), Err(EIO));
    assert_eq!(closed, vec![], "a failed open closes no member");
    assert!(fake.is_open(m) && !fake.is_open(d.dup));
    assert_eq!((refcount(&reg, 1), reg.is_dup(d.dup)), (0, false));
    assert!(reg.dup_index_consistent());
}

#[test]
fn a_cleanup_that_saw_the_failed_opens_dup_runs_again_when_it_is_undone() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDWR);
    let d = recorded(&mut reg, &mut fake, 1, O_RDWR | O_TRUNC);
    // Another thread: remove-fd while the dup counts; the member stays.
    let mut closed = Vec::new();
    reg.remove(&mut fake, 1, Some(m), &mut closed).unwrap();
    assert_eq!(closed, vec![]);
    fake.fail_next(Op::Truncate, EIO);
    let (errno, what) = d.apply_flags(&mut fake).unwrap_err();
    let outcome = reg.undo_open(&mut fake, &d, errno, what, &mut closed);
    assert_eq!(outcome.result(), Err(EIO));
    // As if the failed open had left nothing and the remove came after it.
    assert_eq!(
        closed,
        vec![ClosedMember {
            set: 1,
            fd: m,
            removed: true,
            accmode: O_RDWR
        }]
    );
    assert!(!fake.is_open(m) && !fake.is_open(d.dup) && reg.set(1).is_none());
}

#[test]
fn undo_leaves_alone_a_number_that_is_no_longer_the_opens() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDWR);
    let first = recorded(&mut reg, &mut fake, 1, O_RDWR | O_TRUNC);
    // Another thread: close_range forgets and closes the dup; a third opens
    // the set and gets the same number.
    let mut closed = Vec::new();
    assert!(reg.forget_dup(&mut fake, first.dup, &mut closed));
    fake.program_close(first.dup);
    let second = recorded(&mut reg, &mut fake, 1, O_RDWR);
    assert_eq!(second.dup, first.dup);
    // The first open's flags fail on the number (it is closed or reused).
    fake.take_events();
    let outcome = reg.undo_open(&mut fake, &first, EIO, "ftruncate", &mut closed);
    assert_eq!(outcome.result(), Err(EIO));
    assert_eq!(fake.take_events(), vec![], "nothing closed");
    assert_eq!((reg.dup_owner(second.dup), refcount(&reg, 1)), (Some(1), 1));
}

#[test]
fn a_stale_record_of_the_number_is_kept_when_the_open_fails() {
    // The program closed a dup where no hook sees it (fcloseall): its record
    // stays until the number comes back. An open that fails must not change
    // that, so its flags are applied before it is recorded.
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDWR);
    add(&mut reg, &mut fake, 2, O_RDWR);
    let stale = recorded(&mut reg, &mut fake, 2, O_RDWR).dup;
    fake.program_close(stale);
    let plan = reg.plan_open(&mut fake, 1, O_RDWR | O_TRUNC).unwrap();
    let dup = plan.dup(&mut fake).unwrap();
    assert_eq!(dup, stale);
    fake.fail_next(Op::Truncate, EIO);
    let outcome = reg.record_planned(&mut fake, &plan, dup, &mut Vec::new());
    assert!(
        matches!(outcome, Recorded::Failed(ref o) if o.result() == Err(EIO)),
        "{outcome:?}"
    );
    assert!(!fake.is_open(dup));
    assert_eq!((reg.dup_owner(stale), refcount(&reg, 2)), (Some(2), 1));
    assert_eq!(refcount(&reg, 1), 0);
    // The same open succeeding forgets the stale record, flags already applied.
    let plan = reg.plan_open(&mut fake, 1, O_RDWR | O_TRUNC).unwrap();
    let dup = plan.dup(&mut fake).unwrap();
    let Recorded::Dup(d) = reg.record_planned(&mut fake, &plan, dup, &mut Vec::new()) else {
        panic!("not recorded");
    };
    assert!(fake.take_events().contains(&Event::Truncate(dup)));
    assert_eq!(d.apply_flags(&mut fake), Ok(()));
    assert_eq!(fake.take_events(), vec![], "not applied twice");
    assert_eq!((reg.dup_owner(dup), refcount(&reg, 2)), (Some(1), 0));
}

#[test]
fn closing_many_dups_in_any_order_keeps_every_record_findable() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDONLY);
    add(&mut reg, &mut fake, 2, O_RDONLY);
    let mut dups: Vec<(u64, i32)> = (0..200)
        .map(|i| {
            let set = 1 + (i % 2);
            match reg.open(&mut fake, set, O_RDONLY) {
                OpenOutcome::Opened { dup, .. } => (set, dup),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    // Close from the middle outwards, then the rest.
    let mut order = Vec::new();
    while !dups.is_empty() {
        order.push(dups.remove(dups.len() / 2));
    }
    for (n, (set, fd)) in order.into_iter().enumerate() {
        assert_eq!(reg.dup_owner(fd), Some(set));
        fake.program_close(fd);
        assert!(reg.forget_dup(&mut fake, fd, &mut Vec::new()));
        assert!(reg.dup_index_consistent(), "after {} closes", n + 1);
    }
    assert_eq!((refcount(&reg, 1), refcount(&reg, 2)), (0, 0));
}
