//! `fdset-run [OPTIONS] -- PROGRAM [ARGS...]`: start PROGRAM with
//! libfdset_shim.so preloaded and its fd sets in place before `main`.
//!
//! The launcher opens what the options name, lets the program inherit those
//! descriptors under their own numbers, and names them in `FDSET_ADD_FD`.
//! Without `--qmp` it then execs the program in its own place: no process
//! stays behind, and the program gets no control socket and no helper
//! thread (its launch-time sets stay in use for its life). With `--qmp` it
//! starts the program as its child, stays connected as a monitor through a
//! socketpair in `FDSET_CONTROL_FD`, forwards SIGINT, SIGTERM, SIGHUP and the
//! other signals of `fdset_core::launch::FORWARDED_SIGNALS`, and exits
//! with the program's status. It is a normal binary: it does not link the
//! hooks.
//!
//! - `members`: the descriptors handed over (`--add-fd`, `--file`, `--data`);
//!   `made_files`: the files `--file` made, removed when the launch fails;
//! - `program`: the program and the library, and the exec in place;
//! - `monitor`: `--qmp`, the program as a child; `qmp_socket`: its socket;
//!   `signals`: the signals forwarded to it.

mod made_files;
mod members;
mod monitor;
mod program;
mod qmp_socket;
mod signals;
mod stdio;

use fdset_core::cli;
use fdset_core::launch::control_fds::{fd_state, parse_control_fds};
use fdset_core::launch::identity::{self, Identity};
use fdset_core::launch::inherited::{Inherited, JOINED_VARIABLES, unserved_in_seccomp_mode};
use fdset_core::launch::options::{self as launch_options, LaunchOptions, Parsed};
use fdset_core::wait_setting::{WAIT_WITHOUT_MONITOR, parse_wait};
use members::Member;
use std::ffi::CString;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// fdset-run's own failures (as `env` and `timeout` use it).
pub(crate) const EXIT_LAUNCHER_FAILED: i32 = 125;

/// What to do about `e` when it says the descriptor table is full: the
/// members fdset-run holds open for the program count against the limit.
pub(crate) fn fd_limit_hint(e: &std::io::Error) -> Option<&'static str> {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)).then_some(
        " (fdset-run holds the members open; raise the limit on open files, ulimit -n, or give \
         fewer files)",
    )
}

pub(crate) fn die(msg: &str) -> ! {
    made_files::remove_all();
    cli::warn(format_args!("fdset-run: {msg}"));
    std::process::exit(EXIT_LAUNCHER_FAILED)
}

/// The members of every `--file` and `--data`, opened in their order.
fn open_members(opts: &LaunchOptions) -> Vec<Member> {
    let mut members = Vec::new();
    for f in &opts.files {
        members.extend(members::open_file(f).unwrap_or_else(|e| die(&e)));
    }
    for d in &opts.data {
        members.push(members::data_member(d).unwrap_or_else(|e| die(&e)));
    }
    members
}

/// Seccomp mode: fdset-seccomp serves the program from outside.
fn run_seccomp(opts: &LaunchOptions, members: Vec<Member>) -> ! {
    let listener = opts
        .qmp
        .as_deref()
        .map(|p| qmp_socket::qmp_listener(p).unwrap_or_else(|e| die(&e)));
    let members = members.into_iter().map(|m| fdset_seccomp::Member {
        fd: m.fd,
        set: m.set,
        opaque: m.opaque,
        what: m.what,
    });
    fdset_seccomp::run(
        opts,
        members.collect(),
        listener,
        stdio::as_started(),
        made_files::remove_all,
    )
}

/// The command that runs the program with the shim preloaded and its
/// settings (`add_fd`: the `FDSET_ADD_FD` specs) in its environment.
fn program_command(
    program: &Path,
    opts: &LaunchOptions,
    lib: &Path,
    add_fd: &[String],
    ident: Option<&Identity>,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.arg0(&opts.program[0]).args(&opts.program[1..]);
    let preload = std::env::var_os("LD_PRELOAD");
    cmd.env(
        "LD_PRELOAD",
        launch_options::preload_with(preload.as_deref(), lib.as_os_str()),
    );
    // The options hold what these variables held (joined in front of
    // them by `with_inherited`): each is set to the whole list.
    let aliases: Vec<String> = opts
        .aliases
        .iter()
        .map(|(p, s)| format!("{p}={s}"))
        .collect();
    for (var, list) in [
        ("FDSET_ADD_FD", add_fd.join(";")),
        ("FDSET_PREFIX", opts.prefixes.join(":")),
        ("FDSET_ALIAS", aliases.join(";")),
    ] {
        if list.is_empty() {
            cmd.env_remove(var);
        } else {
            cmd.env(var, list);
        }
    }
    if opts.verbose {
        cmd.env("FDSET_LOG", "1");
    }
    if let Some(id) = ident
        && let Some(name) = &id.user_name
    {
        // As runuser and su set them: programs look for their files there.
        cmd.env("USER", name).env("LOGNAME", name);
        if let Some(home) = &id.home {
            cmd.env("HOME", home);
        }
    }
    cmd
}

