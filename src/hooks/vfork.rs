//! `vfork`: a vfork child runs on its parent's memory until it execs: hooks
//! in it must not change the registry. Counting the vforks under way lets
//! the hot paths skip the `getpid` that tells a vfork child apart
//! (`state::process_owner::in_vfork_child`).

use crate::libc_real;
use libc::c_int;

/// The error path of the trampoline: undo the count, set errno.
extern "C" fn vfork_failed(err: c_int) -> c_int {
    crate::state::process_owner::VFORKS_ACTIVE.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    libc_real::set_errno(err);
    -1
}

/// `vfork` as glibc does it (the return address kept in a register, as the
/// child may overwrite the stack), around a count of vforks under way: the
/// parent decrements it when it resumes; the child returns 0 untouched.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfork() -> libc::pid_t {
    core::arch::naked_asm!(
        "lock inc qword ptr [rip + {active}]",
        "pop rdi",
        "mov eax, 58", // SYS_vfork
        "syscall",
        "push rdi",
        "test rax, rax",
        "jz 2f",
        "cmp rax, -4095",
        "jae 3f",
        "lock dec qword ptr [rip + {active}]",
        "2:",
        "ret",
        "3:",
        "neg eax",
        "mov edi, eax",
        "jmp {failed}",
        active = sym crate::state::process_owner::VFORKS_ACTIVE,
        failed = sym vfork_failed,
    )
}
