//! Unit tests of the registry rules (spec section 2), one or more per rule,
//! with a recording fake of the descriptor operations.
use fdset_core::registry;
use fdset_testkit::fake_fdops;

use fake_fdops::{Event, FakeFds, Op};
use libc::{
    O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC,
    O_WRONLY,
};
use registry::{ClosedMember, MemberInfo, OpenOutcome, Registry, SetView};

/// A member with `status` flags (a regular file) added to `set`; its fd.
fn add(reg: &mut Registry, fake: &mut FakeFds, set: u64, status: i32) -> i32 {
    add_full(reg, fake, Some(set), status, true, None).1
}

fn add_full(
    reg: &mut Registry,
    fake: &mut FakeFds,
    set: Option<u64>,
    status: i32,
    regular: bool,
    opaque: Option<&str>,
) -> (u64, i32) {
    let fd = fake.open_file(status, regular);
    let info = MemberInfo {
        status_flags: status,
        regular,
    };
    (
        reg.add_member(set, fd, opaque.map(str::to_string), info),
        fd,
    )
}

fn open_ok(reg: &mut Registry, fake: &mut FakeFds, set: u64, flags: i32) -> (i32, i32) {
    match reg.open(fake, set, flags) {
        OpenOutcome::Opened {
            member,
            dup,
            set: s,
        } => {
            assert_eq!(s, set);
            (member, dup)
        }
        other => panic!("open of set {set} with flags {flags:#x} failed: {other:?}"),
    }
}

/// The program closes its dup, then the shim tells the registry.
fn close_dup(reg: &mut Registry, fake: &mut FakeFds, fd: i32) -> Vec<ClosedMember> {
    fake.program_close(fd);
    let mut closed = Vec::new();
    assert!(
        reg.forget_dup(fake, fd, &mut closed),
        "fd {fd} was not a dup"
    );
    closed
}

fn remove(
    reg: &mut Registry,
    fake: &mut FakeFds,
    set: u64,
    fd: Option<i32>,
) -> Result<Vec<ClosedMember>, registry::NotFound> {
    let mut closed = Vec::new();
    reg.remove(fake, set, fd, &mut closed).map(|()| closed)
}

fn disconnect(reg: &mut Registry, fake: &mut FakeFds) -> Vec<ClosedMember> {
    let mut closed = Vec::new();
    reg.monitor_disconnected(fake, &mut closed);
    closed
}

fn refcount(reg: &Registry, set: u64) -> usize {
    reg.set(set).map_or(0, |s| s.refcount())
}

/// A registry with one monitor connected, as in a QMP-driven process.
fn monitored() -> (Registry, FakeFds) {
    let mut reg = Registry::new();
    reg.monitor_connected();
    (reg, FakeFds::new())
}

// ---- sets and members (section 2, first bullets; add-fd ids from section 3)

#[test]
fn add_member_creates_the_set_and_lowest_free_id_fills_gaps() {
    let (mut reg, mut fake) = monitored();
    assert_eq!(
        add_full(&mut reg, &mut fake, None, O_RDONLY, true, None).0,
        0
    );
    assert_eq!(
        add_full(&mut reg, &mut fake, None, O_RDONLY, true, None).0,
        1
    );
    add(&mut reg, &mut fake, 5, O_RDONLY);
    assert_eq!(
        add_full(&mut reg, &mut fake, None, O_RDONLY, true, None).0,
        2
    );
    remove(&mut reg, &mut fake, 0, None).unwrap();
    assert!(
        reg.set(0).is_none(),
        "a set with no members and no dups is dropped"
    );
    assert_eq!(reg.lowest_free_id(), 0, "the gap at 0 is filled first");
}

#[test]
fn query_lists_sets_descending_members_in_added_order_without_removed() {
    let (mut reg, mut fake) = monitored();
    let (_, a) = add_full(&mut reg, &mut fake, Some(1), O_RDONLY, true, Some("first"));
    let (_, b) = add_full(&mut reg, &mut fake, Some(1), O_RDWR, true, None);
    let (_, c) = add_full(&mut reg, &mut fake, Some(1), O_RDWR, true, Some("x,y"));
    let (_, d) = add_full(&mut reg, &mut fake, Some(7), O_RDONLY, true, None);
    remove(&mut reg, &mut fake, 1, Some(b)).unwrap();
    assert_eq!(
        reg.query(),
        vec![
            SetView {
                id: 7,
                fds: vec![(d, None)]
            },
            SetView {
                id: 1,
                fds: vec![(a, Some("first".into())), (c, Some("x,y".into()))]
            },
        ]
    );
}

