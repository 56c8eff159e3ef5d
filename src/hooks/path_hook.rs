//! The one shape of every hook that takes a path: test the path's first
//! bytes in place (no lock, no allocation, nothing loaded); not a set path,
//! call libc's own function with the arguments as they came; maybe one, the
//! full test and the slow path out of line, inside `guarded`, so that no
//! panic unwinds into C.

/// Define an exported hook.
///
/// ```text
/// path_hook! {
///     /// docs
///     fn NAME(ARG: TYPE, ...) -> RET;
///     path: ARG;                 // the argument that holds the path
///     test: TEST, QUICK;         // optional: the path test and its
///                                // in-place part, QUICK(path) -> PathGuess,
///                                // TEST(path, guess) -> Option<SetNumber>
///                                // (default: ops::set_path::{fdset_path_after,
///                                // may_be_set_path})
///     fast: EXPR;                // optional: the call for other paths
///                                // (default: REAL(ARG, ...) with every argument)
///     real: REAL;                // libc's function (crate::libc_real)
///     cancellation point;        // optional: libc's function is one
///                                // (`cancellation direct;`: and the slow
///                                // path makes only direct system calls)
///     fail: EXPR;                // what a panic in the slow path returns
///     set |NUMBER, TEXT| EXPR    // the slow path: NUMBER is the parsed
///                                // set number, TEXT() the path's bytes
/// }
/// ```
macro_rules! path_hook {
    (
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;
        path: $path:ident;
        $(test: $test:path, $quick:path;)?
        $(fast: $fast:expr;)?
        real: $real:path;
        $(cancellation $point:ident;)?
        fail: $fail:expr;
        set |$number:ident, $text:ident| $slow:expr
    ) => {
        $(#[$doc])*
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $name($($arg: $ty),*) -> $ret {
            /// The rest, out of line: the full path test (told what the
            /// in-place part found), then libc's call or the slow path. The
            /// hook's fast path then saves no register and reaches libc as a
            /// plain jump; `C-unwind` like the hook, so that the hook
            /// reaches this by a plain jump too, with no landing pad.
            ///
            /// # Safety
            /// The hook's arguments, as the caller gave them.
            #[cold]
            #[inline(never)]
            unsafe extern "C-unwind" fn maybe_set(
                $($arg: $ty,)*
                guess: crate::ops::set_path::PathGuess,
            ) -> $ret {
                // SAFETY: as in the hook; guess is what it found.
                let $number = match unsafe { path_hook!(@test $($test)?)($path, guess) } {
                    // SAFETY: the caller's arguments, passed on as libc expects them.
                    None => return unsafe { path_hook!(@fast $real; $($arg),*; $($fast)?) },
                    Some(number) => number,
                };
                let $text = || {
                    // SAFETY: the test matched it, so it is non-null and
                    // NUL-terminated; the caller keeps it alive for the call.
                    unsafe { std::ffi::CStr::from_ptr($path) }.to_bytes()
                };
                path_hook!(@slow $($point)?; $fail; $slow)
            }
            // SAFETY: the path is the caller's argument, which libc's own
            // function reads the same way; the test reads it only up to its
            // first byte that differs from `/dev/fdset/` (at the latest its
            // NUL) and passes NULL over.
            match unsafe { path_hook!(@quick $($quick)?)($path) } {
                // SAFETY: the caller's arguments, passed on as libc expects them.
                crate::ops::set_path::PathGuess::NoSet => unsafe {
                    path_hook!(@fast $real; $($arg),*; $($fast)?)
                },
                // SAFETY: the caller's arguments, as they came.
                guess => unsafe { maybe_set($($arg,)* guess) },
            }
        }
    };
    (@slow ; $fail:expr; $slow:expr) => { super::guarded($fail, || $slow) };
    (@slow point; $fail:expr; $slow:expr) => {
        super::guarded_cancellation_point($fail, || $slow)
    };
    (@test) => { crate::ops::set_path::fdset_path_after };
    (@test $test:path) => { $test };
    (@quick) => { crate::ops::set_path::may_be_set_path };
    (@quick $quick:path) => { $quick };
    (@slow direct; $fail:expr; $slow:expr) => {
        super::guarded_at_point($fail, || $slow)
    };
    (@fast $real:path; $($arg:ident),*; ) => { $real($($arg),*) };
    (@fast $real:path; $($arg:ident),*; $fast:expr) => { $fast };
}
