//! Opens of a set path: the registry's open rules (member choice, flags on
//! the shared description, `O_TRUNC`, offset 0, errnos; spec section 2),
//! and the dup installed in the caller with ADDFD, recorded for its process.

use super::target::{Target, classify};
use super::{Call, Reply, State, errno_text, text};
use crate::as_caller::as_caller;
use crate::ops::{self, LocalOps};
use crate::sys;
use fdset_core::registry::{LookOutcome, OpenOutcome, Registry, directory_check};
use fdset_core::syscalls::{OPEN_HOW_SIZE_MAX, OPEN_HOW_SIZE_VER0, OpenHow, openat2_serves};

impl Call<'_> {
    pub(super) fn open(&self, addr: u64, flags: i32) -> Reply {
        let Some(path) = self.path(addr) else {
            return Reply::Continue;
        };
        let path = &*path;
        match classify(&self.sh.paths, path, false) {
            Target::Other | Target::PrefixDir => Reply::Continue,
            Target::BadNumber => {
                self.log(&format!(
                    "open {}: EINVAL: not a set number (0..2147483647)",
                    text(path)
                ));
                Reply::Error(libc::EINVAL)
            }
            Target::Set(set) => self.open_set(path, set, flags),
        }
    }

    pub(super) fn openat2(&self, addr: u64, how_addr: u64, size: u64) -> Reply {
        let Some(path) = self.path(addr) else {
            return Reply::Continue;
        };
        let path = &*path;
        let set = match classify(&self.sh.paths, path, false) {
            Target::Set(set) => set,
            // A bad number is EINVAL as for openat; anything else is the kernel's.
            Target::BadNumber => return Reply::Error(libc::EINVAL),
            Target::Other | Target::PrefixDir => return Reply::Continue,
        };
        // A request the kernel refuses anyway, and any resolve rule that
        // confines the lookup, are the kernel's to judge (spec section 8),
        // by the rule the shim's syscall() hook follows.
        let Some(how) = self.open_how(how_addr, size) else {
            return Reply::Continue;
        };
        match openat2_serves(&how) {
            Some((flags, _mode)) => self.open_set(path, set, flags),
            None => Reply::Continue,
        }
    }

    /// The caller's `struct open_how` of `size` bytes; `None` when it
    /// cannot be read (the kernel then says `EFAULT`).
    fn open_how(&self, addr: u64, size: u64) -> Option<OpenHow> {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if !(OPEN_HOW_SIZE_VER0..=OPEN_HOW_SIZE_MAX).contains(&size) {
            return Some(OpenHow::out_of_range(size));
        }
        let mut buf = [0u8; OPEN_HOW_SIZE_MAX];
        let got = sys::read_mem(self.tid, addr, &mut buf[..size]).ok()?;
        (got == size).then(|| OpenHow::from_bytes(&buf[..size]))
    }

    fn open_set(&self, path: &[u8], set: u64, flags: i32) -> Reply {
        let cloexec = flags & libc::O_CLOEXEC != 0;
        // O_NOATIME is the owner's (or CAP_FOWNER's) to ask for: F_SETFL on
        // the member is made with the caller's rights.
        let as_them = if flags & libc::O_NOATIME != 0 {
            match as_caller(self.tid) {
                Ok(g) => Some(g),
                Err(e) => return Reply::Error(e),
            }
        } else {
            None
        };
        let mut st = self.sh.lock();
        let Some(pid) = st.tree.tgid(self.tid, true) else {
            // /proc has no such thread: the caller is gone (or /proc is
            // hidden from fdset-run); without its process no dup can be counted.
            return Reply::Error(libc::EAGAIN);
        };
        if flags & libc::O_PATH != 0 {
            return self.open_path(&st.registry, path, set, flags);
        }
        if flags & libc::O_DIRECTORY != 0
            && !self.chosen_is_directory(&st.registry, path, set, flags)
        {
            return Reply::Error(libc::ENOTDIR);
        }
        let mut closed = Vec::new();
        let State { registry, tree } = &mut *st;
        if !tree.prepare(registry, pid) {
            self.sh.sync_count(&st);
            return Reply::Error(libc::EAGAIN);
        }
        let outcome = registry.open_with_closed(&mut LocalOps, set, flags, &mut closed);
        drop(as_them);
        let reply = match outcome {
            OpenOutcome::Opened { member, dup, .. } => {
                match sys::notif_addfd_send(self.sh.listener, self.req.id, dup, cloexec) {
                    Ok(fd) => {
                        if !tree.insert(registry, pid, fd, set, dup, &mut closed) {
                            // Ended meanwhile: its descriptors are gone.
                            registry.forget_dup(&mut LocalOps, dup, &mut closed);
                            sys::close(dup);
                        }
                        self.log(&format!(
                            "open {} flags {flags:#o}: set {set}: member fd {member} -> fd {fd}",
                            text(path)
                        ));
                        Reply::Done
                    }
                    Err(e) => {
                        registry.forget_dup(&mut LocalOps, dup, &mut closed);
                        sys::close(dup);
                        if e == libc::ENOENT {
                            // Interrupted: the call starts again.
                            Reply::Done
                        } else {
                            self.log(&format!(
                                "open {}: installing the dup failed: {}",
                                text(path),
                                errno_text(e)
                            ));
                            Reply::Error(e)
                        }
                    }
                }
            }
            other => {
                let e = other.result().err().unwrap_or(libc::EIO);
                self.log(&format!(
                    "open {}: {}: {other:?}",
                    text(path),
                    errno_text(e)
                ));
                Reply::Error(e)
            }
        };
        self.sh.sync_count(&st);
        drop(st);
        self.sh.log_closed(&closed);
        reply
    }

    /// `O_DIRECTORY`: whether the member the open would choose (if any) is
    /// a directory, checked before anything changes (`O_TRUNC` included).
    /// The member is the one the open would duplicate (the registry's own
    /// choice, `O_DIRECT` preference included), as in preload mode.
    fn chosen_is_directory(&self, registry: &Registry, path: &[u8], set: u64, flags: i32) -> bool {
        let Some((member, info)) = registry.open_choice(&mut LocalOps, set, flags) else {
            return true;
        };
        if directory_check(info, || ops::is_directory(member)).is_ok() {
            return true;
        }
        self.log(&format!(
            "open {}: ENOTDIR: set {set} member fd {member} is not a directory",
            text(path)
        ));
        false
    }

    /// `O_PATH`: the newest visible member's file, not a recorded dup
    /// (spec section 2, step 7). The kernel cannot install an O_PATH
    /// descriptor in another process (ADDFD takes no O_PATH file), so the
    /// program gets a duplicate of that member (README "Seccomp mode").
    fn open_path(&self, registry: &Registry, path: &[u8], set: u64, flags: i32) -> Reply {
        let member = match registry.look(set) {
            LookOutcome::Answered { member, .. } => member,
            _ => return Reply::Error(libc::ENOENT),
        };
        if flags & libc::O_DIRECTORY != 0 && !ops::is_directory(member) {
            return Reply::Error(libc::ENOTDIR);
        }
        let r = sys::notif_addfd_send(
            self.sh.listener,
            self.req.id,
            member,
            flags & libc::O_CLOEXEC != 0,
        );
        match r {
            Ok(n) => {
                self.log(&format!(
                    "open {} O_PATH: set {set}: member fd {member} -> fd {n} (not counted)",
                    text(path)
                ));
                Reply::Done
            }
            Err(libc::ENOENT) => Reply::Done,
            Err(e) => Reply::Error(e),
        }
    }
}
