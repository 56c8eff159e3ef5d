//! The program fdset-run starts: found as `execvp` would find it, checked
//! to be one the preload reaches, and the library it preloads.

use crate::die;
use fdset_core::cli;
use fdset_core::launch::identity::{self, Identity};
use fdset_core::launch::options::LaunchOptions;
use fdset_core::launch::{elf, library};
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shim library to preload: `FDSET_SHIM_LIB`, else the first of the
/// usual places; refused when the loader could not take its path.
pub(crate) fn shim_library() -> Result<PathBuf, String> {
    let lib = find_shim_library()?;
    if let Some(why) = library::unusable_in_ld_preload(&lib) {
        return Err(why);
    }
    // Another library (or no library) would be loaded, or skipped with a
    // warning, and the program would run without its sets.
    if !elf::is_fdset_shim(&lib) {
        return Err(library::not_the_shim_text(&lib));
    }
    Ok(lib)
}

fn find_shim_library() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("FDSET_SHIM_LIB") {
        let p = PathBuf::from(p);
        let bad = |e: &dyn std::fmt::Display| {
            format!(
                "FDSET_SHIM_LIB={}: {e} (point it at libfdset_shim.so, or unset it to use the one beside fdset-run)",
                p.display()
            )
        };
        let lib = p.canonicalize().map_err(|e| bad(&e))?;
        if !lib.is_file() {
            return Err(bad(&"not a regular file"));
        }
        return Ok(lib);
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let looked = library::candidates(&exe);
    match looked.iter().find(|p| p.is_file()) {
        Some(lib) => Ok(lib.clone()),
        None => Err(library::not_found_text(&looked)),
    }
}

/// The program to run, found as `execvp` would find it (so that the file
/// checked is the file run), and refused when the shim cannot reach it.
fn find_program(name: &OsStr) -> PathBuf {
    let path_var = std::env::var_os("PATH");
    elf::find_program(name, path_var.as_deref()).unwrap_or_else(|e| cannot_run(name, &e))
}

/// Whether PROGRAM (found at `program`) must be served from outside: the
/// preload cannot reach it (statically linked, another C library's loader,
/// Go). A program seccomp cannot serve either (32-bit, another machine) is
/// refused with the reason.
fn needs_seccomp(program: &Path) -> bool {
    let path_var = std::env::var_os("PATH");
    match elf::cannot_preload(program, path_var.as_deref()) {
        None => false,
        Some(why) if why.reason.served_by_seccomp() => {
            cli::warn(format_args!(
                "fdset-run: {why}: serving its sets from outside it with seccomp (as --seccomp)"
            ));
            true
        }
        Some(why) => die(&format!(
            "{why}; its opens of /dev/fdset/N would fail (run a build of it for this machine, or a shim built for its)"
        )),
    }
}

/// The program to run (looked up in `PATH` once) and whether it is served
/// with seccomp (`--seccomp`, or a program the preload cannot reach; then
/// the name is passed on as given).
pub(crate) fn program_and_mode(opts: &LaunchOptions) -> (PathBuf, bool) {
    let name = &opts.program[0];
    if opts.seccomp {
        // fdset-seccomp finds it again; a missing one is told now, before
        // any file is opened for it.
        find_program(name);
        return (PathBuf::from(name), true);
    }
    let program = find_program(name);
    if needs_seccomp(&program) {
        (PathBuf::from(name), true)
    } else {
        (program, false)
    }
}

/// Spec section 7: no state into a set-user-ID or set-group-ID program, nor
/// one with file capabilities (the program itself or a script's
/// interpreter, as the kernel runs it). The loader ignores `LD_PRELOAD`
/// there, so its sets would never be served and the opened files would
/// stay open in a program with more rights: refused before it starts.
pub(crate) fn refuse_privileged(program: &Path) {
    let mut file = program.to_path_buf();
    for _ in 0..4 {
        if let Some(what) = privilege_of(&file) {
            let is = if file == program {
                format!("is {what}")
            } else {
                format!("is run by {}, which is {what}", file.display())
            };
            die(&format!(
                "{} {is}: the loader ignores LD_PRELOAD there, so its sets would not reach it \
                 and the files fdset-run opened would stay open in a program with more rights; \
                 the program was not started",
                program.display()
            ));
        }
        let mut head = [0u8; 256];
        let n = std::fs::File::open(&file)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        match elf::shebang(&head[..n]) {
            Some((interp, _)) => file = interp,
            None => return,
        }
    }
}

