//! `posix_spawn`, `system` and `popen` start programs from inside libc, where
//! no hook can run in the child: the sets reach the new program through
//! `posix_spawn` file actions that make the members inheritable in the child
//! only (`adddup2(fd, fd)` clears close-on-exec there), and the carried state
//! through the environment (spec section 7).

use crate::carry::exec::{self, Prepared};
use crate::carry::file_actions;
use crate::carry::privileged::Target;
use crate::libc_real::{self, CharPP};
use crate::state::exec_gate;
use libc::{FILE, c_char, c_int, pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};
use spin::mutex::SpinMutex;

/// glibc's `posix_spawn_file_actions_t`, as its public header lays it out:
/// the shim appends actions and then restores the count, leaving the
/// caller's object as it was.
#[repr(C)]
struct FileActionsLayout {
    allocated: c_int,
    used: c_int,
    actions: *mut libc::c_void,
    pad: [c_int; 16],
}

const _: () = assert!(
    std::mem::size_of::<FileActionsLayout>() == std::mem::size_of::<posix_spawn_file_actions_t>()
);

type SpawnFn = unsafe fn(
    *mut pid_t,
    *const c_char,
    *const posix_spawn_file_actions_t,
    *const posix_spawnattr_t,
    CharPP,
    CharPP,
) -> c_int;

/// `posix_spawn`/`posix_spawnp` carrying the sets when `envp` preloads the
/// shim and `target` (`path` as the call reads it) is not privileged. The
/// whole call holds a share of the exec gate.
///
/// # Safety
/// As for posix_spawn.
#[allow(clippy::too_many_arguments)]
pub unsafe fn spawn(
    real: SpawnFn,
    target: Target,
    pid: *mut pid_t,
    path: *const c_char,
    fa: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: CharPP,
    envp: CharPP,
) -> c_int {
    let _share = exec_gate::share();
    // SAFETY: the caller's target and environment.
    if unsafe { exec::carries_nothing(target, envp) } {
        // SAFETY: forwarded as given.
        return unsafe { real(pid, path, fa, attr, argv, envp) };
    }
    // The caller's own actions may put other files at the numbers the state
    // names: then the child gets no sets (spec section 7). Unknown actions
    // count as such.
    // SAFETY: fa is NULL or the caller's initialised object.
    let Some(targets) = (unsafe { file_actions::targets(fa) }) else {
        // SAFETY: forwarded as given.
        return unsafe { real(pid, path, fa, attr, argv, envp) };
    };
    // SAFETY: envp is the caller's; the state memfd is put above every number
    // the actions write.
    let prep = match unsafe { exec::prepare_avoiding(envp, &targets) } {
        exec::Carry::Carried(p) => p,
        exec::Carry::TooLarge => return libc::E2BIG,
        // SAFETY: forwarded as given.
        exec::Carry::Nothing => return unsafe { real(pid, path, fa, attr, argv, envp) },
    };
    if prep.collides(&targets) {
        prep.restore();
        // SAFETY: forwarded as given.
        return unsafe { real(pid, path, fa, attr, argv, envp) };
    }
    // SAFETY: forwarded, with actions appended.
    let r = unsafe { spawn_prepared(real, pid, path, fa, attr, argv, &prep) };
    prep.restore();
    if r == libc::EBADF {
        // The caller's own actions closed what the shim meant to pass on
        // (e.g. addclosefrom): start the program without the sets.
        // SAFETY: forwarded as given.
        return unsafe { real(pid, path, fa, attr, argv, envp) };
    }
    r
}

