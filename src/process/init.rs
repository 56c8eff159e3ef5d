//! Start-up: read the environment once, take the launch-time sets, then hide
//! the variables from any program this one starts (spec sections 4 and 5).

use crate::libc_real;
use crate::state::Config;
use fdset_core::launch::{add_fd, control_fds};
use fdset_core::paths::PathConfig;
use std::ffi::CStr;

/// Variables the shim consumes.
const CONSUMED: &[&CStr] = &[
    c"FDSET_ADD_FD",
    c"FDSET_PREFIX",
    c"FDSET_ALIAS",
    c"FDSET_STATE",
    c"FDSET_CONTROL_FD",
    c"FDSET_WAIT",
    c"FDSET_IO_URING",
];

use crate::carry::environment;
use fdset_core::log_target::LogTarget;

unsafe extern "C" {
    static mut environ: *mut *mut libc::c_char;
}

// The environment is read and edited through `environ` itself: a program
// may define its own getenv/unsetenv (bash does, over its variable table,
// which does not exist yet while this runs), and those would be called
// instead of libc's.

/// The first `environ` slot at or after `from` whose entry is `key=...`,
/// and the value's bytes.
///
/// # Safety
/// `from` points into `environ` (a NULL-terminated array of C strings), and
/// nothing else uses the environment meanwhile (the constructor runs alone).
unsafe fn find_entry(
    from: *mut *mut libc::c_char,
    key: &[u8],
) -> Option<(*mut *mut libc::c_char, &'static [u8])> {
    // SAFETY: per the contract.
    unsafe { environment::entries(from as *const *const libc::c_char) }.find_map(|(slot, entry)| {
        Some((
            slot as *mut *mut libc::c_char,
            environment::value_of(entry, key)?,
        ))
    })
}

/// The value of `name` in `environ`, as bytes.
fn getenv_bytes(name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: the constructor runs alone; environ is the process's.
    unsafe { find_entry(environ, name.to_bytes()) }.map(|(_, v)| v.to_vec())
}

/// The value of `name` in `environ`, which must be text: a value that is
/// not UTF-8 is a bad setting (taken with replacement characters, a path
/// would silently never match).
fn getenv(name: &CStr) -> Result<Option<String>, String> {
    // SAFETY: the constructor runs alone; environ is the process's.
    let Some((_, v)) = (unsafe { find_entry(environ, name.to_bytes()) }) else {
        return Ok(None);
    };
    String::from_utf8(v.to_vec())
        .map(Some)
        .map_err(|_| format!("{} is not valid UTF-8", name.to_string_lossy()))
}

/// Remove every `name=` entry from `environ`, in place.
fn unsetenv(name: &CStr) {
    // SAFETY: as in getenv; entries after a removed one move down by one.
    unsafe {
        let mut from = environ;
        while let Some((slot, _)) = find_entry(from, name.to_bytes()) {
            let mut q = slot;
            while !(*q).is_null() {
                *q = *q.add(1);
                q = q.add(1);
            }
            from = slot;
        }
    }
}

/// A bad setting stops the program before `main`: one line on stderr, exit 1.
fn fatal(text: &str) -> ! {
    crate::log::error_line(text);
    // SAFETY: _exit has no preconditions; no destructors must run in a
    // program that never started.
    unsafe { libc::_exit(1) }
}

fn load() -> Result<(), String> {
    let mut paths = PathConfig::default();
    if let Some(p) = getenv(c"FDSET_PREFIX")? {
        paths.prefixes = PathConfig::parse_prefixes(&p)?;
    }
    if let Some(a) = getenv(c"FDSET_ALIAS")? {
        paths.aliases = PathConfig::parse_aliases(&a)?;
    }
    if let Some(why) = paths.alias_under_prefix() {
        return Err(format!("FDSET_ALIAS: {why}"));
    }
    let log_target = match getenv_bytes(c"FDSET_LOG") {
        Some(v) => Some(LogTarget::parse(&v)?),
        None => None,
    };
    let mut log = log_target.is_some();
    let io_uring_off = fdset_core::syscalls::parse_io_uring(getenv(c"FDSET_IO_URING")?.as_deref())?;
    crate::ops::syscall::set_io_uring_off(io_uring_off);
    crate::state::process_owner::record_owner_pid();
    crate::carry::exec::init_our_name();
    // Sets carried across an exec (spec section 7) come first: the new image
    // sees the same sets, with launch-time sets of its own added after.
    if let Some(v) = getenv(c"FDSET_STATE")? {
        crate::carry::exec::restore_from_env(&v, &mut paths, &mut log)?;
    }
    let extra_paths = !paths.prefixes.is_empty() || !paths.aliases.is_empty();
    crate::state::set_config(Config { paths });
    crate::ops::syscall::set_extra_paths(extra_paths);
    match log_target {
        Some(target) => crate::log::start(&target)?,
        // Carried from a program that logged, whose exec dropped FDSET_LOG.
        None if log => crate::log::start(&LogTarget::Stderr)?,
        None => {}
    }

    let specs = match getenv(c"FDSET_ADD_FD")? {
        Some(s) => add_fd::parse_add_fd(&s)?,
        None => Vec::new(),
    };
    // Checked before any fd changes hands.
    let control = match getenv(c"FDSET_CONTROL_FD")? {
        Some(s) => {
            let launch_fds: Vec<i64> = specs.iter().filter_map(|s| s.fd).collect();
            control_fds::parse_control_fds(&s, &launch_fds, |fd| control_fds::fd_state(fd, false))?
        }
        None => Vec::new(),
    };
    let wait = fdset_core::wait_setting::parse_wait(getenv(c"FDSET_WAIT")?.as_deref())?;
    if wait && control.is_empty() {
        return Err(fdset_core::wait_setting::WAIT_WITHOUT_MONITOR.to_string());
    }
    crate::process::launch_sets::add_launch_sets(&specs)?;
    if control.is_empty()
        && !crate::control::serving()
        && let Some(mut st) = crate::state::lock()
    {
        // Without a control socket nobody could ever remove these sets.
        st.registry.set_always_in_use(true);
    }
    for name in CONSUMED {
        // SAFETY: NUL-terminated name; nothing else runs yet.
        unsetenv(name);
    }
    crate::process::fork::register_atfork();
    if !control.is_empty() {
        // Monitors from here on; sets follow the monitor rule (spec section 2).
        crate::control::start(&control, wait)?;
    }
    Ok(())
}

/// The section by which fdset-run knows this file for the shim before it
/// preloads it (`fdset_core::launch::elf::is_fdset_shim`): another library
/// named in `FDSET_SHIM_LIB` would load, and the program run without its
/// sets. Its name, not its bytes, is what counts.
#[used]
#[unsafe(link_section = ".fdset_shim")]
static LIBRARY_MARK: [u8; 11] = *b"fdset-shim\0";

extern "C" fn fdset_shim_init() {
    // Referenced, so that the linker's garbage collection keeps the section.
    std::hint::black_box(&LIBRARY_MARK);
    let saved = libc_real::errno();
    // Every real function resolved now, not first in a signal handler
    // (dlsym takes the loader's lock), nor with a check on every call.
    libc_real::resolve_all();
    let r = std::panic::catch_unwind(load);
    match r {
        Ok(Ok(())) => {}
        Ok(Err(text)) => fatal(&text),
        Err(_) => fatal("internal error while starting"),
    }
    libc_real::set_errno(saved);
}

// Runs when the library is loaded, before the program's `main`.
#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = fdset_shim_init;
