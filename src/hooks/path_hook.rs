//! The one shape of every hook that takes a path: test the path in place
//! (no lock, no allocation); not a set path, call libc's own function with
//! the arguments as they came; a set path, run the slow path inside
//! `guarded`, so that no panic unwinds into C.

/// Define an exported hook.
///
/// ```text
/// path_hook! {
///     /// docs
///     fn NAME(ARG: TYPE, ...) -> RET;
///     path: ARG;                 // the argument that holds the path
///     test: TEST, QUICK;         // optional: the path test and its
///                                // in-place part (default:
///                                // ops::set_path::{fdset_path, may_be_set_path})
///     fast: EXPR;                // optional: the call for other paths
///                                // (default: REAL(ARG, ...) with every argument)
///     real: REAL;                // libc's function (crate::libc_real)
///     cancellation point;        // optional: libc's function is one
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
            /// The rest, out of line: the full path test, then libc's
            /// call or the slow path. The hook's fast path then needs no
            /// saved registers, and reaches libc as a plain jump.
            ///
            /// # Safety
            /// The hook's arguments, as the caller gave them.
            #[cold]
            #[inline(never)]
            unsafe extern "C-unwind" fn maybe_set($($arg: $ty),*) -> $ret {
                // SAFETY: as in the hook.
                let $number = match unsafe { path_hook!(@test $($test)?)($path) } {
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
            // function reads the same way; the test reads it only up to
            // its NUL and passes NULL over.
            if !unsafe { path_hook!(@quick $($quick)?)($path) } {
                // SAFETY: the caller's arguments, passed on as libc expects them.
                return unsafe { path_hook!(@fast $real; $($arg),*; $($fast)?) };
            }
            // SAFETY: the caller's arguments, as they came.
            unsafe { maybe_set($($arg),*) }
        }
    };
    (@slow ; $fail:expr; $slow:expr) => { super::guarded($fail, || $slow) };
    (@slow point; $fail:expr; $slow:expr) => {
        super::guarded_cancellation_point($fail, || $slow)
    };
    (@test) => { crate::ops::set_path::fdset_path };
    (@test $test:path) => { $test };
    (@quick) => { crate::ops::set_path::may_be_set_path };
    (@quick $quick:path) => { $quick };
    (@fast $real:path; $($arg:ident),*; ) => { $real($($arg),*) };
    (@fast $real:path; $($arg:ident),*; $fast:expr) => { $fast };
}
