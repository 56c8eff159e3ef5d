//! `fdset-ctl [--socket PATH] [--timeout SECONDS] COMMAND ...`: the options
//! as clap reads them. Paths are `PathBuf` (need not be UTF-8).

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Exit status: 0 on success; 1 on any error (a QMP error is printed as
`fdset-ctl: COMMAND: DESC`); 2 on a bad command line.";

#[derive(Parser, Debug, PartialEq)]
#[command(
    name = "fdset-ctl",
    version,
    about = "Manage the fd sets of a running program over its QMP socket",
    long_about = "Manage the fd sets of a running program over its QMP control socket \
(fdset-run --qmp PATH makes one; a QEMU monitor socket works too). One connection per call.",
    after_help = AFTER_HELP
)]
pub struct CtlArgs {
    /// The program's QMP socket
    #[arg(long, value_name = "PATH", env = "FDSET_SOCKET")]
    pub socket: PathBuf,

    /// Give up when the program has not answered within SECONDS (0: wait
    /// for ever)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "10",
        value_parser = parse_timeout,
        allow_negative_numbers = true
    )]
    pub timeout: Timeout,

    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Subcommand, Debug, PartialEq)]
pub enum CtlCommand {
    /// Add a file (or an fd you hold) to a set: `add-fd` over QMP, its fd
    /// sent with SCM_RIGHTS; prints `fdset-id N fd M MODE` per member
    AddFd(AddFd),
    /// Remove one member of a set, or the whole set
    RemoveFd {
        /// The set
        #[arg(long, value_name = "N", value_parser = set_id, allow_negative_numbers = true)]
        set: u64,
        /// The member's fd number (as add-fd and query-fdsets print it);
        /// without it, every member of the set
        #[arg(long, value_name = "M", allow_negative_numbers = true)]
        fd: Option<i64>,
    },
    /// List the sets and their members (with their access mode, file and
    /// open dups when the program offers x-query-fdset-members)
    QueryFdsets {
        /// Print query-fdsets' QMP reply as JSON instead of the table
        #[arg(long)]
        json: bool,
    },
    /// Release a program started with FDSET_WAIT=1
    Cont,
}

#[derive(Args, Debug, PartialEq)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["path", "fd"])))]
pub struct AddFd {
    /// The set (default: the lowest free id)
    #[arg(long, value_name = "N", value_parser = set_id, allow_negative_numbers = true)]
    pub set: Option<u64>,
    /// Text stored with the member (query-fdsets shows it)
    #[arg(long, value_name = "TEXT")]
    pub opaque: Option<String>,
    /// Open FILE here, with fdset-ctl's rights
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// The members FILE becomes: ro one O_RDONLY, wo one O_WRONLY, rw three
    /// (O_RDWR, O_RDONLY, O_WRONLY); wo and rw create a missing file and
    /// never truncate it
    #[arg(long, value_enum, default_value_t = Mode::Ro, requires = "path")]
    pub mode: Mode,
    /// Send descriptor N, which fdset-ctl inherited (e.g. `5<file`), as it is
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "mode",
        value_parser = descriptor,
        allow_negative_numbers = true
    )]
    pub fd: Option<i32>,
}

/// `--mode`, as fdset-run's `mode=`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One O_RDONLY member
    Ro,
    /// One O_WRONLY member
    Wo,
    /// O_RDWR, O_RDONLY and O_WRONLY members
    Rw,
}

/// `--timeout`: `None` waits for ever.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeout(pub Option<Duration>);

fn parse_timeout(s: &str) -> Result<Timeout, String> {
    let secs: f64 = s.parse().map_err(|_| {
        format!("'{s}' is not a number of seconds (e.g. 10, 0.5, or 0 for no limit)")
    })?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "'{s}' is not a number of seconds (e.g. 10, 0.5, or 0 for no limit)"
        ));
    }
    if secs == 0.0 {
        return Ok(Timeout(None));
    }
    // A time below a nanosecond is still a time, not 0 (for ever), and a
    // socket refuses a zero timeout: the least one it takes.
    Duration::try_from_secs_f64(secs)
        .map(|d| Timeout(Some(d.max(Duration::from_nanos(1)))))
        .map_err(|_| format!("'{s}' seconds is too long (0 waits for ever)"))
}

/// A descriptor number: 0 or more (a negative one is a value, refused as
/// such, not an unknown option).
fn descriptor(s: &str) -> Result<i32, String> {
    match s.parse::<i64>() {
        Ok(n) if n < 0 => Err("a descriptor number is not negative".to_string()),
        _ => s
            .parse::<i32>()
            .map_err(|_| format!("'{s}' is not a descriptor number (0 to 2147483647)")),
    }
}

