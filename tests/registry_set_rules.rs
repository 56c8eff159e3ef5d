//! Unit tests of the registry's rules for sets and members (spec section 2,
//! first bullets; `add-fd` ids from section 3): adding a member makes its
//! set, the lowest free id fills gaps, `query` lists sets and members in
//! order without the removed ones, with a recording fake of the descriptor
//! operations.
use fdset_core::registry;
use fdset_testkit::registry_ops::*;

use libc::{O_RDONLY, O_RDWR};
use registry::SetView;

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
