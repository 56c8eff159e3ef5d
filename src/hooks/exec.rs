//! `exec*`: programs started from a preloaded program see its sets (spec
//! section 7).

use super::guarded;
use crate::libc_real;
use libc::{c_char, c_int};

use crate::carry::exec::run_exec;
use crate::carry::privileged::Target;
use crate::libc_real::CharPP;

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn execve(path: *const c_char, argv: CharPP, envp: CharPP) -> c_int {
    // SAFETY: the caller's exec arguments, passed on unchanged; run_exec
    // reads `envp` (or environ) as the exec itself would.
    guarded(-1, || unsafe {
        run_exec(
            Target::Path(path),
            envp,
            |e| libc_real::execve(path, argv, e),
            || libc_real::execve(path, argv, envp),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn execv(path: *const c_char, argv: CharPP) -> c_int {
    // SAFETY: the caller's exec arguments, passed on unchanged; run_exec
    // reads `envp` (or environ) as the exec itself would.
    guarded(-1, || unsafe {
        run_exec(
            Target::Path(path),
            std::ptr::null(),
            |e| libc_real::execve(path, argv, e),
            || libc_real::execv(path, argv),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn execvp(file: *const c_char, argv: CharPP) -> c_int {
    // SAFETY: the caller's exec arguments, passed on unchanged; run_exec
    // reads `envp` (or environ) as the exec itself would.
    guarded(-1, || unsafe {
        run_exec(
            Target::Search(file),
            std::ptr::null(),
            |e| libc_real::execvpe(file, argv, e),
            || libc_real::execvp(file, argv),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn execvpe(file: *const c_char, argv: CharPP, envp: CharPP) -> c_int {
    // SAFETY: the caller's exec arguments, passed on unchanged; run_exec
    // reads `envp` (or environ) as the exec itself would.
    guarded(-1, || unsafe {
        run_exec(
            Target::Search(file),
            envp,
            |e| libc_real::execvpe(file, argv, e),
            || libc_real::execvpe(file, argv, envp),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: CharPP,
    envp: CharPP,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's exec arguments, passed on unchanged; run_exec
    // reads `envp` (or environ) as the exec itself would.
    guarded(-1, || unsafe {
        run_exec(
            Target::At(dirfd, path, flags),
            envp,
            |e| libc_real::execveat(dirfd, path, argv, e, flags),
            || libc_real::execveat(dirfd, path, argv, envp, flags),
        )
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn fexecve(fd: c_int, argv: CharPP, envp: CharPP) -> c_int {
    // SAFETY: the caller's exec arguments, passed on unchanged; run_exec
    // reads `envp` (or environ) as the exec itself would.
    guarded(-1, || unsafe {
        run_exec(
            Target::Fd(fd),
            envp,
            |e| libc_real::fexecve(fd, argv, e),
            || libc_real::fexecve(fd, argv, envp),
        )
    })
}

/// `execl(path, arg0, ..., NULL)`: the trampoline hands over the variadic
/// list as an argv array.
unsafe extern "C" fn execl_list(path: *const c_char, argv: CharPP) -> c_int {
    // SAFETY: argv is the caller's NULL-terminated list.
    unsafe { execv(path, argv) }
}

/// `execle(path, arg0, ..., NULL, envp)`: envp follows the NULL.
unsafe extern "C" fn execle_list(path: *const c_char, argv: CharPP) -> c_int {
    let mut end = argv;
    // SAFETY: the list is NULL-terminated and envp follows it.
    unsafe {
        while !(*end).is_null() {
            end = end.add(1);
        }
        let envp = *(end.add(1)) as CharPP;
        execve(path, argv, envp)
    }
}

unsafe extern "C" fn execlp_list(file: *const c_char, argv: CharPP) -> c_int {
    // SAFETY: argv is the caller's NULL-terminated list.
    unsafe { execvp(file, argv) }
}

// Rust cannot define C-variadic functions. On x86_64 the variadic arguments
// after `path` are in rsi, rdx, rcx, r8, r9 and then on the caller's stack:
// pushing the five registers below the stack ones lays the whole list out as
// one array, whose address goes to the Rust function; the stack is put back
// before returning (the exec failed).
macro_rules! list_trampoline {
    ($name:ident, $imp:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[unsafe(naked)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $name() {
            core::arch::naked_asm!(
                "pop r11",
                "push r9",
                "push r8",
                "push rcx",
                "push rdx",
                "push rsi",
                "mov rsi, rsp",
                "push r11",
                "call {imp}",
                "pop r11",
                "add rsp, 40",
                "push r11",
                "ret",
                imp = sym $imp,
            )
        }
    };
}

list_trampoline!(execl, execl_list);
list_trampoline!(execle, execle_list);
list_trampoline!(execlp, execlp_list);
