//! `getxattr`, `lgetxattr`, `listxattr`, `llistxattr`: a set path is
//! answered by the `f*xattr` call on one of its members (spec section 8),
//! so `ls -l /dev/fdset/N` (ACLs, SELinux labels) prints no error.

use crate::libc_real;
use crate::ops::prefix_dir::{getxattr_dir, listxattr_dir};
use crate::ops::xattr::{getxattr_set, listxattr_set};
use libc::{c_char, c_void};

macro_rules! getxattr_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// `fgetxattr` of the set's newest member.
            fn $name(path: *const c_char, name: *const c_char, value: *mut c_void, size: usize) -> isize;
            path: path; real: $real; fail: -1;
            dir: getxattr_dir();
            // SAFETY: name and value are the caller's, as for libc's call.
            set |set, text| unsafe { getxattr_set(stringify!($name), text(), set, name, value, size) }
        }
    };
}

macro_rules! listxattr_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// `flistxattr` of the set's newest member.
            fn $name(path: *const c_char, list: *mut c_char, size: usize) -> isize;
            path: path; real: $real; fail: -1;
            dir: listxattr_dir();
            // SAFETY: list is the caller's buffer, as for libc's call.
            set |set, text| unsafe { listxattr_set(stringify!($name), text(), set, list, size) }
        }
    };
}

getxattr_hook!(getxattr, libc_real::getxattr);
getxattr_hook!(lgetxattr, libc_real::lgetxattr);
listxattr_hook!(listxattr, libc_real::listxattr);
listxattr_hook!(llistxattr, libc_real::llistxattr);
