//! `fdset-run [OPTIONS] -- PROGRAM [ARGS...]`: the options as clap reads
//! them. Values are kept as the bytes given (`OsString`): a path need not be
//! UTF-8. [`crate::launch::options::parse`] turns them into launch options.

use clap::{ArgAction, CommandFactory, Parser};
use std::ffi::OsString;
use std::path::PathBuf;

const ABOUT: &str = "Run a program with fd sets it opens as /dev/fdset/N";

const LONG_ABOUT: &str = "\
Runs PROGRAM with libfdset_shim.so preloaded and the given fd sets in place
before its main() runs; PROGRAM opens them as /dev/fdset/N (or a --prefix or
--alias path). fdset-run opens the files with its own rights, then (with
--user/--group/--groups) drops to the given identity before PROGRAM starts.

Without --qmp, fdset-run execs PROGRAM in its own place: no process stays
behind, PROGRAM's signals and exit status are its own, and PROGRAM gets no
control socket and no helper thread (its launch-time sets stay for its whole
life). With --qmp, fdset-run starts PROGRAM as its child, stays as a monitor,
forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM,
and exits with PROGRAM's status.";

const AFTER_HELP: &str = "\
Access modes (mode=): ro gives one O_RDONLY member, wo one O_WRONLY member,
rw three members (O_RDWR, O_RDONLY, O_WRONLY), so that readers, writers (a
shell `>`), appenders and read-write opens all find the member of their mode.
wo and rw create a missing file (0666 less the umask) and never truncate it.

Set ids are 0..2147483647. The library is $FDSET_SHIM_LIB, or found beside
fdset-run, then in ../lib/fdset-shim/ or ../lib/<multiarch>/fdset-shim/
relative to it.

Exit status: PROGRAM's (with --qmp, 128+N when signal N ended it); 125 when
fdset-run itself refuses or fails; 126 when PROGRAM cannot be run, 127 when
it is not found.";

#[derive(Parser, Debug, Default, PartialEq, Eq)]
#[command(
    name = "fdset-run",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    override_usage = "fdset-run [OPTIONS] -- PROGRAM [ARGS...]"
)]
pub struct RunArgs {
    /// Pass fd N, which fdset-run inherited (e.g. `3<file` in the shell), as
    /// a member of set S (QEMU's -add-fd syntax)
    #[arg(long = "add-fd", value_name = "fd=N,set=S[,opaque=TEXT]", action = ArgAction::Append)]
    pub add_fd: Vec<OsString>,

    /// Open P with fdset-run's rights as set S [mode default: ro]
    #[arg(
        long,
        value_name = "set=S,path=P[,mode=ro|wo|rw][,opaque=TEXT]",
        action = ArgAction::Append
    )]
    pub file: Vec<OsString>,

    /// FILE's content (`-`: stdin, once) as set S: a sealed, read-only
    /// in-memory file
    #[arg(long, value_name = "set=S,path=FILE", action = ArgAction::Append)]
    pub data: Vec<OsString>,

    /// The absolute PATH opens set S
    #[arg(long, value_name = "PATH=S", action = ArgAction::Append)]
    pub alias: Vec<OsString>,

    /// DIR/N opens set N, like /dev/fdset/N
    #[arg(long, value_name = "DIR", action = ArgAction::Append)]
    pub prefix: Vec<OsString>,

    /// A QMP socket at PATH (mode 0600, removed at exit) for fdset-ctl or
    /// qemu.qmp; fdset-run then stays as PROGRAM's parent
    #[arg(long, value_name = "PATH")]
    pub qmp: Option<PathBuf>,

    /// Run PROGRAM as USER (name or uid), after the files are open; the
    /// group and supplementary groups default to USER's
    #[arg(long, value_name = "USER", allow_negative_numbers = true)]
    pub user: Option<OsString>,

    /// Run PROGRAM with primary group GROUP (name or gid) [default: USER's]
    #[arg(long, value_name = "GROUP", allow_negative_numbers = true)]
    pub group: Option<OsString>,

    /// Supplementary groups, comma separated (names or gids), or `none`
    /// [default: USER's]
    #[arg(long, value_name = "LIST|none", allow_negative_numbers = true)]
    pub groups: Option<OsString>,

    /// List the members fdset-run passes, and log every fdset decision of
    /// PROGRAM (FDSET_LOG=1)
    #[arg(short, long)]
    pub verbose: bool,

    /// Serve the sets from outside PROGRAM with seccomp user notification
    /// (static, musl, Go, raw system calls) [default: only when PROGRAM
    /// cannot be preloaded]
    #[arg(long)]
    pub seccomp: bool,

    /// The program and its arguments, after `--`
    #[arg(
        last = true,
        required = true,
        num_args = 1..,
        value_name = "PROGRAM",
        allow_hyphen_values = true
    )]
    pub program: Vec<OsString>,
}

/// fdset-run's `clap::Command` (for man pages and completions too).
pub fn command() -> clap::Command {
    RunArgs::command()
}
