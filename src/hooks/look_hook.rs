//! The shape of a hook that looks at a path (spec section 8), on top of
//! [`path_hook!`]: its path test also matches the prefix directories
//! themselves (`ops::look_path`); a set number goes to the slow path; a
//! prefix directory gets libc's answer, or `dir` when nothing is on disk
//! there; any other name under a prefix does not exist (`ENOENT`).

/// Define an exported look hook.
///
/// ```text
/// look_hook! {
///     /// docs
///     fn NAME(ARG: TYPE, ...) -> RET;
///     path: ARG;
///     real: REAL;                // libc's function (crate::libc_real)
///     fail: EXPR;                // the failure value (errno says why)
///     dir: EXPR;                 // optional: the prefix directory's answer
///                                // when none is on disk (default: libc's)
///     refuse: EXPR;              // optional: true when the arguments are
///                                // ones the kernel refuses before it looks
///                                // at the path (EINVAL, for every name)
///     set |SET, TEXT| EXPR       // the slow path for set number SET
/// }
/// ```
macro_rules! look_hook {
    (
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;
        path: $path:ident;
        real: $real:path;
        fail: $fail:expr;
        $(dir: $dir:expr;)?
        $(refuse: $refuse:expr;)?
        set |$set:ident, $text:ident| $slow:expr
    ) => {
        path_hook! {
            $(#[$doc])*
            fn $name($($arg: $ty),*) -> $ret;
            path: $path;
            test: crate::ops::look_path::look_path_after, crate::ops::look_path::may_be_look_path;
            real: $real;
            fail: $fail;
            set |number, $text| if look_hook!(@refuse $($refuse)?) {
                crate::libc_real::set_errno(libc::EINVAL);
                $fail
            } else {
                match number {
                    Ok($set) => $slow,
                    Err(_) => crate::ops::prefix_dir::not_a_set(
                        stringify!($name),
                        $text(),
                        || look_hook!(@dir $real; $($arg),*; $($dir)?),
                        $fail,
                    ),
                }
            }
        }
    };
    (@refuse) => {
        false
    };
    (@refuse $refuse:expr) => {
        $refuse
    };
    (@dir $real:path; $($arg:ident),*; ) => {
        // SAFETY: the caller's arguments, passed on as libc expects them.
        unsafe { $real($($arg),*) }
    };
    (@dir $real:path; $($arg:ident),*; $dir:expr) => {
        crate::ops::prefix_dir::on_disk_or(
            // SAFETY: the caller's arguments, passed on as libc expects them.
            || unsafe { $real($($arg),*) },
            || $dir,
        )
    };
}
