//! The constructor that notes what fdset-run was started with before
//! Rust's start-up changes it (`fdset_core::launch::as_started`): closed
//! standard descriptors and an ignored `SIGPIPE` (and `SIGCHLD`), restored
//! for the program.

use fdset_core::launch::as_started::{self, AsStarted};
use std::sync::atomic::{AtomicU8, Ordering};

static AS_STARTED: AtomicU8 = AtomicU8::new(0);

extern "C" fn note_as_started() {
    AS_STARTED.store(as_started::note(), Ordering::Relaxed);
}

#[used]
// SAFETY: a plain function pointer in .init_array, called once by the
// loader before Rust's start-up; it makes two queries and stores a byte.
#[unsafe(link_section = ".init_array")]
static NOTE_AS_STARTED: extern "C" fn() = note_as_started;

/// What was noted.
pub(crate) fn as_started() -> AsStarted {
    AS_STARTED.load(Ordering::Relaxed)
}
