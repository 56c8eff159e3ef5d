//! `posix_spawn`, `posix_spawnp`, `system`, `popen`, `pclose`: children
//! started inside libc, where no hook runs, get the sets too.

use super::{guarded, guarded_cancellation_point};
use crate::carry::privileged::Target;
use crate::libc_real::{self, CharPP};
use libc::{FILE, c_char, c_int};

/// `posix_spawn` and `posix_spawnp`: the same hook but for the real
/// function and how the program is found (a path, or a search of `PATH`).
macro_rules! spawn_hook {
    ($name:ident, $real:path, $target:ident) => {
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $name(
            pid: *mut libc::pid_t,
            path: *const c_char,
            fa: *const libc::posix_spawn_file_actions_t,
            attr: *const libc::posix_spawnattr_t,
            argv: CharPP,
            envp: CharPP,
        ) -> c_int {
            // SAFETY: the caller's arguments, passed on unchanged to the same
            // libc call (or to the shim's version of it, which makes that call).
            guarded(libc::EIO, || unsafe {
                crate::carry::spawn::spawn(
                    $real,
                    Target::$target(path),
                    pid,
                    path,
                    fa,
                    attr,
                    argv,
                    envp,
                )
            })
        }
    };
}

spawn_hook!(posix_spawn, libc_real::posix_spawn, Path);
spawn_hook!(posix_spawnp, libc_real::posix_spawnp, Search);

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn system(cmd: *const c_char) -> c_int {
    if cmd.is_null() {
        // SAFETY: "is there a shell" query.
        return unsafe { libc_real::system(cmd) };
    }
    // SAFETY: the caller's argument; the shim's version makes the same call.
    let carried =
        guarded_cancellation_point(Some(-1), || unsafe { crate::carry::spawn::system(cmd) });
    match carried {
        Some(status) => status,
        // Nothing to carry: libc's own (which handles its cancellation),
        // holding a share of the exec gate throughout (the shim cannot see
        // when libc starts the child).
        None => {
            let _share = crate::state::exec_gate::quiet_share();
            // SAFETY: the caller's argument.
            unsafe { libc_real::system(cmd) }
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn popen(cmd: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's arguments; the shim's version makes the same call.
    let carried = guarded_cancellation_point(Some(std::ptr::null_mut()), || unsafe {
        crate::carry::spawn::popen(cmd, mode)
    });
    match carried {
        Some(fp) => fp,
        None => {
            let _share = crate::state::exec_gate::quiet_share();
            // SAFETY: the caller's arguments.
            unsafe { libc_real::popen(cmd, mode) }
        }
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn pclose(stream: *mut FILE) -> c_int {
    // SAFETY: the caller's argument; the shim's version makes the same call.
    let ours =
        guarded_cancellation_point(Some(-1), || unsafe { crate::carry::spawn::pclose(stream) });
    match ours {
        Some(status) => status,
        // Not a stream of the shim's popen.
        // SAFETY: the caller's argument.
        None => unsafe { libc_real::pclose(stream) },
    }
}
