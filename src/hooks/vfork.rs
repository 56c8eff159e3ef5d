//! `vfork`: a vfork child runs on its parent's memory until it execs: hooks
//! in it must not change the registry. Counting the vforks under way lets
//! the hot paths skip the `getpid` that tells a vfork child apart
//! (`state::process_owner::in_vfork_child`).

use crate::libc_real;
use libc::c_int;

/// The error path of the trampoline: undo the count and the share, set errno.
extern "C" fn vfork_failed(err: c_int) -> c_int {
    crate::state::process_owner::VFORKS_ACTIVE.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    crate::state::exec_gate::share_end();
    libc_real::set_errno(err);
    -1
}

/// The parent resumed: signals held back while it started the child are
/// raised now. Returns the child's pid.
extern "C" fn vfork_resumed(pid: libc::pid_t) -> libc::pid_t {
    crate::state::deferred_signals::release();
    pid
}

/// `vfork` as glibc does it (the return address kept in a register, as the
/// child may overwrite the stack), around a count of vforks under way: the
/// parent decrements it when it resumes. Before the system call it takes a
/// share of the exec gate (a vfork waits while another thread prepares an
/// exec that carries the sets); the child, which runs on the parent's
/// memory, ends that share at once (its descriptor table is its own copy
/// from then on), so the parent finds it ended when it resumes.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfork() -> libc::pid_t {
    core::arch::naked_asm!(
        "lock inc qword ptr [rip + {active}]",
        // rsp is 8 off 16 at entry: aligned for the call.
        "sub rsp, 8",
        "call {share}",
        "add rsp, 8",
        "pop rdi",
        "mov eax, 58", // SYS_vfork
        "syscall",
        "push rdi",
        "test rax, rax",
        "jz 2f",
        "cmp rax, -4095",
        "jae 3f",
        "lock dec qword ptr [rip + {active}]",
        "mov edi, eax",
        "jmp {resumed}",
        // The child: end the share its parent took, return 0.
        "2:",
        "sub rsp, 8",
        "call {unshare}",
        "add rsp, 8",
        "xor eax, eax",
        "ret",
        "3:",
        "neg eax",
        "mov edi, eax",
        "jmp {failed}",
        active = sym crate::state::process_owner::VFORKS_ACTIVE,
        failed = sym vfork_failed,
        share = sym crate::state::exec_gate::share_begin,
        unshare = sym crate::state::exec_gate::share_end_quietly,
        resumed = sym vfork_resumed,
    )
}
