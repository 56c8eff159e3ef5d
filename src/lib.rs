//! libfdset_shim.so: QEMU-style `/dev/fdset/N` paths for any dynamically
//! linked program, loaded with `LD_PRELOAD` (see README.md and
//! ../shared/fdset-spec.md).
//!
//! Layers, top to bottom: `hooks` (the exported C symbols, argument decoding
//! only) → `ops` (slow paths: open, the close family, stat answers) and
//! `carry` (exec and spawn) → `state` (the registry behind the owner lock,
//! the fd table) → `fdset_core` (the rules, plain Rust). `control` is the
//! QMP thread; `process` (constructor, fork handlers) calls state and
//! control from above. `libc_real` holds the real libc symbols; `alloc` is
//! the library's own (lock-free) memory.

mod alloc;
mod carry;
mod control;
mod libc_real;
mod log;
mod ops;
mod process;
mod state;

mod hooks;
