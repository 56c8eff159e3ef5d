//! A connection and the sets it acts on, as a test drives them: every
//! reply parsed, every fd accounted for.

use fake_fdops::FakeFds;
use fdset_core::qmp as qmp_protocol;
use fdset_core::registry;
use fdset_testkit::fake_fdops;
use qmp_protocol::{Connection, FdSetOps, Feed};
use registry::{FdOps, MemberInfo, RawFd, Registry, SetView};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(Default)]
pub(crate) struct Sets {
    pub(crate) reg: Registry,
    pub(crate) fds: FakeFds,
    pub(crate) conts: usize,
}

impl FdSetOps for Sets {
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        assert!(
            self.fds.is_open(fd) && !self.reg.is_member(fd),
            "add-fd of fd {fd}"
        );
        let info = MemberInfo {
            status_flags: libc::O_RDWR,
            kind: Some(registry::FileKind::Regular),
        };
        Ok((self.reg.add_member(set, fd, opaque, info), fd))
    }
    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool {
        self.reg
            .remove(&mut self.fds, set, fd, &mut Vec::new())
            .is_ok()
    }
    fn query_fdsets(&mut self) -> Vec<SetView> {
        self.reg.query()
    }
    fn query_fdset_members(&mut self) -> Vec<registry::SetDetail> {
        self.reg.detail(|_| None)
    }
    fn cont(&mut self) {
        self.conts += 1;
    }
    fn close_fd(&mut self, fd: RawFd) {
        assert!(!self.reg.is_member(fd));
        self.fds.close(fd);
    }
}

pub(crate) struct Monitor {
    pub(crate) conn: Connection,
    pub(crate) sets: Sets,
}

impl Monitor {
    pub(crate) fn new() -> Monitor {
        let mut sets = Sets::default();
        sets.reg.monitor_connected();
        Monitor {
            conn: Connection::new(),
            sets,
        }
    }

    pub(crate) fn negotiated() -> Monitor {
        let mut m = Monitor::new();
        assert_eq!(
            m.lines(r#"{"execute": "qmp_capabilities"}"#),
            [r#"{"return": {}}"#]
        );
        m
    }

    pub(crate) fn feed_bytes(&mut self, bytes: &[u8]) -> (Feed, Vec<u8>) {
        let mut out = Vec::new();
        let r = self.conn.feed(bytes, &mut self.sets, &mut out);
        (r, out)
    }

    /// The reply lines to `input`, each checked to end in CRLF.
    pub(crate) fn lines(&mut self, input: &str) -> Vec<String> {
        let (r, out) = self.feed_bytes(input.as_bytes());
        assert_eq!(r, Feed::Open);
        let text = String::from_utf8(out).expect("replies are UTF-8");
        assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
        text.split_terminator("\r\n").map(str::to_string).collect()
    }

    pub(crate) fn replies(&mut self, input: &str) -> Vec<Value> {
        self.lines(input)
            .iter()
            .map(|l| serde_json::from_str(l).expect("reply is JSON"))
            .collect()
    }

    pub(crate) fn one(&mut self, input: &str) -> Value {
        let mut r = self.replies(input);
        assert_eq!(r.len(), 1, "{r:?}");
        r.remove(0)
    }

    /// A received fd, queued as the server does.
    pub(crate) fn send_fd(&mut self) -> RawFd {
        let fd = self.sets.fds.open_file(libc::O_RDWR, true);
        assert!(self.conn.queue_fd(fd));
        fd
    }

    pub(crate) fn add(&mut self, args: Value) -> Value {
        self.send_fd();
        self.one(&json!({"execute": "add-fd", "arguments": args}).to_string())
    }

    /// Disconnect: queued fds are closed; then every open fake fd must be a
    /// member or a dup of the registry.
    pub(crate) fn assert_no_leak(mut self) {
        for fd in self.conn.take_queued_fds() {
            self.sets.close_fd(fd);
        }
        let owned: BTreeSet<RawFd> = self
            .sets
            .reg
            .member_fds()
            .chain(self.sets.reg.dup_fds())
            .collect();
        assert_eq!(
            self.sets.fds.fds.keys().copied().collect::<BTreeSet<_>>(),
            owned
        );
    }
}

pub(crate) fn err(class: &str, desc: &str) -> Value {
    json!({"error": {"class": class, "desc": desc}})
}

pub(crate) fn generic(desc: &str) -> Value {
    err("GenericError", desc)
}