/// A `--prefix` of a directory with files in it would hide them: under a
/// prefix, a name that is no set number fails (`EINVAL`, as under
/// `/dev/fdset/`), so `--prefix /dev` would break `/dev/null`. The same
/// for an inherited `FDSET_PREFIX` entry (those not in `own`), which
/// seccomp mode now serves too.
fn refuse_prefixes_over_files(prefixes: &[String], own: &[String]) {
    for p in prefixes {
        let Ok(mut entries) = std::fs::read_dir(p) else {
            continue;
        };
        if let Some(Ok(e)) = entries.next() {
            let dir = p.trim_end_matches('/');
            let given = if own.contains(p) {
                format!("--prefix {dir}")
            } else {
                format!("the FDSET_PREFIX fdset-run was given: entry {dir}")
            };
            die(&format!(
                "{given}: {dir} holds files ({} is one) that the prefix would hide: under it a name that is no set number fails with EINVAL (choose a directory that does not exist or is empty, such as /run/fdset)",
                e.file_name().to_string_lossy()
            ));
        }
    }
}

/// `opts` with the `FDSET_ADD_FD`, `FDSET_PREFIX` and `FDSET_ALIAS`
/// fdset-run was started with in front, all checked before anything is
/// opened.
fn with_inherited(opts: LaunchOptions) -> LaunchOptions {
    let texts = JOINED_VARIABLES.map(|name| match std::env::var(name) {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => die(&format!(
            "the {name} fdset-run was given is not valid UTF-8 (the shim reads it as text)"
        )),
    });
    let [add_fd, prefix, alias] = &texts;
    let env = Inherited {
        add_fd: add_fd.as_deref(),
        prefix: prefix.as_deref(),
        alias: alias.as_deref(),
    };
    opts.with_inherited(&env).unwrap_or_else(|e| die(&e))
}

/// The inherited `FDSET_WAIT` and `FDSET_CONTROL_FD` the program could not
/// be served with, refused before anything is opened: a bad `FDSET_WAIT`,
/// a wait nobody could end, control fds the shim would refuse, and in
/// seccomp mode what only a shim serves.
fn refuse_unservable_settings(opts: &LaunchOptions, seccomp: bool) {
    let control_fd = std::env::var("FDSET_CONTROL_FD").ok();
    let waits = parse_wait(std::env::var("FDSET_WAIT").ok().as_deref()).unwrap_or_else(|e| die(&e));
    if seccomp {
        if let Some(why) = unserved_in_seccomp_mode(control_fd.as_deref(), waits) {
            die(&why);
        }
        return;
    }
    // As the program will read it: with --qmp an empty value is replaced
    // by fdset-run's own socket (join_env), without it the shim reads it.
    if let Some(text) = &control_fd
        && !(opts.qmp.is_some() && text.is_empty())
    {
        let launch_fds: Vec<i64> = opts.add_fds.iter().filter_map(|a| a.spec.fd).collect();
        // Before the exec: a close-on-exec fd would not reach the program.
        if let Err(e) = parse_control_fds(text, &launch_fds, |fd| fd_state(fd, true)) {
            die(&e);
        }
    }
    if waits && opts.qmp.is_none() && control_fd.is_none_or(|v| v.is_empty()) {
        die(&format!(
            "{WAIT_WITHOUT_MONITOR} (give fdset-run --qmp PATH: a client of that socket sends it)"
        ));
    }
}

fn main() {
    let opts = match launch_options::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Info(text)) => {
            if cli::print(&text).is_err() {
                std::process::exit(EXIT_LAUNCHER_FAILED);
            }
            return;
        }
        Err(e) => die(&e),
    };
    let own_prefixes = opts.prefixes.clone();
    let opts = with_inherited(*opts);
    refuse_prefixes_over_files(&opts.prefixes, &own_prefixes);
    // Programs LD_PRELOAD cannot reach are served from outside (seccomp).
    let (program, seccomp) = program::program_and_mode(&opts);
    if seccomp && !opts.identity.is_empty() {
        die(
            "--user, --group and --groups do not work with --seccomp yet: run fdset-run itself as that user (e.g. with setpriv)",
        );
    }
    let (lib, lib_c) = if seccomp {
        (PathBuf::new(), CString::default())
    } else {
        program::refuse_privileged(&program);
        let lib = program::shim_library().unwrap_or_else(|e| die(&e));
        let lib_c = CString::new(lib.as_os_str().as_bytes())
            .unwrap_or_else(|_| die("the library path holds a NUL byte"));
        (lib, lib_c)
    };
    let ident = if opts.identity.is_empty() {
        None
    } else {
        Some(identity::resolve(&opts.identity).unwrap_or_else(|e| die(&e)))
    };
    let (mut add_fd, add_fd_shown) = members::check_add_fds(&opts).unwrap_or_else(|e| die(&e));
    refuse_unservable_settings(&opts, seccomp);
    let members = open_members(&opts);
    if seccomp {
        run_seccomp(&opts, members);
    }
    if opts.verbose {
        for line in &add_fd_shown {
            cli::warn(format_args!("{line}"));
        }
    }
    for m in &members {
        let fd = m.fd.as_raw_fd();
        add_fd.push(launch_options::add_fd_spec(fd, m.set, m.opaque.as_deref()));
        if opts.verbose {
            cli::warn(format_args!(
                "fdset-run: set {}: fd {fd} = {}",
                m.set, m.what
            ));
        }
    }
    let cmd = program_command(&program, &opts, &lib, &add_fd, ident.as_ref());
    let inherit: Vec<RawFd> = members.iter().map(|m| m.fd.as_raw_fd()).collect();
    match &opts.qmp {
        None => program::exec_in_place(cmd, &opts, &inherit, ident.as_ref(), &lib, &lib_c),
        Some(qmp) => {
            let launch = monitor::Launch {
                cmd,
                opts: &opts,
                inherit,
                members,
                ident,
                lib: &lib,
                lib_c,
            };
            monitor::run_with_monitor(launch, qmp)
        }
    }
}
