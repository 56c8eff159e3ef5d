//! The one walker over an environment (a NULL-terminated array of C
//! strings): the constructor reads and edits `environ` with it, an exec
//! reads and copies the new program's `envp` with it.

use libc::c_char;
use std::ffi::CStr;

/// The entries of an environment, each with the slot that holds it.
pub struct Entries {
    slot: *const *const c_char,
}

/// Walk `envp` (NULL walks nothing).
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of NUL-terminated strings, and
/// the array and its strings stay valid and unchanged while the walk and the
/// bytes it yields are used.
pub unsafe fn entries(envp: *const *const c_char) -> Entries {
    Entries { slot: envp }
}

impl Iterator for Entries {
    /// The slot, and the entry's bytes (`NAME=value`).
    type Item = (*const *const c_char, &'static [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.slot.is_null() {
            return None;
        }
        // SAFETY: `entries`' contract: the slot lies inside the array.
        let entry = unsafe { *self.slot };
        if entry.is_null() {
            self.slot = std::ptr::null();
            return None;
        }
        let slot = self.slot;
        // SAFETY: the entry is a NUL-terminated string that outlives the
        // walk; the next slot is inside the array (the NULL is the last).
        let bytes = unsafe {
            self.slot = self.slot.add(1);
            CStr::from_ptr(entry).to_bytes()
        };
        Some((slot, bytes))
    }
}

/// The value of `entry` when it is `name=value`.
pub fn value_of<'a>(entry: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    entry.strip_prefix(name)?.strip_prefix(b"=")
}
