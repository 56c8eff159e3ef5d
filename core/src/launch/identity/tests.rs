use super::*;

fn req(user: Option<&str>, group: Option<&str>, groups: Option<GroupsRequest>) -> IdentityRequest {
    IdentityRequest {
        user: user.map(str::to_string),
        group: group.map(str::to_string),
        groups,
    }
}

#[test]
fn root_by_name_and_number() {
    let by_name = resolve(&req(Some("root"), None, None)).unwrap();
    assert_eq!((by_name.uid, by_name.gid), (Some(0), Some(0)));
    assert_eq!(by_name.user_name.as_deref(), Some("root"));
    assert!(by_name.groups.as_ref().unwrap().contains(&0));
    let by_number = resolve(&req(Some("0"), None, None)).unwrap();
    assert_eq!(by_number.uid, Some(0));
    assert_eq!(
        by_number.user_name.as_deref(),
        Some("root"),
        "uid 0's entry"
    );
    assert_eq!(by_number.shown, "--user 0");
}

#[test]
fn explicit_group_and_groups_win() {
    let id = resolve(&req(Some("root"), Some("0"), Some(GroupsRequest::None))).unwrap();
    assert_eq!((id.gid, id.groups.as_deref()), (Some(0), Some(&[][..])));
    assert_eq!(id.shown, "--user root --group 0 --groups none");
    let id = resolve(&req(
        None,
        None,
        Some(GroupsRequest::List(vec![
            "root".into(),
            "0".into(),
            "77".into(),
        ])),
    ))
    .unwrap();
    assert_eq!(id.uid, None);
    assert_eq!(id.groups, Some(vec![0, 77]), "duplicates once");
}

// Bad options get a clear error: a number no id can be is named so, not
// taken for a name nobody has.
#[test]
fn numbers_no_id_can_be_are_refused_as_such() {
    for n in ["4294967295", "4294967296", "99999999999999999999"] {
        assert_eq!(
            resolve(&req(Some(n), None, None)).unwrap_err(),
            format!("--user {n}: not a valid uid number (0 to 4294967294)")
        );
        assert_eq!(
            resolve(&req(None, Some(n), None)).unwrap_err(),
            format!("--group {n}: not a valid gid number (0 to 4294967294)")
        );
    }
}

#[test]
fn unknown_names_are_refused() {
    assert_eq!(
        resolve(&req(Some("no-such-user-here"), None, None)).unwrap_err(),
        "--user no-such-user-here: no such user (check the name, or give a uid number)"
    );
    assert_eq!(
        resolve(&req(None, Some("no-such-group-here"), None)).unwrap_err(),
        "--group no-such-group-here: no such group (check the name, or give a gid number)"
    );
    assert_eq!(
        resolve(&req(
            None,
            None,
            Some(GroupsRequest::List(vec![
                "root".into(),
                "nope-group".into()
            ]))
        ))
        .unwrap_err(),
        "--groups root,nope-group: no such group 'nope-group' (check the name, or give a gid number)"
    );
}

#[test]
fn a_uid_without_an_entry_needs_its_groups() {
    let e = resolve(&req(Some("4000000"), None, None)).unwrap_err();
    assert!(
        e.starts_with("--user 4000000: uid 4000000 has no entry"),
        "{e}"
    );
    let id = resolve(&req(
        Some("4000000"),
        Some("4000000"),
        Some(GroupsRequest::None),
    ))
    .unwrap();
    assert_eq!((id.uid, id.gid), (Some(4000000), Some(4000000)));
    assert_eq!(id.user_name, None);
}

#[test]
fn switch_messages() {
    let id = Identity {
        uid: Some(65534),
        gid: Some(65534),
        groups: Some(vec![]),
        shown: "--user nobody".into(),
        ..Identity::default()
    };
    assert_eq!(
        switch_error_text(&id, Step::Groups, libc::EPERM),
        "--user nobody: cannot set the supplementary groups [] (setgroups: Operation not \
         permitted (os error 1)) (changing identity needs root, or CAP_SETUID and \
         CAP_SETGID); the program was not started"
    );
    for s in [Step::Groups, Step::Gid, Step::Uid, Step::Check] {
        assert_eq!(Step::from_code(s as u8), Some(s));
    }
    assert_eq!(Step::from_code(0), None);
}