/// # Safety
/// As for posix_spawn; `prep` from `exec::prepare(_, false)`.
unsafe fn spawn_prepared(
    real: SpawnFn,
    pid: *mut pid_t,
    path: *const c_char,
    fa: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: CharPP,
    prep: &Prepared,
) -> c_int {
    // SAFETY: a zeroed file-actions object is what init produces anyway.
    let mut own: posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
    let fa_mut: *mut posix_spawn_file_actions_t = if fa.is_null() {
        // SAFETY: initialising our own object.
        unsafe { libc_real::fa_init(&mut own) };
        &mut own
    } else {
        fa as *mut _
    };
    let layout = fa_mut as *mut FileActionsLayout;
    // SAFETY: layout mirrors glibc's public struct.
    let used_before = unsafe { (*layout).used };
    let mut r = 0;
    for &fd in &prep.inherit {
        // SAFETY: appending to a valid file-actions object.
        r = unsafe { libc_real::fa_adddup2(fa_mut, fd, fd) };
        if r != 0 {
            break;
        }
    }
    if r == 0 {
        // SAFETY: forwarded with the prepared environment.
        r = unsafe { real(pid, path, fa_mut, attr, argv, prep.envp()) };
    }
    if fa.is_null() {
        // SAFETY: our own object.
        unsafe { libc_real::fa_destroy(&mut own) };
    } else {
        // Forget the appended actions (dup2 actions own no memory).
        // SAFETY: as above.
        unsafe { (*layout).used = used_before };
    }
    r
}

/// The shell `system` and `popen` run, as glibc's do.
const SHELL: &std::ffi::CStr = c"/bin/sh";

/// `sh -c -- CMD` started with the prepared environment and members.
unsafe fn spawn_shell(
    cmd: *const c_char,
    fa: *mut posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    prep: &Prepared,
    pid: &mut pid_t,
) -> c_int {
    let argv: [*const c_char; 5] = [
        c"sh".as_ptr(),
        c"-c".as_ptr(),
        c"--".as_ptr(),
        cmd,
        std::ptr::null(),
    ];
    // SAFETY: valid arguments; fa and attr are initialised by the caller.
    unsafe {
        spawn_prepared(
            libc_real::posix_spawn,
            pid,
            c"/bin/sh".as_ptr(),
            fa,
            attr,
            argv.as_ptr(),
            prep,
        )
    }
}

/// `system(cmd)` as glibc does it (SIGINT/SIGQUIT ignored and SIGCHLD
/// blocked while waiting), with the sets carried. `None`: nothing to carry.
///
/// # Safety
/// `cmd` is a C string.
pub unsafe fn system(cmd: *const c_char) -> Option<c_int> {
    // SAFETY: a path; NULL means environ.
    if unsafe { exec::carries_nothing(Target::Path(SHELL.as_ptr()), std::ptr::null()) } {
        return None;
    }
    // The gate is shared (and signals held back) from before the state is
    // collected until the child is started, not while it runs: a handler
    // that closed a dup meanwhile would wait for this very carry.
    let share = exec_gate::share();
    // SAFETY: NULL means environ.
    let prep = match unsafe { exec::prepare(std::ptr::null(), false) } {
        exec::Carry::Carried(p) => p,
        exec::Carry::TooLarge => return Some(exec::too_large()),
        exec::Carry::Nothing => return None,
    };
    let (old_int, old_quit) = ignore_interrupts();
    // SAFETY: plain signal and spawn calls on local objects.
    let status = unsafe {
        let mut chld: libc::sigset_t = std::mem::zeroed();
        let mut old_mask: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut chld);
        libc::sigaddset(&mut chld, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &chld, &mut old_mask);

        let mut attr: posix_spawnattr_t = std::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut def: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut def);
        if old_int.sa_sigaction != libc::SIG_IGN {
            libc::sigaddset(&mut def, libc::SIGINT);
        }
        if old_quit.sa_sigaction != libc::SIG_IGN {
            libc::sigaddset(&mut def, libc::SIGQUIT);
        }
        libc::posix_spawnattr_setsigdefault(&mut attr, &def);
        libc::posix_spawnattr_setsigmask(&mut attr, &old_mask);
        libc::posix_spawnattr_setflags(
            &mut attr,
            (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
        );
        let mut fa: posix_spawn_file_actions_t = std::mem::zeroed();
        libc_real::fa_init(&mut fa);
        let mut pid: pid_t = 0;
        // The gate is shared while the child is started, not while it runs.
        let r = spawn_shell(cmd, &mut fa, &attr, &prep, &mut pid);
        // The child is started: the dups it was given need not stay open,
        // and the memfd is its own now (the command may run for long).
        prep.restore();
        drop(share);
        let mut status: c_int = 0;
        if r == 0 {
            while libc::waitpid(pid, &mut status, 0) < 0 {
                if libc_real::errno() != libc::EINTR {
                    status = -1;
                    break;
                }
            }
        } else {
            // What glibc reports when the shell could not be started.
            status = 127 << 8;
        }
        libc_real::fa_destroy(&mut fa);
        libc::posix_spawnattr_destroy(&mut attr);
        libc::sigprocmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut());
        status
    };
    restore_interrupts();
    Some(status)
}

