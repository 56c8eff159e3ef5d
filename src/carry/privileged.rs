//! No state into a privileged program (spec section 7): an exec or spawn of
//! a set-user-ID or set-group-ID program, or one with file capabilities,
//! carries nothing. The loader runs such a program in secure mode and
//! ignores `LD_PRELOAD`, so nothing would read the state or make the
//! members close-on-exec again: they would stay open, inheritable, in a
//! program that runs with more rights than the one that had them.
//!
//! Nor into a program that cannot load the shim whatever its environment
//! says (spec section 7, "nothing of this leaks to a program started
//! without the shim"): a statically linked one, one whose loader is not
//! glibc's, a 32-bit one (`fdset_core::launch::elf::reason`, as fdset-run
//! judges its program). The members would stay open in it, and its
//! `FDSET_STATE` would reach the programs it starts.
//!
//! The target is looked at as the kernel will see it: the path (followed
//! through symlinks), the file `PATH` gives an `execvp`-style call (the
//! first executable candidate, as glibc picks it), the descriptor of
//! `fexecve`, the `dirfd`/path/flags of `execveat`; a script is judged by
//! its interpreter too (the kernel runs the interpreter with the
//! interpreter's set-ID bits), up to the kernel's four levels. What cannot
//! be looked at is treated as privileged. The check and the exec are two
//! steps: a target replaced in between is out of reach of any check (only
//! someone who may write the target's directory can do that).

use crate::libc_real;
use libc::{c_char, c_int};
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;

/// What an exec-family call starts.
#[derive(Clone, Copy)]
pub enum Target {
    /// A path (`execve`, `execv`, `posix_spawn`, `system`'s shell).
    Path(*const c_char),
    /// A file name searched in `PATH` when it has no slash (`execvp`,
    /// `execvpe`, `posix_spawnp`).
    Search(*const c_char),
    /// An open descriptor (`fexecve`).
    Fd(c_int),
    /// `execveat(dirfd, path, _, _, flags)`.
    At(c_int, *const c_char, c_int),
}

/// The kernel follows at most this many interpreters (BINPRM_MAX_RECURSION).
const MAX_INTERPRETERS: usize = 4;

/// Whether the state must not be carried into `target`.
///
/// # Safety
/// The pointers in `target` are NULL or NUL-terminated strings.
pub unsafe fn refuses(target: Target) -> bool {
    // The looks below fail by design (no file capabilities: ENODATA; a
    // PATH directory without the program: ENOENT); the caller's call that
    // succeeds must leave errno as it was (spec section 6).
    let saved = libc_real::errno();
    // SAFETY: per the contract.
    let opened = unsafe { open_target(target) };
    let r = match opened {
        Some(fd) => {
            let r = privileged_fd(fd, 0);
            libc_real::close(fd);
            r
        }
        // Not found: the exec will fail (or find something we could not
        // see): nothing is carried.
        None => true,
    };
    libc_real::set_errno(saved);
    r
}

/// An `O_PATH` descriptor of what the exec will run.
///
/// # Safety
/// As for [`refuses`].
unsafe fn open_target(target: Target) -> Option<c_int> {
    let flags = libc::O_PATH | libc::O_CLOEXEC;
    let fd = match target {
        // SAFETY: a NUL-terminated path (or NULL, which fails with EFAULT).
        Target::Path(p) => unsafe { libc_real::openat(libc::AT_FDCWD, p, flags, 0) },
        Target::Search(file) => {
            if file.is_null() {
                return None;
            }
            // SAFETY: a NUL-terminated file name.
            let name = unsafe { CStr::from_ptr(file) }.to_bytes();
            if name.is_empty() {
                return None;
            }
            if name.contains(&b'/') {
                // SAFETY: as above.
                unsafe { libc_real::openat(libc::AT_FDCWD, file, flags, 0) }
            } else {
                return search_path(name);
            }
        }
        // SAFETY: a descriptor number; /proc gives a new O_PATH one.
        Target::Fd(fd) => return reopen_fd(fd),
        Target::At(dirfd, path, at_flags) => {
            // SAFETY: a NUL-terminated path.
            let empty = path.is_null() || unsafe { *path } == 0;
            if empty && at_flags & libc::AT_EMPTY_PATH != 0 {
                return reopen_fd(dirfd);
            }
            let nofollow = if at_flags & libc::AT_SYMLINK_NOFOLLOW != 0 {
                libc::O_NOFOLLOW
            } else {
                0
            };
            // SAFETY: the caller's directory descriptor and path.
            unsafe { libc_real::openat(dirfd, path, flags | nofollow, 0) }
        }
    };
    (fd >= 0).then_some(fd)
}

fn proc_fd_path(fd: c_int) -> CString {
    CString::new(format!("/proc/self/fd/{fd}")).unwrap_or_default()
}

fn reopen_fd(fd: c_int) -> Option<c_int> {
    let p = proc_fd_path(fd);
    // SAFETY: a NUL-terminated path.
    let new = unsafe {
        libc_real::openat(
            libc::AT_FDCWD,
            p.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
            0,
        )
    };
    (new >= 0).then_some(new)
}

