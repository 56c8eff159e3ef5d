//! Start-up: read the environment once, take the launch-time sets, then hide
//! the variables from any program this one starts (spec sections 4 and 5).

use crate::fdpath::PathConfig;
use crate::launch_spec;
use crate::shim::{self, Config};
use crate::sys;
use std::ffi::CStr;

/// Variables the shim consumes.
const CONSUMED: &[&CStr] = &[c"FDSET_ADD_FD", c"FDSET_PREFIX", c"FDSET_ALIAS"];

fn getenv(name: &CStr) -> Option<String> {
    // SAFETY: name is NUL-terminated; the result is copied at once.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returns a NUL-terminated string.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// A bad setting stops the program before `main`: one line on stderr, exit 1.
fn fatal(text: &str) -> ! {
    shim::log(text);
    // SAFETY: _exit has no preconditions; no destructors must run in a
    // program that never started.
    unsafe { libc::_exit(1) }
}

fn load() -> Result<(), String> {
    let mut paths = PathConfig::default();
    if let Some(p) = getenv(c"FDSET_PREFIX") {
        paths.prefixes = PathConfig::parse_prefixes(&p)?;
    }
    if let Some(a) = getenv(c"FDSET_ALIAS") {
        paths.aliases = PathConfig::parse_aliases(&a)?;
    }
    let log = getenv(c"FDSET_LOG").is_some_and(|v| v == "1");
    shim::set_config(Config { paths, log });

    let specs = match getenv(c"FDSET_ADD_FD") {
        Some(s) => launch_spec::parse_add_fd(&s)?,
        None => Vec::new(),
    };
    shim::add_launch_sets(&specs)?;
    if let Some(mut st) = shim::lock() {
        // Without a control socket nobody could ever remove these sets.
        st.registry.set_always_in_use(true);
    }
    for name in CONSUMED {
        // SAFETY: NUL-terminated name; nothing else runs yet.
        unsafe { libc::unsetenv(name.as_ptr()) };
    }
    shim::register_atfork();
    Ok(())
}

extern "C" fn fdset_shim_init() {
    let saved = sys::errno();
    let r = std::panic::catch_unwind(load);
    match r {
        Ok(Ok(())) => {}
        Ok(Err(text)) => fatal(&text),
        Err(_) => fatal("internal error while starting"),
    }
    sys::set_errno(saved);
}

// Runs when the library is loaded, before the program's `main`. Not in the
// unit-test executable.
#[cfg(not(test))]
#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = fdset_shim_init;
