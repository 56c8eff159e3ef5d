//! Crate and layout: the library exports the hooks and nothing
//! else (`nm -D --defined-only` shows no Rust internals).
use fdset_testkit::*;
use std::process::Command;

/// The interposed calls, by family;
/// a new export must be added here on purpose.
const HOOKS: &[&str] = &[
    // opens, closes, implicit closes.
    "open",
    "open64",
    "openat",
    "openat64",
    "__open_2",
    "__open64_2",
    "__openat_2",
    "__openat64_2",
    "creat",
    "creat64",
    "fopen",
    "fopen64",
    "freopen",
    "freopen64",
    "opendir",
    "close",
    "fclose",
    "closedir",
    "dup2",
    "dup3",
    "close_range",
    "closefrom",
    // the stat family and access().
    "stat",
    "stat64",
    "lstat",
    "lstat64",
    "fstatat",
    "fstatat64",
    "statx",
    "__xstat",
    "__xstat64",
    "__lxstat",
    "__lxstat64",
    "__fxstatat",
    "__fxstatat64",
    "access",
    "faccessat",
    "eaccess",
    "euidaccess",
    // Exec and fork carrying (spec section 7).
    "execve",
    "execv",
    "execvp",
    "execvpe",
    "execl",
    "execle",
    "execlp",
    "execveat",
    "fexecve",
    "posix_spawn",
    "posix_spawnp",
    "system",
    "popen",
    "pclose",
    "vfork",
    // Spec section 8: the calls around an open.
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "readlink",
    "readlinkat",
    "__readlink_chk",
    "__readlinkat_chk",
    "realpath",
    "__realpath_chk",
    "canonicalize_file_name",
    "truncate",
    "truncate64",
    "utimensat",
    "chmod",
    "fchmodat",
    "chown",
    "lchown",
    "fchownat",
    "utimes",
    "lutimes",
    "futimesat",
    "utime",
    "statfs",
    "statfs64",
    "chdir",
    "statvfs",
    "statvfs64",
    "syscall",
    // Spec sections 6 and 7: fork, signals and spawn file actions, seen
    // so that no lock stays held and no member reaches another program.
    "_Fork",
    "clone",
    "sigaction",
    "__sigaction",
    "signal",
    "bsd_signal",
    "ssignal",
    "sysv_signal",
    "__sysv_signal",
    "sigset",
    "posix_spawn_file_actions_init",
    "posix_spawn_file_actions_destroy",
    "posix_spawn_file_actions_addopen",
    "posix_spawn_file_actions_addclose",
    "posix_spawn_file_actions_adddup2",
    "posix_spawn_file_actions_addchdir_np",
    "posix_spawn_file_actions_addfchdir_np",
    "posix_spawn_file_actions_addclosefrom_np",
    "posix_spawn_file_actions_addtcsetpgrp_np",
];

/// The first hooks of the list (opens, closes, implicit closes) must be
/// there whatever else is.
const REQUIRED: usize = 20;

/// The names `nm ARGS FILE` lists, without symbol versions (`open@GLIBC..`).
fn defined_symbols(args: &[&str], file: &std::path::Path) -> Vec<String> {
    let out = Command::new("nm")
        .args(args)
        .arg(file)
        .output()
        .expect("run nm");
    assert!(
        out.status.success(),
        "nm {}: {}",
        file.display(),
        stderr_of(&out)
    );
    stdout_of(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|s| s.split('@').next().unwrap_or(s).to_string())
        .collect()
}

#[test]
fn library_exports_only_hooks() {
    let exported = defined_symbols(&["-D", "--defined-only"], &shim_lib());
    let unexpected: Vec<&String> = exported
        .iter()
        .filter(|s| !HOOKS.contains(&s.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "exports that are not hooks: {unexpected:?}"
    );
    for hook in &HOOKS[..REQUIRED] {
        assert!(exported.iter().any(|s| s == hook), "{hook} is not exported");
    }
}

/// The guide: "keep hook symbols out of any executable". A binary that
/// defined `open` or `close` itself would bind its own calls to them at link
/// time, export or not, so both the dynamic and the full symbol tables of
/// the launcher and the client must define none of the hook names.
#[test]
fn binaries_define_no_hook_symbols() {
    for bin in [
        env!("CARGO_BIN_EXE_fdset-run"),
        env!("CARGO_BIN_EXE_fdset-ctl"),
    ] {
        for table in [&["-D", "--defined-only"][..], &["--defined-only"][..]] {
            let names = defined_symbols(table, std::path::Path::new(bin));
            // The full table of a Rust binary holds hundreds of names; an
            // empty one (stripped) would make this check vacuous.
            assert!(
                table.len() == 2 || names.len() > 100,
                "nm {table:?} {bin} listed almost nothing"
            );
            let hooks: Vec<&String> = names
                .iter()
                .filter(|s| HOOKS.contains(&s.as_str()))
                .collect();
            assert!(hooks.is_empty(), "{bin} defines hook symbols {hooks:?}");
        }
    }
    // The same reading finds the hooks in the shim, so the check can fail.
    let shim = defined_symbols(&["-D", "--defined-only"], &shim_lib());
    assert!(shim.iter().any(|s| s == "open") && shim.iter().any(|s| s == "close"));
}