#[test]
fn set_with_only_removed_members_but_live_dups_is_listed_empty() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 3, O_RDONLY);
    let (_, dup) = open_ok(&mut reg, &mut fake, 3, O_RDONLY);
    remove(&mut reg, &mut fake, 3, None).unwrap();
    assert_eq!(reg.query(), vec![SetView { id: 3, fds: vec![] }]);
    close_dup(&mut reg, &mut fake, dup);
    assert_eq!(reg.query(), vec![]);
}

// ---- Open, step 2: no such set

#[test]
fn open_of_missing_set_is_enoent_and_touches_nothing() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDONLY);
    let out = reg.open(&mut fake, 2, O_RDONLY);
    assert_eq!(out.result(), Err(libc::ENOENT));
    assert_eq!(fake.take_events(), vec![]);
}

// ---- Open, step 3: member choice

#[test]
fn open_chooses_newest_member_with_the_requested_access_mode() {
    let (mut reg, mut fake) = monitored();
    let ro_old = add(&mut reg, &mut fake, 1, O_RDONLY);
    let rw = add(&mut reg, &mut fake, 1, O_RDWR);
    let ro_new = add(&mut reg, &mut fake, 1, O_RDONLY);
    let _ = ro_old;
    assert_eq!(open_ok(&mut reg, &mut fake, 1, O_RDONLY).0, ro_new);
    assert_eq!(open_ok(&mut reg, &mut fake, 1, O_RDWR).0, rw);
}

#[test]
fn open_with_no_member_of_that_mode_is_eacces_and_leaves_nothing() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDONLY);
    add(&mut reg, &mut fake, 1, O_RDWR);
    let before = fake.fds.clone();
    assert_eq!(reg.open(&mut fake, 1, O_WRONLY).result(), Err(libc::EACCES));
    assert_eq!(fake.fds, before);
    assert_eq!(refcount(&reg, 1), 0);
}

#[test]
fn open_skips_removed_members() {
    let (mut reg, mut fake) = monitored();
    let old = add(&mut reg, &mut fake, 1, O_RDONLY);
    let new = add(&mut reg, &mut fake, 1, O_RDONLY);
    let (_, keep) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    remove(&mut reg, &mut fake, 1, Some(new)).unwrap();
    assert!(
        fake.is_open(new),
        "removed member stays (hidden) while a dup is open"
    );
    assert_eq!(open_ok(&mut reg, &mut fake, 1, O_RDONLY).0, old);
    remove(&mut reg, &mut fake, 1, Some(old)).unwrap();
    assert_eq!(reg.open(&mut fake, 1, O_RDONLY).result(), Err(libc::EACCES));
    let _ = keep;
}

#[test]
fn open_prefers_a_member_whose_o_direct_matches() {
    let (mut reg, mut fake) = monitored();
    let direct = add(&mut reg, &mut fake, 1, O_RDWR | O_DIRECT);
    let plain = add(&mut reg, &mut fake, 1, O_RDWR);
    assert_eq!(open_ok(&mut reg, &mut fake, 1, O_RDWR | O_DIRECT).0, direct);
    assert_eq!(open_ok(&mut reg, &mut fake, 1, O_RDWR).0, plain);
    // Only one candidate: it is used whatever its O_DIRECT.
    let only = add(&mut reg, &mut fake, 2, O_RDONLY);
    assert_eq!(open_ok(&mut reg, &mut fake, 2, O_RDONLY | O_DIRECT).0, only);
}

#[test]
fn o_direct_preference_sees_flags_changed_by_an_earlier_open() {
    // F_SETFL on a dup changes the shared description, so O_DIRECT is read
    // from the member now, not from when it was added.
    let (mut reg, mut fake) = monitored();
    let a = add(&mut reg, &mut fake, 1, O_RDWR);
    let b = add(&mut reg, &mut fake, 1, O_RDWR);
    assert_eq!(
        open_ok(&mut reg, &mut fake, 1, O_RDWR | O_DIRECT).0,
        b,
        "no match: newest"
    );
    assert_ne!(
        fake.desc_of(b).status & O_DIRECT,
        0,
        "request's O_DIRECT applied with F_SETFL"
    );
    assert_eq!(
        open_ok(&mut reg, &mut fake, 1, O_RDWR).0,
        a,
        "b is O_DIRECT now; a matches"
    );
}

// ---- Open, step 4: the dup and the flags applied to it

#[test]
fn o_cloexec_chooses_f_dupfd_cloexec_and_its_absence_f_dupfd() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_RDONLY);
    fake.take_events();
    let (_, d1) = open_ok(&mut reg, &mut fake, 1, O_RDONLY | O_CLOEXEC);
    let (_, d2) = open_ok(&mut reg, &mut fake, 1, O_RDONLY);
    assert!(fake.slot(d1).cloexec);
    assert!(
        !fake.slot(d2).cloexec,
        "a plain open() result must survive exec"
    );
    let dups: Vec<Event> = fake
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Dup { .. }))
        .collect();
    assert_eq!(
        dups,
        vec![
            Event::Dup {
                from: m,
                to: d1,
                cloexec: true
            },
            Event::Dup {
                from: m,
                to: d2,
                cloexec: false
            }
        ]
    );
}