/// SIGINT's and SIGQUIT's actions from before the first `system` still
/// running, and how many run.
struct Interrupts {
    running: usize,
    int: libc::sigaction,
    quit: libc::sigaction,
}

/// As glibc: the first `system` to start ignores SIGINT and SIGQUIT, the
/// last to end puts back what was there, so that one that overlaps another
/// does not save (and later restore) the ignoring.
static INTERRUPTS: SpinMutex<Option<Interrupts>, YieldRelax> = SpinMutex::new(None);

/// Ignore SIGINT and SIGQUIT while a `system` runs; their actions from
/// before (for the child's defaults).
fn ignore_interrupts() -> (libc::sigaction, libc::sigaction) {
    let _quiet = SignalsBlocked::now();
    let mut g = INTERRUPTS.lock();
    if let Some(i) = g.as_mut() {
        i.running += 1;
        return (i.int, i.quit);
    }
    // SAFETY: plain data; sigaction fills the old actions.
    let saved = unsafe {
        let mut ign: libc::sigaction = std::mem::zeroed();
        ign.sa_sigaction = libc::SIG_IGN;
        libc::sigemptyset(&mut ign.sa_mask);
        let mut int: libc::sigaction = std::mem::zeroed();
        let mut quit: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, &ign, &mut int);
        libc::sigaction(libc::SIGQUIT, &ign, &mut quit);
        Interrupts {
            running: 1,
            int,
            quit,
        }
    };
    let r = (saved.int, saved.quit);
    *g = Some(saved);
    r
}

/// Every signal blocked on this thread while it lives: a handler that ran
/// while [`INTERRUPTS`] is held, and then waited for another thread (a dup's
/// close waits for a carry in flight), could wait for a thread that waits
/// for that lock.
struct SignalsBlocked(libc::sigset_t);

impl SignalsBlocked {
    fn now() -> SignalsBlocked {
        SignalsBlocked(exec_gate::block_all())
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        exec_gate::set_mask(&self.0);
    }
}

/// In a fork's child no `system` runs: the parent's other threads' are not
/// its own (the lock too may have been held by one of them).
pub fn after_fork_child() {
    // SAFETY: only this thread exists in the child; nobody else holds it.
    unsafe { INTERRUPTS.force_unlock() };
    *INTERRUPTS.lock() = None;
}

fn restore_interrupts() {
    let _quiet = SignalsBlocked::now();
    let mut g = INTERRUPTS.lock();
    let last = g.as_mut().is_some_and(|i| {
        i.running -= 1;
        i.running == 0
    });
    if last && let Some(i) = g.take() {
        // SAFETY: putting back the actions saved by ignore_interrupts.
        unsafe {
            libc::sigaction(libc::SIGINT, &i.int, std::ptr::null_mut());
            libc::sigaction(libc::SIGQUIT, &i.quit, std::ptr::null_mut());
        }
    }
}

/// Streams opened by [`popen`], with the child to wait for in [`pclose`].
/// (stream, child, the parent's descriptor of the pipe)
static POPENED: SpinMutex<Vec<(usize, pid_t, c_int)>, YieldRelax> = SpinMutex::new(Vec::new());

/// Waits by yielding the CPU: a holder that was preempted gets to run.
struct YieldRelax;
impl spin::RelaxStrategy for YieldRelax {
    fn relax() {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
    }
}

