//! `fdset-run`'s command line (issue 4): plain Rust, shared with the binary
//! through `#[path]` and unit-tested here. Every message names the option as
//! written and says how to fix it; nothing here touches a file.

use super::add_fd::{self as launch_spec, split_opts};
use std::ffi::OsString;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...]

Runs PROGRAM with libfdset_shim.so preloaded and the given fd sets in place
before its main() runs; PROGRAM opens them as /dev/fdset/N (or a --prefix or
--alias path).

  --add-fd fd=N,set=S[,opaque=TEXT]   pass inherited fd N as a member of set S
  --file set=S,path=P[,mode=ro|wo|rw][,opaque=TEXT]
                                      open P here (default ro; wo and rw create
                                      a missing file, never truncate; rw gives an
                                      O_RDWR and an O_RDONLY member)
  --data set=S,path=FILE              FILE's content ('-': stdin) as a sealed,
                                      read-only in-memory file
  --alias PATH=S                      the absolute PATH opens set S
  --prefix DIR                        DIR/N opens set N, like /dev/fdset/N
  --qmp PATH                          a QMP socket at PATH (mode 0600, removed
                                      at exit) for fdset-ctl or qemu.qmp
  --seccomp                           serve the sets from outside PROGRAM with
                                      seccomp (static, musl, Go, raw syscalls);
                                      automatic when PROGRAM cannot be preloaded
  -v, --verbose                       log every fdset decision (FDSET_LOG=1)
  -h, --help                          this text

Set ids are 0..2147483647. The library is found beside fdset-run, or at
$FDSET_SHIM_LIB. Exit status: PROGRAM's, 128+N if a signal N ended it, 125 when
fdset-run itself fails, 126/127 when PROGRAM cannot be run / is not found.
";

/// Largest set id a program can name as `/dev/fdset/N`.
pub const MAX_OPENABLE_SET: u64 = i32::MAX as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    ReadOnly,
    WriteOnly,
    ReadWrite,
}

/// `--add-fd`: QEMU's syntax; the fd is checked by the launcher, which can
/// see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddFd {
    pub option: String,
    pub spec: launch_spec::AddFdSpec,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    pub option: String,
    pub set: u64,
    pub path: PathBuf,
    pub mode: FileMode,
    pub opaque: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    Stdin,
    File(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSpec {
    pub option: String,
    pub set: u64,
    pub source: DataSource,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    pub add_fds: Vec<AddFd>,
    pub files: Vec<FileSpec>,
    pub data: Vec<DataSpec>,
    /// As `FDSET_ALIAS` entries: `PATH=S`.
    pub aliases: Vec<(String, u64)>,
    /// As `FDSET_PREFIX` entries, each ending in `/`.
    pub prefixes: Vec<String>,
    pub qmp: Option<PathBuf>,
    pub verbose: bool,
    /// `--seccomp`: serve the sets from outside the program (spec section 9).
    pub seccomp: bool,
    pub program: Vec<OsString>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(LaunchOptions),
    Help,
}

/// `--name VALUE` written as given, for messages.
fn shown(name: &str, value: &str) -> String {
    format!("{name} {value}")
}

/// A set id for `/dev/fdset/N`: 0..2147483647.
fn set_id(option: &str, text: &str) -> Result<u64, String> {
    let fix = "use a set id from 0 to 2147483647, the numbers /dev/fdset/N can name";
    match text.trim().parse::<i64>() {
        Ok(n) if (0..=MAX_OPENABLE_SET as i64).contains(&n) => Ok(n as u64),
        Ok(n) => Err(format!("{option}: set id {n} is out of range ({fix})")),
        Err(_) => Err(format!("{option}: set id '{text}' is not a number ({fix})")),
    }
}

/// The `key=value` pairs of a `--file`/`--data` value, keys checked.
fn pairs(option: &str, value: &str, keys: &[&str]) -> Result<Vec<(String, String)>, String> {
    let expected = keys.join(", ");
    let pairs = split_opts(value)
        .map_err(|e| format!("{option}: {e} (write {expected} as key=value pairs)"))?;
    for (k, _) in &pairs {
        if !keys.contains(&k.as_str()) {
            return Err(format!(
                "{option}: unknown key '{k}' (the keys are {expected})"
            ));
        }
    }
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(earlier, _)| earlier == k) {
            return Err(format!("{option}: '{k}' given twice (give it once)"));
        }
    }
    Ok(pairs)
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(
    option: &str,
    pairs: &'a [(String, String)],
    key: &str,
    example: &str,
) -> Result<&'a str, String> {
    match get(pairs, key) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("{option}: {key}= is required (e.g. {example})")),
    }
}