#[test]
fn o_sync_mismatch_is_einval_and_leaves_no_fd() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDWR);
    add(&mut reg, &mut fake, 2, O_RDWR | O_SYNC);
    let before = fake.fds.clone();
    assert_eq!(
        reg.open(&mut fake, 1, O_RDWR | O_SYNC).result(),
        Err(libc::EINVAL)
    );
    assert_eq!(reg.open(&mut fake, 2, O_RDWR).result(), Err(libc::EINVAL));
    assert_eq!(fake.fds, before);
    assert_eq!((refcount(&reg, 1), refcount(&reg, 2)), (0, 0));
    open_ok(&mut reg, &mut fake, 2, O_RDWR | O_SYNC);
}

#[test]
fn request_status_flags_are_applied_to_the_shared_description() {
    let (mut reg, mut fake) = monitored();
    let m = add(&mut reg, &mut fake, 1, O_WRONLY);
    open_ok(&mut reg, &mut fake, 1, O_WRONLY | O_APPEND | O_NONBLOCK);
    assert_eq!(
        fake.desc_of(m).status & (O_APPEND | O_NONBLOCK),
        O_APPEND | O_NONBLOCK
    );
    open_ok(&mut reg, &mut fake, 1, O_WRONLY);
    assert_eq!(fake.desc_of(m).status & (O_APPEND | O_NONBLOCK), 0);
}

#[test]
fn o_trunc_and_o_creat_o_excl_truncate_other_opens_do_not() {
    for (flags, truncates) in [
        (O_RDWR | O_TRUNC, true),
        (O_RDWR | O_CREAT | O_EXCL, true),
        (O_RDWR | O_CREAT, false),
        (O_RDWR | O_EXCL, false),
        (O_RDWR, false),
    ] {
        let (mut reg, mut fake) = monitored();
        let m = add(&mut reg, &mut fake, 1, O_RDWR);
        open_ok(&mut reg, &mut fake, 1, flags);
        assert_eq!(fake.desc_of(m).size == 0, truncates, "flags {flags:#x}");
    }
}

#[test]
fn regular_file_without_o_append_is_rewound_others_are_not() {
    for (regular, flags, rewound) in [
        (true, O_RDONLY, true),
        (true, O_WRONLY | O_APPEND, false),
        (false, O_RDONLY, false),
    ] {
        let (mut reg, mut fake) = monitored();
        let accmode = flags & libc::O_ACCMODE;
        let (_, m) = add_full(&mut reg, &mut fake, Some(1), accmode, regular, None);
        open_ok(&mut reg, &mut fake, 1, flags);
        assert_eq!(
            fake.desc_of(m).offset == 0,
            rewound,
            "regular={regular} flags={flags:#x}"
        );
    }
}

// ---- Open, steps 5 and 6: recorded on success, nothing left on failure

#[test]
fn successful_open_is_recorded_as_a_dup_of_its_set() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 4, O_RDONLY);
    let (_, d1) = open_ok(&mut reg, &mut fake, 4, O_RDONLY);
    let (_, d2) = open_ok(&mut reg, &mut fake, 4, O_RDONLY);
    assert_eq!(refcount(&reg, 4), 2);
    assert_eq!((reg.dup_owner(d1), reg.dup_owner(d2)), (Some(4), Some(4)));
}

#[test]
fn a_failing_step_after_the_dup_closes_it_and_reports_its_errno() {
    for (op, flags) in [
        (Op::Dup, O_RDWR),
        (Op::GetFl, O_RDWR),
        (Op::SetFl, O_RDWR | O_NONBLOCK),
        (Op::Truncate, O_RDWR | O_TRUNC),
        (Op::Rewind, O_RDWR),
    ] {
        // One member: nothing is asked before the dup but the choice.
        let mut reg = Registry::new();
        reg.monitor_connected();
        let mut fake = FakeFds::new();
        add(&mut reg, &mut fake, 1, O_RDWR);
        let before = fake.fds.clone();
        fake.fail_next(op, libc::EMFILE);
        let out = reg.open(&mut fake, 1, flags);
        assert_eq!(out.result(), Err(libc::EMFILE), "{op:?}");
        assert_eq!(fake.fds, before, "{op:?}: no extra fd");
        assert_eq!(refcount(&reg, 1), 0, "{op:?}: refcount unchanged");
        assert!(reg.dup_fds().next().is_none());
    }
}

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
        regular: true,
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
