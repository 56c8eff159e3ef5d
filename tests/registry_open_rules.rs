//! Unit tests of the registry's open (spec section 2, "Open" steps 2 to 6),
//! one or more per step, with a recording fake of the descriptor
//! operations: no such set, the member chosen, the dup and the flags applied
//! to it, recorded on success, nothing left on failure.
use fdset_core::registry;
use fdset_testkit::fake_fdops;
use fdset_testkit::registry_ops::*;

use fake_fdops::{Event, FakeFds, Op};
use libc::{
    O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR,
    O_SYNC, O_TRUNC, O_WRONLY,
};
use registry::{FileKind, Recorded, Registry};

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

// Spec 2, Open, step 4: the dup comes first, then the O_SYNC check ("as
// QEMU does"): a dup that fails is the error, mismatch or not.
#[test]
fn a_failed_dup_comes_before_the_o_sync_check() {
    let (mut reg, mut fake) = monitored();
    add(&mut reg, &mut fake, 1, O_RDWR);
    let before = fake.fds.clone();
    fake.fail_next(Op::Dup, libc::EMFILE);
    assert_eq!(
        reg.open(&mut fake, 1, O_RDWR | O_SYNC).result(),
        Err(libc::EMFILE)
    );
    // The same through the steps of an open made without the lock.
    let plan = reg
        .plan_open(&mut fake, 1, O_RDWR | O_SYNC)
        .expect("chosen");
    fake.fail_next(Op::Dup, libc::EMFILE);
    assert_eq!(plan.dup(&mut fake), Err(libc::EMFILE));
    let dup = plan.dup(&mut fake).expect("dup");
    let mut closed = Vec::new();
    match reg.record_planned(&mut fake, &plan, dup, &mut closed) {
        Recorded::Failed(refused) => assert_eq!(refused.result(), Err(libc::EINVAL)),
        other => panic!("an O_SYNC mismatch was recorded: {other:?}"),
    }
    assert_eq!(fake.fds, before, "no fd left behind");
    assert_eq!(refcount(&reg, 1), 0);
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

// Open step 4's truncation is what open(2) does to a fresh description:
// a FIFO, a terminal or a device is not truncated (the kernel ignores
// O_TRUNC there, and ftruncate would fail), so the open succeeds.
#[test]
fn o_trunc_of_a_member_that_is_no_regular_file_opens_it_untouched() {
    for flags in [O_WRONLY | O_TRUNC, O_WRONLY | O_CREAT | O_EXCL] {
        let (mut reg, mut fake) = monitored();
        let (_, m) = add_full(&mut reg, &mut fake, Some(1), O_WRONLY, false, None);
        fake.take_events();
        let (dup, _) = open_ok(&mut reg, &mut fake, 1, flags);
        assert!(fake.is_open(dup));
        assert!(
            !fake
                .take_events()
                .iter()
                .any(|e| matches!(e, Event::Truncate(_))),
            "flags {flags:#x}: member {m} truncated"
        );
    }
}

// Open step 4's offset 0 is a fresh description's: a directory member
// lists from its first entry again and a block device reads from its
// start (the spec's reason, "programs expect a fresh open() to start at
// the beginning"); a pipe or terminal has no offset.
#[test]
fn a_directory_or_block_device_member_is_rewound_a_stream_is_not() {
    for (kind, rewound) in [
        (FileKind::Directory, true),
        (FileKind::BlockDevice, true),
        (FileKind::Other, false),
    ] {
        let (mut reg, mut fake) = monitored();
        let (_, m) = add_of_kind(&mut reg, &mut fake, Some(1), O_RDONLY, kind, None);
        open_ok(&mut reg, &mut fake, 1, O_RDONLY);
        assert_eq!(fake.desc_of(m).offset == 0, rewound, "{kind:?}");
    }
}

// open(2) refuses O_CREAT and O_TRUNC on a directory (EISDIR, EEXIST for
// O_CREAT|O_EXCL); so does an open of a directory member, before anything
// is made.
#[test]
fn o_creat_or_o_trunc_of_a_directory_member_is_eisdir() {
    for (flags, errno) in [
        (O_RDONLY | O_TRUNC, libc::EISDIR),
        (O_RDONLY | O_CREAT, libc::EISDIR),
        (O_RDONLY | O_CREAT | O_EXCL, libc::EEXIST),
        (O_RDONLY | O_DIRECTORY | O_TRUNC, libc::EISDIR),
    ] {
        let (mut reg, mut fake) = with_a_directory_member();
        fake.take_events();
        let out = reg.open(&mut fake, 1, flags);
        assert_eq!(out.result(), Err(errno), "flags {flags:#x}");
        assert_eq!(fake.take_events(), vec![], "flags {flags:#x}: nothing done");
        assert_eq!(refcount(&reg, 1), 0);
    }
    let (mut reg, mut fake) = with_a_directory_member();
    open_ok(&mut reg, &mut fake, 1, O_RDONLY | O_DIRECTORY);
}

/// A registry with a monitor and a directory as the one member of set 1.
fn with_a_directory_member() -> (Registry, FakeFds) {
    let (mut reg, mut fake) = monitored();
    add_of_kind(
        &mut reg,
        &mut fake,
        Some(1),
        O_RDONLY,
        FileKind::Directory,
        None,
    );
    (reg, fake)
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

// Open step 4, offset 0 for a regular file: the member's type is asked at
// its first open (adding a member asks nothing of it) and kept, so that
// later opens make no extra system call.
#[test]
fn a_members_type_is_asked_at_its_first_open_only() {
    let (mut reg, mut fake) = monitored();
    let (_, m) = add_full(&mut reg, &mut fake, Some(1), O_RDONLY, true, None);
    assert_eq!(fake.type_asked, 0, "adding a member asks nothing");
    for round in 0..3 {
        fake.program_seek(m, 7);
        open_ok(&mut reg, &mut fake, 1, O_RDONLY);
        assert_eq!(fake.desc_of(m).offset, 0, "round {round}: rewound");
        assert_eq!(fake.type_asked, 1, "round {round}: asked once");
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