/// A QMP set id: 0..=i64::MAX (QMP's integers are signed 64-bit).
fn set_id(s: &str) -> Result<u64, String> {
    match s.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n as u64),
        Ok(_) => Err("a set id is not negative (0 to 9223372036854775807)".to_string()),
        Err(_) => Err(format!(
            "'{s}' is not a set id (a number from 0 to 9223372036854775807)"
        )),
    }
}

/// fdset-ctl's `clap::Command` (for man pages and completions too).
pub fn command() -> clap::Command {
    CtlArgs::command()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<CtlArgs, clap::Error> {
        CtlArgs::try_parse_from(std::iter::once("fdset-ctl").chain(args.iter().copied()))
    }

    fn kind(args: &[&str]) -> ErrorKind {
        parse(args).expect_err("must be refused").kind()
    }

    #[test]
    fn add_fd_defaults_to_read_only() {
        let a = parse(&["--socket", "/s", "add-fd", "--path", "/f"]).unwrap();
        let CtlCommand::AddFd(add) = a.command else {
            panic!("add-fd")
        };
        assert_eq!(add.mode, Mode::Ro);
        assert_eq!(add.path, Some(PathBuf::from("/f")));
        assert_eq!(a.timeout, Timeout(Some(Duration::from_secs(10))));
    }

    #[test]
    fn values_written_with_equals() {
        let a = parse(&[
            "--socket=/s",
            "--timeout=0.5",
            "add-fd",
            "--set=3",
            "--path=/f",
            "--mode=rw",
            "--opaque=a,b",
        ])
        .unwrap();
        assert_eq!(a.socket, PathBuf::from("/s"));
        assert_eq!(a.timeout, Timeout(Some(Duration::from_millis(500))));
        let CtlCommand::AddFd(add) = a.command else {
            panic!("add-fd")
        };
        assert_eq!((add.set, add.mode), (Some(3), Mode::Rw));
        assert_eq!(add.opaque.as_deref(), Some("a,b"));
        let a = parse(&["--socket", "/s", "--timeout", "0", "cont"]).unwrap();
        assert_eq!(a.timeout, Timeout(None));
    }

    #[test]
    fn bad_command_lines() {
        // Exactly one of --path and --fd; --mode only with --path.
        let cases: &[(&[&str], ErrorKind)] = &[
            (
                &["--socket", "/s", "add-fd"][..],
                ErrorKind::MissingRequiredArgument,
            ),
            (
                &["--socket", "/s", "add-fd", "--path", "/f", "--fd", "3"][..],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["--socket", "/s", "add-fd", "--fd", "3", "--mode", "ro"][..],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["--socket", "/s", "add-fd", "--path", "/f", "--mode", "rx"][..],
                ErrorKind::InvalidValue,
            ),
            (
                &["--socket", "/s", "add-fd", "--set", "-1", "--path", "/f"][..],
                ErrorKind::ValueValidation,
            ),
            (
                &["--socket", "/s", "add-fd", "--set", "one", "--path", "/f"][..],
                ErrorKind::ValueValidation,
            ),
            (
                &["--socket", "/s", "remove-fd"][..],
                ErrorKind::MissingRequiredArgument,
            ),
            (
                &["--socket", "/s", "remove-fd", "--set", "1", "--opaque", "x"][..],
                ErrorKind::UnknownArgument,
            ),
            (
                &["--socket", "/s", "query-fdsets", "--json", "--json"][..],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["--socket", "/s", "--timeout", "-1", "cont"][..],
                ErrorKind::ValueValidation,
            ),
            (
                &["--socket", "/s", "--timeout", "soon", "cont"][..],
                ErrorKind::ValueValidation,
            ),
            (&["--socket", "/s"][..], ErrorKind::MissingSubcommand),
        ];
        for (args, want) in cases {
            assert_eq!(kind(args), *want, "{args:?}");
        }
    }

    #[test]
    fn timeout_text() {
        assert_eq!(
            parse_timeout("2"),
            Ok(Timeout(Some(Duration::from_secs(2))))
        );
        assert!(parse_timeout("inf").is_err());
        assert!(parse_timeout("NaN").is_err());
        assert!(parse_timeout("1e30").unwrap_err().contains("too long"));
        // Below a nanosecond: the shortest timeout there is, not 0 and not
        // for ever.
        assert_eq!(
            parse_timeout("0.0000000001"),
            Ok(Timeout(Some(Duration::from_nanos(1))))
        );
    }
}