/// "set-user-ID", "set-group-ID" or "given file capabilities", for `file`.
fn privilege_of(file: &Path) -> Option<&'static str> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).ok()?.permissions().mode();
    if mode & libc::S_ISUID != 0 {
        return Some("set-user-ID");
    }
    if mode & libc::S_ISGID != 0 && mode & libc::S_IXGRP != 0 {
        return Some("set-group-ID");
    }
    let c = CString::new(file.as_os_str().as_bytes()).ok()?;
    // SAFETY: NUL-terminated path and name; no buffer (a size query).
    let caps = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    (caps >= 0).then_some("given file capabilities")
}

/// 127 when the program is not found, 126 when it cannot be run (as `env`).
/// A full descriptor table is fdset-run's own failure (125): starting the
/// program needs descriptors beside the members it holds open.
pub(crate) fn cannot_run(name: &OsStr, e: &io::Error) -> ! {
    if let Some(hint) = crate::fd_limit_hint(e) {
        crate::die(&format!(
            "cannot start {}: {e}{hint}",
            Path::new(name).display()
        ));
    }
    crate::made_files::remove_all();
    cli::warn(format_args!(
        "fdset-run: cannot run {}: {e}",
        Path::new(name).display()
    ));
    std::process::exit(if e.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    })
}

/// Refuse before the program starts when the new identity could not load
/// the shim: the loader would skip it with a warning and the program would
/// run without its sets. Call after [`identity::switch`].
pub(crate) fn library_readable_after_switch(lib: &CString) -> Result<(), i32> {
    // SAFETY: a NUL-terminated path; access only reports (with the real
    // ids, which the switch made the effective ones too).
    if unsafe { libc::access(lib.as_ptr(), libc::R_OK) } != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(())
}

pub(crate) fn library_unreadable_text(id: &Identity, lib: &Path, errno: i32) -> String {
    format!(
        "{}: the new identity cannot read {} ({}), so the loader would skip it \
         (put the library where that user can read it, e.g. /usr/local/lib, or point \
         FDSET_SHIM_LIB at a readable copy); the program was not started",
        id.shown,
        lib.display(),
        io::Error::from_raw_os_error(errno)
    )
}

/// No monitor is needed: become the program. Its launch-time sets stay in
/// use for its life (spec section 2, "In use": no control socket), it has
/// no helper thread, and its signals and exit status are its own.
pub(crate) fn exec_in_place(
    mut cmd: Command,
    opts: &LaunchOptions,
    inherit: &[RawFd],
    ident: Option<&Identity>,
    lib: &Path,
    lib_c: &CString,
) -> ! {
    for &fd in inherit {
        // SAFETY: clearing close-on-exec of a descriptor fdset-run opened.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
            die(&format!(
                "fcntl(F_SETFD) of fd {fd}: {}",
                io::Error::last_os_error()
            ));
        }
    }
    if let Some(id) = ident {
        if let Err((step, errno)) = identity::switch(id) {
            die(&identity::switch_error_text(id, step, errno));
        }
        if let Err(errno) = library_readable_after_switch(lib_c) {
            die(&library_unreadable_text(id, lib, errno));
        }
    }
    let as_started = crate::stdio::as_started();
    // SAFETY: close() and signal() only; in a pre_exec closure, as that
    // runs after Command reset SIGPIPE.
    unsafe {
        cmd.pre_exec(move || {
            fdset_core::launch::as_started::restore(as_started);
            Ok(())
        });
    }
    let e = cmd.exec();
    cannot_run(&opts.program[0], &e)
}
