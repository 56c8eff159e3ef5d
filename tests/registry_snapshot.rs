//! `query-fdsets` (spec section 3) is answered from a flat snapshot of the
//! registry taken under the lock: it must show exactly what the registry's
//! query shows (sets in descending id order, members not removed in the
//! order they were added, opaque strings as given), for any registry that
//! adds, removes and opens can make, and so must the reply text.
use fdset_core::qmp::{Connection, FdSetOps};
use fdset_core::registry::{MemberInfo, QuerySnapshot, RawFd, Registry, SetDetail, SetView};
use fdset_testkit::fake_fdops::FakeFds;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Add { set: u64, opaque: Option<String> },
    Remove { set: u64, nth: Option<usize> },
    Open { set: u64 },
    CloseDup { nth: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..6, proptest::option::of("[a-z\"\\\\é\\n]{0,6}"))
            .prop_map(|(set, opaque)| Step::Add { set, opaque }),
        2 => (0u64..6, proptest::option::of(0usize..4))
            .prop_map(|(set, nth)| Step::Remove { set, nth }),
        2 => (0u64..6).prop_map(|set| Step::Open { set }),
        1 => (0usize..8).prop_map(|nth| Step::CloseDup { nth }),
    ]
}

fn build(steps: &[Step]) -> Registry {
    let mut reg = Registry::new();
    reg.monitor_connected();
    let mut fake = FakeFds::new();
    let mut dups: Vec<RawFd> = Vec::new();
    let mut closed = Vec::new();
    for s in steps {
        match s {
            Step::Add { set, opaque } => {
                let fd = fake.open_file(libc::O_RDWR, true);
                let info = MemberInfo {
                    status_flags: libc::O_RDWR,
                    kind: Some(fdset_core::registry::FileKind::Regular),
                };
                reg.add_member(Some(*set), fd, opaque.clone(), info);
            }
            Step::Remove { set, nth } => {
                let fd = nth.and_then(|n| {
                    reg.query()
                        .into_iter()
                        .find(|v| v.id == *set)
                        .and_then(|v| v.fds.get(n).map(|m| m.0))
                });
                let _ = reg.remove(&mut fake, *set, fd, &mut closed);
            }
            Step::Open { set } => {
                if let Ok(d) = reg.open(&mut fake, *set, libc::O_RDWR).result() {
                    dups.push(d);
                }
            }
            Step::CloseDup { nth } => {
                if !dups.is_empty() {
                    let d = dups.remove(nth % dups.len());
                    fake.program_close(d);
                    reg.forget_dup(&mut fake, d, &mut closed);
                }
            }
        }
    }
    reg
}

/// The protocol's default path: the views the registry's query gives.
struct Views(Vec<SetView>);

impl FdSetOps for Views {
    fn add_fd(
        &mut self,
        _: RawFd,
        _: Option<u64>,
        _: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        Err("not here".into())
    }
    fn remove_fd(&mut self, _: u64, _: Option<RawFd>) -> bool {
        false
    }
    fn query_fdsets(&mut self) -> Vec<SetView> {
        self.0.clone()
    }
    fn query_fdset_members(&mut self) -> Vec<SetDetail> {
        Vec::new()
    }
    fn cont(&mut self) {}
    fn close_fd(&mut self, _: RawFd) {}
}

/// The shim's path: the snapshot filled straight from the registry.
struct Snapshot<'a>(&'a Registry);

impl FdSetOps for Snapshot<'_> {
    fn add_fd(
        &mut self,
        _: RawFd,
        _: Option<u64>,
        _: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        Err("not here".into())
    }
    fn remove_fd(&mut self, _: u64, _: Option<RawFd>) -> bool {
        false
    }
    fn query_fdsets(&mut self) -> Vec<SetView> {
        panic!("the snapshot path must not build views")
    }
    fn query_fdsets_snapshot(&mut self, into: &mut QuerySnapshot) {
        self.0.query_snapshot(into);
    }
    fn query_fdset_members(&mut self) -> Vec<SetDetail> {
        Vec::new()
    }
    fn cont(&mut self) {}
    fn close_fd(&mut self, _: RawFd) {}
}

/// The reply line to `query-fdsets` with `ops`.
fn reply(ops: &mut dyn FdSetOps) -> String {
    let mut c = Connection::new();
    let mut out = Vec::new();
    c.feed(
        b"{\"execute\": \"qmp_capabilities\"}{\"execute\": \"query-fdsets\", \"id\": [1]}",
        ops,
        &mut out,
    );
    String::from_utf8(out).unwrap()
}

proptest! {
    #[test]
    fn snapshot_shows_what_query_shows(steps in proptest::collection::vec(step(), 0..40)) {
        let reg = build(&steps);
        let views = reg.query();
        let mut snap = QuerySnapshot::new();
        // A reused snapshot is emptied first.
        snap.push_set(99);
        snap.push_fd(7, Some("stale"));
        reg.query_snapshot(&mut snap);
        prop_assert_eq!(snap.to_views(), views.clone());
        prop_assert_eq!(snap.len(), views.len());
        prop_assert_eq!(&QuerySnapshot::from(views.as_slice()), &snap);
        // The same reply text both ways, and it is the JSON of the views.
        let a = reply(&mut Views(views.clone()));
        let b = reply(&mut Snapshot(&reg));
        prop_assert_eq!(&a, &b);
        let line = a.lines().nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let want: Vec<serde_json::Value> = views
            .iter()
            .map(|s| {
                let fds: Vec<serde_json::Value> = s
                    .fds
                    .iter()
                    .map(|(fd, o)| match o {
                        Some(o) => serde_json::json!({"fd": fd, "opaque": o}),
                        None => serde_json::json!({"fd": fd}),
                    })
                    .collect();
                serde_json::json!({"fdset-id": s.id, "fds": fds})
            })
            .collect();
        prop_assert_eq!(v, serde_json::json!({"return": want, "id": [1]}));
    }
}

#[test]
fn a_set_with_only_removed_members_shows_with_no_fds() {
    // Set 3's one member removed while a dup is open: the set stays.
    let reg = build(&[
        Step::Add {
            set: 3,
            opaque: Some("a\"b".into()),
        },
        Step::Add {
            set: 1,
            opaque: None,
        },
        Step::Open { set: 3 },
        Step::Remove { set: 3, nth: None },
    ]);
    let mut snap = QuerySnapshot::new();
    reg.query_snapshot(&mut snap);
    type Members<'a> = Vec<(RawFd, Option<&'a str>)>;
    let sets: Vec<(u64, Members)> = snap.sets().map(|(id, fds)| (id, fds.collect())).collect();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0].0, 3);
    assert!(sets[0].1.is_empty(), "{sets:?}");
    assert_eq!(sets[1].0, 1);
    assert_eq!(sets[1].1.len(), 1);
    assert_eq!(
        reply(&mut Snapshot(&reg)).lines().nth(1).unwrap(),
        format!(
            "{{\"return\": [{{\"fdset-id\": 3, \"fds\": []}}, {{\"fdset-id\": 1, \"fds\": [{{\"fd\": {}}}]}}], \"id\": [1]}}",
            sets[1].1[0].0
        )
    );
}
