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
        $(fast: $fast:expr;)?
        real: $real:path;
        $(cancellation $point:ident;)?
        fail: $fail:expr;
        set |$number:ident, $text:ident| $slow:expr
    ) => {
        $(#[$doc])*
        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $name($($arg: $ty),*) -> $ret {
            // SAFETY: the path is the caller's argument, which libc's own
            // function reads the same way; fdset_path reads it only up to
            // its NUL and passes NULL over.
            match unsafe { crate::ops::set_path::fdset_path($path) } {
                // SAFETY: the caller's arguments, passed on as libc expects them.
                None => unsafe { path_hook!(@fast $real; $($arg),*; $($fast)?) },
                Some($number) => {
                    let $text = || {
                        // SAFETY: fdset_path matched it, so it is non-null and
                        // NUL-terminated; the caller keeps it alive for the call.
                        unsafe { std::ffi::CStr::from_ptr($path) }.to_bytes()
                    };
                    path_hook!(@slow $($point)?; $fail; $slow)
                }
            }
        }
    };
    (@slow ; $fail:expr; $slow:expr) => { super::guarded($fail, || $slow) };
    (@slow point; $fail:expr; $slow:expr) => {
        super::guarded_cancellation_point($fail, || $slow)
    };
    (@slow direct; $fail:expr; $slow:expr) => {
        super::guarded_at_point($fail, || $slow)
    };
    (@fast $real:path; $($arg:ident),*; ) => { $real($($arg),*) };
    (@fast $real:path; $($arg:ident),*; $fast:expr) => { $fast };
}