/// The candidate glibc's `execvp` runs: the first file in `PATH` (the
/// caller's environment; glibc's default when unset) that is a regular file
/// this process may execute.
fn search_path(name: &[u8]) -> Option<c_int> {
    let path = std::env::var_os("PATH")
        .map(std::os::unix::ffi::OsStringExt::into_vec)
        .unwrap_or_else(|| b"/bin:/usr/bin".to_vec());
    for dir in path.split(|&b| b == b':') {
        let mut candidate = if dir.is_empty() {
            Vec::new()
        } else {
            let mut d = dir.to_vec();
            d.push(b'/');
            d
        };
        candidate.extend_from_slice(name);
        let Ok(c) = CString::new(candidate) else {
            continue;
        };
        // SAFETY: a NUL-terminated path.
        let fd = unsafe {
            libc_real::openat(
                libc::AT_FDCWD,
                c.as_ptr(),
                libc::O_PATH | libc::O_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            continue;
        }
        // SAFETY: plain data filled by fstat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: our descriptor and a valid buffer.
        let regular =
            unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG;
        // SAFETY: a NUL-terminated path.
        let runnable = regular
            && unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) }
                == 0;
        if runnable {
            return Some(fd);
        }
        libc_real::close(fd);
    }
    None
}

/// Set-ID bits, file capabilities, or a privileged interpreter.
fn privileged_fd(fd: c_int, depth: usize) -> bool {
    // SAFETY: plain data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: our descriptor and a valid buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return true;
    }
    let mode = st.st_mode;
    if mode & libc::S_ISUID != 0 || (mode & libc::S_ISGID != 0 && mode & libc::S_IXGRP != 0) {
        return true;
    }
    let p = proc_fd_path(fd);
    // SAFETY: a NUL-terminated path and name; no buffer (size query).
    let caps = unsafe {
        libc::getxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    if caps >= 0 {
        return true;
    }
    let e = libc_real::errno();
    if e != libc::ENODATA && e != libc::ENOTSUP {
        // Could not tell.
        return true;
    }
    match interpreter(&p) {
        Interpreter::None => false,
        Interpreter::Unknown | Interpreter::CannotPreload => true,
        Interpreter::Path(_) if depth + 1 >= MAX_INTERPRETERS => true,
        Interpreter::Path(interp) => {
            // SAFETY: a NUL-terminated path.
            let ifd = unsafe {
                libc_real::openat(
                    libc::AT_FDCWD,
                    interp.as_ptr(),
                    libc::O_PATH | libc::O_CLOEXEC,
                    0,
                )
            };
            if ifd < 0 {
                // The exec will fail.
                return false;
            }
            let r = privileged_fd(ifd, depth + 1);
            libc_real::close(ifd);
            r
        }
    }
}

enum Interpreter {
    None,
    /// A `#!` line that could not be read or understood.
    Unknown,
    Path(CString),
    /// An ELF program `LD_PRELOAD` cannot reach.
    CannotPreload,
}

/// The ELF headers looked at: the program headers and `PT_INTERP` of
/// usual programs lie in the first page.
const ELF_HEAD: usize = 4096;

/// The interpreter a `#!` script names (the kernel reads at most 256 bytes),
/// or whether an ELF program cannot load the shim.
fn interpreter(proc_path: &CString) -> Interpreter {
    // SAFETY: a NUL-terminated path.
    let fd = unsafe {
        libc_real::openat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        // Unreadable (execute-only): a binary, as scripts must be read by
        // their interpreter.
        return Interpreter::None;
    }
    let mut buf = [0u8; ELF_HEAD];
    // SAFETY: reading into a local buffer from our descriptor.
    let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    libc_real::close(fd);
    if n < 2 {
        return Interpreter::None;
    }
    let head = &buf[..n as usize];
    if head.starts_with(b"\x7fELF") {
        return if cannot_preload(head, proc_path) {
            Interpreter::CannotPreload
        } else {
            Interpreter::None
        };
    }
    let head = &head[..head.len().min(256)];
    let Some(rest) = head.strip_prefix(b"#!") else {
        return Interpreter::None;
    };
    let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
    let name: Vec<u8> = line
        .iter()
        .copied()
        .skip_while(|&b| b == b' ' || b == b'\t')
        .take_while(|&b| b != b' ' && b != b'\t' && b != 0)
        .collect();
    if name.is_empty() {
        return Interpreter::Unknown;
    }
    match CString::new(name) {
        Ok(c) => Interpreter::Path(c),
        Err(_) => Interpreter::Unknown,
    }
}

/// An ELF program the loader will not preload the shim into, by its
/// headers (`head`, its first bytes). Headers that cannot be read from
/// there say nothing: the program is taken to load it, as before.
fn cannot_preload(head: &[u8], proc_path: &CString) -> bool {
    use fdset_core::launch::elf;
    let Ok(Some(facts)) = elf::inspect(&mut std::io::Cursor::new(head)) else {
        return false;
    };
    match elf::reason(&facts) {
        None => false,
        // glibc's loader run as a program, or a valgrind tool, has no
        // loader of its own, yet preloads for the program it runs.
        Some(elf::Reason::Static) => !std::fs::read_link(OsStr::from_bytes(proc_path.as_bytes()))
            .is_ok_and(|p| elf::preloads_the_program_it_runs(&p)),
        Some(_) => true,
    }
}
