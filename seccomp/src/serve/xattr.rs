//! `getxattr`, `lgetxattr`, `listxattr`, `llistxattr` of a set path: the
//! `f` form on its newest visible member, run in fdset-run into a buffer of
//! the caller's size, the answer written into the caller (spec section 8,
//! as the shim answers them: `ls -l` asks for ACLs and SELinux labels). A
//! set path is no symbolic link, so the `l` forms answer the same. A prefix
//! directory that does not exist on disk has no attributes.

use super::{Call, Reply};
use crate::as_caller::as_caller;
use crate::sys::{self, Errno};

/// The kernel's bounds (`XATTR_NAME_MAX` + 1, `XATTR_SIZE_MAX`,
/// `XATTR_LIST_MAX`): a larger size is served as this one, as the kernel
/// does.
const NAME_BUF: usize = 256;
const VALUE_MAX: usize = 65536;

impl Call<'_> {
    pub(super) fn getxattr(
        &self,
        call: &str,
        addr: u64,
        name: u64,
        value: u64,
        size: u64,
    ) -> Reply {
        self.look(
            call,
            addr,
            // The kernel reads the name before it looks the path up: a bad
            // one is its error (EFAULT, ERANGE), as for a missing path.
            |path| {
                self.absent_dir(path, |_| match self.xattr_name(name) {
                    Ok(_) => Reply::Error(libc::ENODATA),
                    Err(e) => Reply::Error(e),
                })
            },
            |set, path| {
                // A missing set is ENOENT before a bad name, as in the shim.
                let name = self.xattr_name(name);
                let mut buf = vec![0u8; (size as usize).min(VALUE_MAX)];
                let shown = match &name {
                    Ok(n) => format!("{call} {}", n.to_string_lossy()),
                    Err(_) => call.to_string(),
                };
                let r = self.through(&shown, path, set, |m, _| {
                    let name = name?;
                    let _as = as_caller(self.tid)?;
                    // SAFETY: name is NUL-terminated, buf is ours for its length.
                    let n = unsafe {
                        libc::fgetxattr(m, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
                    };
                    sys::check(n as libc::c_long)
                });
                self.answer_bytes(r, value, &buf)
            },
        )
    }

    pub(super) fn listxattr(&self, call: &str, addr: u64, list: u64, size: u64) -> Reply {
        self.look(
            call,
            addr,
            |path| self.absent_dir(path, |_| Reply::Value(0)),
            |set, path| {
                let mut buf = vec![0u8; (size as usize).min(VALUE_MAX)];
                let r = self.through(call, path, set, |m, _| {
                    let _as = as_caller(self.tid)?;
                    // SAFETY: buf is ours for its length.
                    let n = unsafe { libc::flistxattr(m, buf.as_mut_ptr().cast(), buf.len()) };
                    sys::check(n as libc::c_long)
                });
                self.answer_bytes(r, list, &buf)
            },
        )
    }

    /// The attribute's name, read as the kernel reads it: unreadable is
    /// `EFAULT`, an empty one or none within 255 bytes `ERANGE`.
    fn xattr_name(&self, addr: u64) -> Result<std::ffi::CString, Errno> {
        let mut buf = [0u8; NAME_BUF];
        let n = match sys::read_cstr(self.tid, addr, &mut buf) {
            Ok(n) => n,
            Err(libc::ENAMETOOLONG) => return Err(libc::ERANGE),
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(libc::ERANGE);
        }
        std::ffi::CString::new(&buf[..n]).map_err(|_| libc::ERANGE)
    }

    /// `n` bytes of `buf` written at `addr` and returned; a size of 0 asks
    /// only for the length (nothing is written).
    fn answer_bytes(&self, r: Result<i64, Errno>, addr: u64, buf: &[u8]) -> Reply {
        match r {
            Ok(n) if buf.is_empty() => Reply::Value(n),
            Ok(n) => self.write_answer_value(addr, &buf[..n as usize], n),
            Err(e) => Reply::Error(e),
        }
    }
}