/// `popen(cmd, mode)` with the sets carried. `None`: nothing to carry (or a
/// mode to leave to libc).
///
/// # Safety
/// `cmd` and `mode` are C strings.
pub unsafe fn popen(cmd: *const c_char, mode: *const c_char) -> Option<*mut FILE> {
    if cmd.is_null() || mode.is_null() {
        return None;
    }
    // SAFETY: caller's C string.
    let m = unsafe { std::ffi::CStr::from_ptr(mode) }.to_bytes();
    let reading = match m.first() {
        Some(b'r') => true,
        Some(b'w') => false,
        _ => return None,
    };
    let cloexec = m.contains(&b'e');
    // SAFETY: a path; NULL means environ.
    if unsafe { exec::carries_nothing(Target::Path(SHELL.as_ptr()), std::ptr::null()) } {
        return None;
    }
    // The child's end of the pipe goes to its standard input or output: a
    // dup of the program's there is not the child's.
    let written = file_actions::Targets {
        fds: vec![if reading { 1 } else { 0 }],
        closefrom: None,
    };
    // Shared (signals held back) from the state's collection until the
    // child is started, as in `system`.
    let share = exec_gate::share();
    // SAFETY: NULL means environ.
    let prep = match unsafe { exec::prepare_avoiding(std::ptr::null(), &written) } {
        exec::Carry::Carried(p) => p,
        exec::Carry::TooLarge => {
            exec::too_large();
            return Some(std::ptr::null_mut());
        }
        exec::Carry::Nothing => return None,
    };
    let mut fds = [0 as c_int; 2];
    // SAFETY: plain syscall wrapper.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        prep.restore();
        return Some(std::ptr::null_mut());
    }
    let (parent_end, child_end, target) = if reading {
        (fds[0], fds[1], 1)
    } else {
        (fds[1], fds[0], 0)
    };
    let mut pid: pid_t = 0;
    // SAFETY: file actions on a local object; spawn with them.
    let r = unsafe {
        let mut fa: posix_spawn_file_actions_t = std::mem::zeroed();
        libc_real::fa_init(&mut fa);
        libc_real::fa_adddup2(&mut fa, child_end, target);
        // As glibc's popen: the streams of earlier popens still open are
        // closed in the new child (else a child keeps another's pipe open
        // and that pclose waits for ever).
        let earlier: Vec<c_int> = POPENED.lock().iter().map(|&(_, _, fd)| fd).collect();
        for fd in earlier {
            if fd != target {
                libc_real::fa_addclose(&mut fa, fd);
            }
        }
        let r = spawn_shell(cmd, &mut fa, std::ptr::null(), &prep, &mut pid);
        libc_real::fa_destroy(&mut fa);
        r
    };
    prep.restore();
    drop(share);
    libc_real::close(child_end);
    if r != 0 {
        libc_real::close(parent_end);
        libc_real::set_errno(r);
        return Some(std::ptr::null_mut());
    }
    if !cloexec {
        libc_real::fcntl_int(parent_end, libc::F_SETFD, 0);
    }
    let fmode = if reading { c"r" } else { c"w" };
    // SAFETY: a fresh pipe end.
    let fp = unsafe { libc_real::fdopen(parent_end, fmode.as_ptr()) };
    if fp.is_null() {
        let e = libc_real::errno();
        // SAFETY: our pipe end; then reap the child.
        unsafe {
            libc_real::close(parent_end);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        libc_real::set_errno(e);
        return Some(fp);
    }
    {
        // As for INTERRUPTS: no handler runs while the list is held.
        let _quiet = SignalsBlocked::now();
        POPENED.lock().push((fp as usize, pid, parent_end));
    }
    Some(fp)
}

/// `pclose` of a stream from [`popen`]: close it and wait for its child.
/// `None`: not one of ours.
///
/// # Safety
/// `fp` is a stream.
pub unsafe fn pclose(fp: *mut FILE) -> Option<c_int> {
    let pid = {
        let _quiet = SignalsBlocked::now();
        let mut list = POPENED.lock();
        let pos = list.iter().position(|&(f, _, _)| f == fp as usize)?;
        list.swap_remove(pos).1
    };
    // SAFETY: our stream.
    unsafe { libc_real::fclose(fp) };
    let mut status: c_int = 0;
    loop {
        // SAFETY: waiting for our child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            return Some(status);
        }
        if libc_real::errno() != libc::EINTR {
            return Some(-1);
        }
    }
}
