//! `x-query-fdset-members`, an extension next to QEMU's commands (QEMU's
//! `x-` prefix for what is not a stable interface): every set with its open
//! dup count, and every member, removed or not, with its access mode and
//! file. `query-fdsets` itself stays exactly QEMU's.

use super::args::Args;
use super::json_text::{Obj, list};
use super::{FdSetOps, Ret};
use crate::registry::SetDetail;

/// The command's name.
pub const X_QUERY_FDSET_MEMBERS: &str = "x-query-fdset-members";

/// The command: no arguments.
pub(super) fn x_query_fdset_members(args: Args, ops: &mut dyn FdSetOps) -> Ret {
    args.done()?;
    Ok(members_text(&ops.query_fdset_members()).into())
}

/// The reply's `return` value:
/// `[{"fdset-id": N, "open-dups": D, "fds": [{"fd": M, "opaque": "...",
/// "removed": false, "access-mode": "O_RDWR", "type": "regular", "size": S,
/// "dev": DEV, "ino": INO}]}]`, sets in descending id order, members in the
/// order they were added; `opaque` left out when never given, the file's
/// members when `fstat` failed.
pub fn members_text(sets: &[SetDetail]) -> String {
    list(sets.iter().map(|s| {
        let fds = list(s.members.iter().map(|m| {
            let mut o = Obj::new().field("fd", m.fd);
            if let Some(op) = &m.opaque {
                o = o.field("opaque", op.as_str());
            }
            o = o.field("removed", m.removed).field(
                "access-mode",
                crate::launch::options::access_mode_name(m.access_mode),
            );
            if let Some(f) = &m.file {
                o = o
                    .field("type", f.kind_name())
                    .field("size", f.size)
                    .field("dev", f.dev)
                    .field("ino", f.ino);
            }
            o.end()
        }));
        Obj::new()
            .field("fdset-id", s.id)
            .field("open-dups", s.open_dups)
            .raw("fds", &fds)
            .end()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qmp::{Connection, FdSetOps};
    use crate::registry::{FileFacts, MemberDetail, RawFd, SetView};

    /// Answers `x-query-fdset-members` with fixed sets; nothing else.
    struct Fixed(Vec<SetDetail>);
    impl FdSetOps for Fixed {
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
            Vec::new()
        }
        fn query_fdset_members(&mut self) -> Vec<SetDetail> {
            self.0.clone()
        }
        fn cont(&mut self) {}
        fn close_fd(&mut self, _: RawFd) {}
    }

    #[test]
    fn reply_in_qemus_spacing_and_the_spec_order() {
        let sets = vec![
            SetDetail {
                id: 3,
                open_dups: 2,
                members: vec![
                    MemberDetail {
                        fd: 100,
                        opaque: Some("disk \"a\"".into()),
                        removed: false,
                        access_mode: libc::O_RDWR,
                        file: Some(FileFacts {
                            kind: libc::S_IFREG,
                            size: 4096,
                            dev: 2049,
                            ino: 77,
                        }),
                    },
                    MemberDetail {
                        fd: 101,
                        opaque: None,
                        removed: true,
                        access_mode: libc::O_WRONLY,
                        file: None,
                    },
                ],
            },
            SetDetail {
                id: 1,
                open_dups: 0,
                members: vec![],
            },
        ];
        let mut c = Connection::new();
        let mut out = Vec::new();
        let mut ops = Fixed(sets);
        c.feed(
            br#"{"execute": "qmp_capabilities"}{"execute": "x-query-fdset-members", "id": 5}"#,
            &mut ops,
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "{\"return\": [{\"fdset-id\": 3, \"open-dups\": 2, \"fds\": [{\"fd\": 100, \"opaque\": \"disk \\\"a\\\"\", \
             \"removed\": false, \"access-mode\": \"O_RDWR\", \"type\": \"regular\", \"size\": 4096, \"dev\": 2049, \
             \"ino\": 77}, {\"fd\": 101, \"removed\": true, \"access-mode\": \"O_WRONLY\"}]}, \
             {\"fdset-id\": 1, \"open-dups\": 0, \"fds\": []}], \"id\": 5}"
        );
        // Arguments are refused as for QEMU's query commands.
        let mut out = Vec::new();
        c.feed(
            br#"{"execute": "x-query-fdset-members", "arguments": {"x": 1}}"#,
            &mut ops,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'x' is unexpected\"}}\r\n"
        );
    }
}