/// `FDSET_ADD_FD` separates specs with `;`, which therefore cannot be quoted.
fn check_opaque(option: &str, opaque: Option<&str>) -> Result<Option<String>, String> {
    match opaque {
        Some(o) if o.contains(';') => Err(format!(
            "{option}: opaque text cannot contain ';' (leave it out)"
        )),
        o => Ok(o.map(str::to_string)),
    }
}

fn parse_file(value: &str) -> Result<FileSpec, String> {
    let option = shown("--file", value);
    let p = pairs(&option, value, &["set", "path", "mode", "opaque"])?;
    let example = "--file set=1,path=disk.img,mode=rw";
    let set = set_id(&option, required(&option, &p, "set", example)?)?;
    let path = PathBuf::from(required(&option, &p, "path", example)?);
    let mode = match get(&p, "mode").unwrap_or("ro") {
        "ro" => FileMode::ReadOnly,
        "wo" => FileMode::WriteOnly,
        "rw" => FileMode::ReadWrite,
        other => return Err(format!("{option}: mode '{other}' is not one of ro, wo, rw")),
    };
    let opaque = check_opaque(&option, get(&p, "opaque"))?;
    Ok(FileSpec {
        option,
        set,
        path,
        mode,
        opaque,
    })
}

fn parse_data(value: &str) -> Result<DataSpec, String> {
    let option = shown("--data", value);
    let p = pairs(&option, value, &["set", "path"])?;
    let example = "--data set=1,path=secret.txt, or path=- for stdin";
    let set = set_id(&option, required(&option, &p, "set", example)?)?;
    let source = match required(&option, &p, "path", example)? {
        "-" => DataSource::Stdin,
        f => DataSource::File(PathBuf::from(f)),
    };
    Ok(DataSpec {
        option,
        set,
        source,
    })
}

fn parse_add_fd(value: &str) -> Result<Vec<AddFd>, String> {
    let option = shown("--add-fd", value);
    let specs = launch_spec::parse_add_fd(value)
        .map_err(|e| format!("{option}: {e} (write fd=N,set=S[,opaque=TEXT])"))?;
    if specs.is_empty() {
        return Err(format!("{option}: empty (write fd=N,set=S[,opaque=TEXT])"));
    }
    let mut out = Vec::new();
    for spec in specs {
        // The fd itself is checked by the launcher; the set id can be checked here.
        if let Some(set) = spec.set
            && set > MAX_OPENABLE_SET as i64
        {
            set_id(&option, &set.to_string())?;
        }
        out.push(AddFd {
            option: option.clone(),
            spec,
        });
    }
    Ok(out)
}

fn parse_alias(value: &str) -> Result<(String, u64), String> {
    let option = shown("--alias", value);
    let Some((path, num)) = value.rsplit_once('=') else {
        return Err(format!(
            "{option}: not PATH=S (e.g. --alias /var/lib/disk.img=1)"
        ));
    };
    if !path.starts_with('/') {
        return Err(format!(
            "{option}: '{path}' is not an absolute path (write the full path, e.g. /srv/{path}={num})"
        ));
    }
    if path.contains(';') {
        return Err(format!(
            "{option}: the path cannot contain ';' (choose another alias path)"
        ));
    }
    Ok((path.to_string(), set_id(&option, num)?))
}

