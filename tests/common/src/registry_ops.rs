//! The registry driven through the recording fake of the descriptor
//! operations ([`crate::fake_fdops`]), as the registry-rule suites
//! (`tests/registry_*_rules.rs`) call it: add a member, open a set, close a
//! dup, remove, disconnect a monitor.
use crate::fake_fdops::FakeFds;
use fdset_core::registry::{self, ClosedMember, FileKind, MemberInfo, OpenOutcome, Registry};

/// A member with `status` flags (a regular file) added to `set`; its fd.
pub fn add(reg: &mut Registry, fake: &mut FakeFds, set: u64, status: i32) -> i32 {
    add_full(reg, fake, Some(set), status, true, None).1
}

/// A member added to `set` (`None`: the lowest free id), with `status`
/// flags, a regular file or not, an `opaque` or not; its set and its fd.
/// Its type is left for its first open to ask, as the shim adds members.
pub fn add_full(
    reg: &mut Registry,
    fake: &mut FakeFds,
    set: Option<u64>,
    status: i32,
    regular: bool,
    opaque: Option<&str>,
) -> (u64, i32) {
    let kind = if regular {
        FileKind::Regular
    } else {
        FileKind::Other
    };
    add_of_kind(reg, fake, set, status, kind, opaque)
}

/// [`add_full`] with a file of any `kind` (a directory, a block device).
pub fn add_of_kind(
    reg: &mut Registry,
    fake: &mut FakeFds,
    set: Option<u64>,
    status: i32,
    kind: FileKind,
    opaque: Option<&str>,
) -> (u64, i32) {
    let fd = fake.open_of_kind(status, kind);
    let info = MemberInfo {
        status_flags: status,
        kind: None,
    };
    (
        reg.add_member(set, fd, opaque.map(str::to_string), info),
        fd,
    )
}

/// Open `set` with `flags`, which must succeed; the member and the dup.
pub fn open_ok(reg: &mut Registry, fake: &mut FakeFds, set: u64, flags: i32) -> (i32, i32) {
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
pub fn close_dup(reg: &mut Registry, fake: &mut FakeFds, fd: i32) -> Vec<ClosedMember> {
    fake.program_close(fd);
    let mut closed = Vec::new();
    assert!(
        reg.forget_dup(fake, fd, &mut closed),
        "fd {fd} was not a dup"
    );
    closed
}

/// `remove-fd` of `fd` in `set` (`None`: the whole set); the members it
/// closed.
pub fn remove(
    reg: &mut Registry,
    fake: &mut FakeFds,
    set: u64,
    fd: Option<i32>,
) -> Result<Vec<ClosedMember>, registry::NotFound> {
    let mut closed = Vec::new();
    reg.remove(fake, set, fd, &mut closed).map(|()| closed)
}

/// A monitor disconnects; the members that closed.
pub fn disconnect(reg: &mut Registry, fake: &mut FakeFds) -> Vec<ClosedMember> {
    let mut closed = Vec::new();
    reg.monitor_disconnected(fake, &mut closed);
    closed
}

/// The dups open of `set` (0 for no such set).
pub fn refcount(reg: &Registry, set: u64) -> usize {
    reg.set(set).map_or(0, |s| s.refcount())
}

/// A registry with one monitor connected, as in a QMP-driven process.
pub fn monitored() -> (Registry, FakeFds) {
    let mut reg = Registry::new();
    reg.monitor_connected();
    (reg, FakeFds::new())
}
