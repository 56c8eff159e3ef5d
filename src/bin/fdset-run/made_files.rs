//! Files this launch made (`--file` with `mode=wo` or `rw` of a missing
//! path), removed again when fdset-run gives up before the program starts:
//! a refused launch leaves nothing behind. Once the program runs, the
//! files are its.

use fdset_core::launch::open_modes::Created;
use std::sync::Mutex;

static MADE: Mutex<Vec<Created>> = Mutex::new(Vec::new());

pub(crate) fn remember(c: Created) {
    MADE.lock().unwrap_or_else(|e| e.into_inner()).push(c);
}

/// The program has started: nothing is removed any more.
pub(crate) fn program_started() {
    MADE.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// fdset-run is giving up: remove what it made.
pub(crate) fn remove_all() {
    for c in MADE.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        c.remove();
    }
}