fn parse_prefix(value: &str) -> Result<String, String> {
    let option = shown("--prefix", value);
    if !value.starts_with('/') {
        return Err(format!(
            "{option}: not an absolute directory (write e.g. --prefix /run/fdset)"
        ));
    }
    if value.contains(':') {
        return Err(format!(
            "{option}: the directory cannot contain ':' (choose another prefix)"
        ));
    }
    let mut p = value.to_string();
    if !p.ends_with('/') {
        p.push('/');
    }
    if p == "/" {
        return Err(format!(
            "{option}: '/' would capture every path (write e.g. --prefix /run/fdset)"
        ));
    }
    Ok(p)
}

/// Parse the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    let mut opts = LaunchOptions::default();
    let mut args = args.into_iter();
    let usage_hint = "usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...]";
    loop {
        let Some(arg) = args.next() else {
            return Err(format!("missing `--` before the program ({usage_hint})"));
        };
        let Some(arg) = arg.to_str().map(str::to_string) else {
            return Err(format!(
                "option {} is not valid UTF-8",
                arg.to_string_lossy()
            ));
        };
        if arg == "--" {
            break;
        }
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        if arg == "-v" || arg == "--verbose" {
            opts.verbose = true;
            continue;
        }
        if arg == "--seccomp" {
            opts.seccomp = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        const WITH_VALUE: &[&str] = &[
            "--add-fd", "--file", "--data", "--alias", "--prefix", "--qmp",
        ];
        if !WITH_VALUE.contains(&name.as_str()) {
            if name.starts_with('-') {
                return Err(format!("unknown option '{name}' (see fdset-run --help)"));
            }
            return Err(format!(
                "'{arg}' is not an option: put `--` before the program ({usage_hint})"
            ));
        }
        let value = match inline {
            Some(v) => v,
            None => match args.next() {
                Some(v) => v
                    .into_string()
                    .map_err(|v| format!("{name} {}: not valid UTF-8", v.to_string_lossy()))?,
                None => return Err(format!("{name} needs a value (see fdset-run --help)")),
            },
        };
        match name.as_str() {
            "--add-fd" => opts.add_fds.extend(parse_add_fd(&value)?),
            "--file" => opts.files.push(parse_file(&value)?),
            "--data" => {
                let d = parse_data(&value)?;
                if d.source == DataSource::Stdin
                    && opts.data.iter().any(|o| o.source == DataSource::Stdin)
                {
                    return Err(format!(
                        "{}: stdin can be read only once (use path=- in one --data)",
                        d.option
                    ));
                }
                opts.data.push(d);
            }
            "--alias" => opts.aliases.push(parse_alias(&value)?),
            "--prefix" => opts.prefixes.push(parse_prefix(&value)?),
            _ => {
                if opts.qmp.is_some() {
                    return Err(format!(
                        "--qmp {value}: given twice (one QMP socket serves any number of clients)"
                    ));
                }
                if value.is_empty() {
                    return Err("--qmp needs a socket path (e.g. --qmp /tmp/prog.qmp)".to_string());
                }
                opts.qmp = Some(PathBuf::from(value));
            }
        }
    }
    opts.program = args.collect();
    if opts.program.is_empty() {
        return Err(format!("no program after `--` ({usage_hint})"));
    }
    Ok(Parsed::Run(opts))
}

/// Append `value` to a list-valued variable's current value.
pub fn join_env(current: Option<&str>, sep: &str, value: &str) -> String {
    match current {
        Some(c) if !c.is_empty() => format!("{c}{sep}{value}"),
        _ => value.to_string(),
    }
}

