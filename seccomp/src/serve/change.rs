//! Calls that change a set's file through one of its members (spec
//! section 8): `truncate` through the newest visible member that can
//! write, and the `utime` family (`utimensat`, `utimes`, `futimesat`,
//! `utime`) as `futimens` through the newest visible member.

use super::{Call, Reply, text};
use crate::as_caller::as_caller;
use crate::sys::{self, Errno};
use fdset_core::registry::LookOutcome;

/// The kernel's `struct utimbuf` (`utime`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Utimbuf {
    actime: i64,
    modtime: i64,
}

/// Two times for `futimens`, or `None`: now.
type Times = Option<[libc::timespec; 2]>;

impl Call<'_> {
    /// `truncate` through the newest visible member that can write, else
    /// `EACCES`; a negative length is the kernel's `EINVAL`, before the path.
    pub(super) fn truncate(&self, addr: u64, length: i64) -> Reply {
        if length < 0 {
            return Reply::Continue;
        }
        self.look(
            "truncate",
            addr,
            |_| Reply::Continue,
            |set, path| self.truncate_set(set, path, length),
        )
    }

    fn truncate_set(&self, set: u64, path: &[u8], length: i64) -> Reply {
        let st = self.sh.lock();
        if !matches!(st.registry.look(set), LookOutcome::Answered { .. }) {
            return Reply::Error(libc::ENOENT);
        }
        let writer = st.registry.set(set).and_then(|s| {
            s.members
                .iter()
                .rev()
                .find(|m| !m.removed && m.info.status_flags & libc::O_ACCMODE != libc::O_RDONLY)
                .map(|m| m.fd)
        });
        let Some(m) = writer else {
            drop(st);
            self.log(&format!(
                "truncate {}: EACCES: set {set} has no member that can write",
                text(path)
            ));
            return Reply::Error(libc::EACCES);
        };
        // SAFETY: plain system call on a member of ours.
        let r = unsafe { libc::ftruncate(m, length) };
        let e = sys::errno();
        drop(st);
        self.log(&format!(
            "truncate {} to {length}: set {set}: member fd {m}",
            text(path)
        ));
        if r < 0 {
            Reply::Error(e)
        } else {
            Reply::Value(0)
        }
    }

    /// `futimens(member, times)` for the set path at `addr`. `times` reads
    /// the caller's times (`None`: now) only once the path is a set's: any
    /// other path is the kernel's, its `EFAULT` and `EINVAL` included; they
    /// count once the set is known to have a member.
    fn set_times(
        &self,
        call: &str,
        addr: u64,
        times: impl FnOnce() -> Result<Times, Errno>,
    ) -> Reply {
        self.look(
            call,
            addr,
            |_| Reply::Continue,
            |set, path| {
                // A missing set is ENOENT before bad times, as in the shim.
                let times = times();
                let r = self.through(call, path, set, |m, _| {
                    let times = times?;
                    let _as = as_caller(self.tid)?;
                    let ptr = times.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
                    // SAFETY: ptr is null or two timespecs of ours; m is a member.
                    let r = unsafe { libc::futimens(m, ptr) };
                    if r < 0 { Err(sys::errno()) } else { Ok(()) }
                });
                match r {
                    Ok(()) => Reply::Value(0),
                    Err(e) => Reply::Error(e),
                }
            },
        )
    }

    /// The caller's times at `addr` (NULL: now), read as `T` and converted
    /// (`None`: the kernel's `EINVAL` for such times).
    fn read_times<T: Copy>(
        &self,
        addr: u64,
        convert: impl FnOnce(T) -> Option<[libc::timespec; 2]>,
    ) -> Result<Times, Errno> {
        if addr == 0 {
            return Ok(None);
        }
        let raw = sys::read_struct::<T>(self.tid, addr, std::mem::size_of::<T>())
            .map_err(|_| libc::EFAULT)?;
        convert(raw).map(Some).ok_or(libc::EINVAL)
    }

    /// `utimensat` (touch). A NULL path is `futimens` on the descriptor,
    /// and unknown flags are the kernel's `EINVAL`. The nanoseconds (and
    /// `UTIME_NOW`, `UTIME_OMIT`) are checked by `futimens` itself.
    pub(super) fn utimensat(&self, addr: u64, times_addr: u64, flags: i32) -> Reply {
        if addr == 0 || flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
            return Reply::Continue;
        }
        self.set_times("utimensat", addr, || {
            self.read_times(times_addr, |t: [libc::timespec; 2]| Some(t))
        })
    }

    /// `utimes` and `futimesat` (an absolute set path ignores the
    /// directory): microseconds, checked as the kernel checks them.
    pub(super) fn utimes(&self, call: &str, addr: u64, times_addr: u64) -> Reply {
        self.set_times(call, addr, || {
            self.read_times(times_addr, |tv: [libc::timeval; 2]| {
                let ok = |t: &libc::timeval| (0..1_000_000).contains(&t.tv_usec);
                tv.iter().all(ok).then(|| {
                    tv.map(|t| libc::timespec {
                        tv_sec: t.tv_sec,
                        tv_nsec: t.tv_usec * 1000,
                    })
                })
            })
        })
    }

    /// `utime`: whole seconds.
    pub(super) fn utime(&self, addr: u64, times_addr: u64) -> Reply {
        self.set_times("utime", addr, || {
            self.read_times(times_addr, |b: Utimbuf| {
                Some([b.actime, b.modtime].map(|s| libc::timespec {
                    tv_sec: s,
                    tv_nsec: 0,
                }))
            })
        })
    }
}
