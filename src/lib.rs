//! libfdset_shim.so: QEMU-style `/dev/fdset/N` paths for any dynamically
//! linked program, loaded with `LD_PRELOAD` (see README.md and
//! ../shared/fdset-spec.md).
//!
//! Layers: `hooks` (exported C symbols, argument decoding only) → `shim`
//! (process state, locking, slow paths) → `registry` (the rules, plain Rust).

pub mod exec_carry;
pub mod fdtable;
pub mod owner_lock;
pub mod qmp_server;
pub mod shim;
pub mod spawn_carry;
pub mod stat_family;
pub mod sys;

// The constructor, like the hooks, stays out of the unit-test executable.
#[cfg(not(test))]
mod init;

// The hooks are left out of the unit-test executable, where they would
// interpose on the test harness's own calls.
#[cfg(not(test))]
mod hooks;