/// `LD_PRELOAD` with the shim appended (once): other preloads keep their
/// place in front.
pub fn preload_with(current: Option<&str>, lib: &str) -> String {
    match current {
        Some(c) if c.split([':', ' ']).any(|e| e == lib) => c.to_string(),
        _ => join_env(current, ":", lib),
    }
}

/// One `FDSET_ADD_FD` spec; a comma in `opaque` is written `,,`.
pub fn add_fd_spec(fd: i32, set: u64, opaque: Option<&str>) -> String {
    match opaque {
        Some(o) => format!("fd={fd},set={set},opaque={}", o.replace(',', ",,")),
        None => format!("fd={fd},set={set}"),
    }
}

#[cfg(test)]
mod tests {
    //! Issue 4, "Every bad option is refused ... with a message that names the
    //! option and the fix"; and the syntax of each option.
    use super::*;

    fn run(args: &[&str]) -> Result<LaunchOptions, String> {
        match parse(args.iter().map(OsString::from))? {
            Parsed::Run(o) => Ok(o),
            Parsed::Help => Err("help".into()),
        }
    }

    fn err(args: &[&str]) -> String {
        run(args).expect_err("must be refused")
    }

    #[test]
    fn every_option_parses() {
        let o = run(&[
            "-v",
            "--add-fd",
            "fd=3,set=1,opaque=a,,b",
            "--file=set=2,path=/x,mode=rw,opaque=disk",
            "--file",
            "set=2,path=rel.txt",
            "--data",
            "set=4,path=-",
            "--data",
            "set=5,path=/etc/hostname",
            "--alias",
            "/srv/disk.img=2",
            "--prefix",
            "/run/fdset",
            "--qmp",
            "/tmp/q.sock",
            "--",
            "cat",
            "--",
            "-v",
        ])
        .unwrap();
        assert!(o.verbose);
        assert_eq!(o.add_fds[0].spec.fd, Some(3));
        assert_eq!(o.add_fds[0].spec.opaque.as_deref(), Some("a,b"));
        assert_eq!(o.files[0].mode, FileMode::ReadWrite);
        assert_eq!(o.files[0].opaque.as_deref(), Some("disk"));
        assert_eq!(o.files[1].mode, FileMode::ReadOnly);
        assert_eq!(o.files[1].path, PathBuf::from("rel.txt"));
        assert_eq!(o.data[0].source, DataSource::Stdin);
        assert_eq!(o.data[1].source, DataSource::File("/etc/hostname".into()));
        assert_eq!(o.aliases, vec![("/srv/disk.img".to_string(), 2)]);
        assert_eq!(o.prefixes, vec!["/run/fdset/".to_string()]);
        assert_eq!(o.qmp, Some(PathBuf::from("/tmp/q.sock")));
        // Everything after the first `--` belongs to the program.
        assert_eq!(o.program, ["cat", "--", "-v"].map(OsString::from));
    }

    #[test]
    fn help() {
        assert_eq!(parse(["--help"].map(OsString::from)), Ok(Parsed::Help));
    }

    #[test]
    fn missing_separator_and_program() {
        assert!(err(&["--file", "set=1,path=/x"]).contains("missing `--`"));
        assert!(
            err(&["cat", "/dev/fdset/1"])
                .contains("'cat' is not an option: put `--` before the program")
        );
        assert!(err(&["--prefix", "/run/x", "--"]).contains("no program after `--`"));
        assert!(err(&["--file"]).contains("--file needs a value"));
    }

    #[test]
    fn unknown_option() {
        assert_eq!(
            err(&["--fiel", "x", "--", "true"]),
            "unknown option '--fiel' (see fdset-run --help)"
        );
    }

    #[test]
    fn bad_file_options() {
        assert_eq!(
            err(&["--file", "set=1,path=/x,mode=rx", "--", "true"]),
            "--file set=1,path=/x,mode=rx: mode 'rx' is not one of ro, wo, rw"
        );
        assert!(
            err(&["--file", "set=1", "--", "true"]).starts_with("--file set=1: path= is required")
        );
        assert!(
            err(&["--file", "path=/x", "--", "true"])
                .starts_with("--file path=/x: set= is required")
        );
        assert!(
            err(&["--file", "set=1,path=/x,size=3", "--", "true"]).contains("unknown key 'size'")
        );
        assert!(
            err(&["--file", "set=1,set=2,path=/x", "--", "true"]).contains("'set' given twice")
        );
        assert!(
            err(&["--file", "set=1,path=/x,opaque=a;b", "--", "true"])
                .contains("cannot contain ';'")
        );
    }

    #[test]
    fn set_id_out_of_range() {
        let e = err(&["--file", "set=2147483648,path=/x", "--", "true"]);
        assert_eq!(
            e,
            "--file set=2147483648,path=/x: set id 2147483648 is out of range \
             (use a set id from 0 to 2147483647, the numbers /dev/fdset/N can name)"
        );
        assert!(
            err(&["--data", "set=-1,path=-", "--", "true"]).contains("set id -1 is out of range")
        );
        assert!(
            err(&["--add-fd", "fd=3,set=9999999999", "--", "true"])
                .contains("set id 9999999999 is out of range")
        );
        assert!(err(&["--alias", "/a=x", "--", "true"]).contains("set id 'x' is not a number"));
        assert!(
            err(&["--file", "set=one,path=/x", "--", "true"])
                .contains("set id 'one' is not a number")
        );
        assert_eq!(
            run(&["--file", "set=2147483647,path=/x", "--", "true"])
                .unwrap()
                .files[0]
                .set,
            2147483647
        );
    }

    #[test]
    fn bad_alias_and_prefix() {
        assert!(err(&["--alias", "disk.img=1", "--", "true"]).contains("not an absolute path"));
        assert!(err(&["--alias", "/disk.img", "--", "true"]).contains("not PATH=S"));
        assert!(
            err(&["--prefix", "run/fdset", "--", "true"]).contains("not an absolute directory")
        );
        assert!(err(&["--prefix", "/", "--", "true"]).contains("would capture every path"));
        assert!(err(&["--prefix", "/a:b", "--", "true"]).contains("cannot contain ':'"));
    }

    #[test]
    fn bad_add_fd_syntax() {
        assert!(
            err(&["--add-fd", "fd=x,set=1", "--", "true"])
                .starts_with("--add-fd fd=x,set=1: Parameter 'fd' expects a number")
        );
        assert!(
            err(&["--add-fd", "fd=3,sett=1", "--", "true"]).contains("Invalid parameter 'sett'")
        );
    }

    #[test]
    fn stdin_only_once_and_one_qmp() {
        assert!(
            err(&[
                "--data",
                "set=1,path=-",
                "--data",
                "set=2,path=-",
                "--",
                "true"
            ])
            .contains("stdin can be read only once")
        );
        assert!(err(&["--qmp", "/a", "--qmp", "/b", "--", "true"]).contains("given twice"));
    }

    #[test]
    fn environment_values() {
        assert_eq!(
            preload_with(None, "/l/libfdset_shim.so"),
            "/l/libfdset_shim.so"
        );
        assert_eq!(preload_with(Some("/x.so"), "/l/s.so"), "/x.so:/l/s.so");
        assert_eq!(
            preload_with(Some("/x.so /l/s.so"), "/l/s.so"),
            "/x.so /l/s.so"
        );
        assert_eq!(join_env(Some(""), ";", "a"), "a");
        assert_eq!(add_fd_spec(5, 2, Some("a,b")), "fd=5,set=2,opaque=a,,b");
        assert_eq!(add_fd_spec(5, 2, None), "fd=5,set=2");
        // The spec round-trips through the shim's own parser.
        let back = launch_spec::parse_add_fd(&add_fd_spec(5, 2, Some("a,b"))).unwrap();
        assert_eq!(back[0].opaque.as_deref(), Some("a,b"));
    }
}
