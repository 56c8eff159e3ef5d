//! `fdset-run`'s command line: clap reads the options (`crate::cli::run`),
//! and this module reads their values, which keep QEMU's `key=value,...`
//! syntax. Plain Rust, unit-tested here. Every message names the option as
//! written and says how to fix it; nothing here touches a file.

use super::add_fd as launch_spec;
use crate::cli::run::RunArgs;
use clap::Parser;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// Largest set id a program can name as `/dev/fdset/N`.
pub const MAX_OPENABLE_SET: u64 = i32::MAX as u64;

/// `mode=` of `--file` (and fdset-ctl's `--mode`): which members the file
/// becomes. An open is served only by a member of exactly its access mode
/// (QEMU's rule), so `rw` gives one of each: readers, writers (a shell `>`
/// opens `O_WRONLY`), appenders and read-write opens all find theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    ReadOnly,
    WriteOnly,
    ReadWrite,
}

impl FileMode {
    /// The access modes of the members, in the order they are added.
    pub fn member_modes(self) -> &'static [i32] {
        match self {
            FileMode::ReadOnly => &[libc::O_RDONLY],
            FileMode::WriteOnly => &[libc::O_WRONLY],
            FileMode::ReadWrite => &[libc::O_RDWR, libc::O_RDONLY, libc::O_WRONLY],
        }
    }

    /// `ro`, `wo`, `rw`.
    pub fn parse(text: &str) -> Option<FileMode> {
        match text {
            "ro" => Some(FileMode::ReadOnly),
            "wo" => Some(FileMode::WriteOnly),
            "rw" => Some(FileMode::ReadWrite),
            _ => None,
        }
    }
}

/// `O_RDONLY`, `O_WRONLY` or `O_RDWR`: the name of `flags & O_ACCMODE`.
pub fn access_mode_name(flags: i32) -> &'static str {
    match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    }
}

/// `--add-fd`: QEMU's syntax; the fd is checked by the launcher, which can
/// see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddFd {
    pub option: String,
    pub spec: launch_spec::AddFdSpec,
    /// From the `FDSET_ADD_FD` fdset-run was started with, not `--add-fd`:
    /// held to the shim's rules only (one fd may be named for several
    /// sets there, as in QEMU).
    pub inherited: bool,
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

/// `--groups`: a list, or `none` (no supplementary group at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupsRequest {
    None,
    List(Vec<String>),
}

/// `--user`, `--group`, `--groups` as written (names or numbers); resolved
/// by `launch::identity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityRequest {
    pub user: Option<String>,
    pub group: Option<String>,
    pub groups: Option<GroupsRequest>,
}

impl IdentityRequest {
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.group.is_none() && self.groups.is_none()
    }
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
    pub identity: IdentityRequest,
    pub verbose: bool,
    /// `--seccomp`: serve the sets from outside the program (spec section 9).
    pub seccomp: bool,
    pub program: Vec<OsString>,
}

impl LaunchOptions {
    /// The paths `--prefix` and `--alias` name, as the shim reads them
    /// (`FDSET_PREFIX`, `FDSET_ALIAS`).
    pub fn path_config(&self) -> crate::paths::PathConfig {
        crate::paths::PathConfig {
            prefixes: self
                .prefixes
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            aliases: self
                .aliases
                .iter()
                .map(|(p, s)| (p.as_bytes().to_vec(), *s))
                .collect(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<LaunchOptions>),
    /// `--help`/`-h` or `--version`/`-V`: the text for stdout.
    Info(String),
}

/// `--name VALUE` written as given, for messages.
fn shown(name: &str, value: &OsStr) -> String {
    format!("{name} {}", value.to_string_lossy())
}

/// A value that must be text (numbers, names, what the shim reads from its
/// environment as UTF-8).
fn utf8<'a>(option: &str, value: &'a OsStr, why: &str) -> Result<&'a str, String> {
    value
        .to_str()
        .ok_or_else(|| format!("{option}: not valid UTF-8 ({why})"))
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

/// `add_fd::split_opts` on bytes: `key=value` pairs separated by `,`, `,,` inside a
/// value for one comma. Keys are text; values are kept as bytes (a path need
/// not be UTF-8).
fn split_opts_bytes(spec: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < spec.len() {
        let key_start = i;
        while i < spec.len() && spec[i] != b'=' {
            if spec[i] == b',' {
                let key = String::from_utf8_lossy(&spec[key_start..i]);
                return Err(format!("Invalid parameter '{key}' (expected key=value)"));
            }
            i += 1;
        }
        let key = String::from_utf8_lossy(&spec[key_start..i]).into_owned();
        i += 1; // the '=' (or one past the end)
        let mut value = Vec::new();
        while i < spec.len() {
            if spec[i] == b',' {
                if spec.get(i + 1) == Some(&b',') {
                    value.push(b',');
                    i += 2;
                    continue;
                }
                i += 1;
                break;
            }
            value.push(spec[i]);
            i += 1;
        }
        if key.is_empty() && value.is_empty() && i >= spec.len() {
            break;
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The `key=value` pairs of a `--file`/`--data` value, keys checked.
fn pairs(option: &str, value: &OsStr, keys: &[&str]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let expected = keys.join(", ");
    // A word after a comma is most often the rest of a value (a path with
    // a comma in it).
    let comma = "; a comma inside a value is written ,,";
    let pairs = split_opts_bytes(value.as_bytes())
        .map_err(|e| format!("{option}: {e} (write {expected} as key=value pairs{comma})"))?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if !keys.contains(&k.as_str()) {
            let comma = if i > 0 { comma } else { "" };
            return Err(format!(
                "{option}: unknown key '{k}' (the keys are {expected}{comma})"
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

fn get<'a>(pairs: &'a [(String, Vec<u8>)], key: &str) -> Option<&'a [u8]> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

/// A value that must be text, e.g. `set=` or `mode=`.
fn get_text<'a>(
    option: &str,
    pairs: &'a [(String, Vec<u8>)],
    key: &str,
) -> Result<Option<&'a str>, String> {
    match get(pairs, key) {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v)
            .map(Some)
            .map_err(|_| format!("{option}: {key}= is not valid UTF-8 (write it as text)")),
    }
}

fn required<'a>(
    option: &str,
    pairs: &'a [(String, Vec<u8>)],
    key: &str,
    example: &str,
) -> Result<&'a [u8], String> {
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

fn parse_file(value: &OsStr) -> Result<FileSpec, String> {
    let option = shown("--file", value);
    let p = pairs(&option, value, &["set", "path", "mode", "opaque"])?;
    let example = "--file set=1,path=disk.img,mode=rw";
    required(&option, &p, "set", example)?;
    let set = set_id(&option, get_text(&option, &p, "set")?.unwrap_or(""))?;
    let path = PathBuf::from(OsString::from_vec(
        required(&option, &p, "path", example)?.to_vec(),
    ));
    let mode_text = get_text(&option, &p, "mode")?.unwrap_or("ro");
    let Some(mode) = FileMode::parse(mode_text) else {
        return Err(format!(
            "{option}: mode '{mode_text}' is not one of ro, wo, rw"
        ));
    };
    let opaque = check_opaque(&option, get_text(&option, &p, "opaque")?)?;
    Ok(FileSpec {
        option,
        set,
        path,
        mode,
        opaque,
    })
}

fn parse_data(value: &OsStr) -> Result<DataSpec, String> {
    let option = shown("--data", value);
    let p = pairs(&option, value, &["set", "path"])?;
    let example = "--data set=1,path=secret.txt, or path=- for stdin";
    required(&option, &p, "set", example)?;
    let set = set_id(&option, get_text(&option, &p, "set")?.unwrap_or(""))?;
    let source = match required(&option, &p, "path", example)? {
        b"-" => DataSource::Stdin,
        f => DataSource::File(PathBuf::from(OsString::from_vec(f.to_vec()))),
    };
    Ok(DataSpec {
        option,
        set,
        source,
    })
}

fn parse_add_fd(value: &OsStr) -> Result<Vec<AddFd>, String> {
    let option = shown("--add-fd", value);
    let text = utf8(&option, value, "write fd=N,set=S[,opaque=TEXT] as text")?;
    let specs = launch_spec::parse_add_fd(text).map_err(|e| {
        // `;` separates specs (as in FDSET_ADD_FD): in an opaque it splits it.
        let semicolon = if text.contains(';') {
            "; a ';' separates specs, so an opaque text cannot contain one"
        } else {
            ""
        };
        format!("{option}: {e} (write fd=N,set=S[,opaque=TEXT]{semicolon})")
    })?;
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
            inherited: false,
        });
    }
    Ok(out)
}

fn parse_alias(value: &OsStr) -> Result<(String, u64), String> {
    let option = shown("--alias", value);
    let value = utf8(
        &option,
        value,
        "the shim reads FDSET_ALIAS as text: choose a UTF-8 alias path",
    )?;
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

fn parse_prefix(value: &OsStr) -> Result<String, String> {
    let option = shown("--prefix", value);
    let value = utf8(
        &option,
        value,
        "the shim reads FDSET_PREFIX as text: choose a UTF-8 directory",
    )?;
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
    // The form FDSET_PREFIX's entries take (`/run/x//` is `/run/x/`).
    crate::paths::PathConfig::prefix_dir(value).ok_or_else(|| {
        format!("{option}: '/' would capture every path (write e.g. --prefix /run/fdset)")
    })
}

/// A user or group name or number, as given to `--user`/`--group`.
fn account_name(option: &str, value: &OsStr, what: &str) -> Result<String, String> {
    let option = shown(option, value);
    let text = utf8(&option, value, &format!("give a {what} name or number"))?;
    if text.is_empty() || text.contains(['\0', ',', ':']) || text.trim() != text {
        return Err(format!("{option}: '{text}' is not a {what} name or number"));
    }
    Ok(text.to_string())
}

fn parse_groups(value: &OsStr) -> Result<GroupsRequest, String> {
    let option = shown("--groups", value);
    let text = utf8(
        &option,
        value,
        "give group names or numbers separated by ',', or none",
    )?;
    if text == "none" {
        return Ok(GroupsRequest::None);
    }
    let mut list = Vec::new();
    for g in text.split(',') {
        if g.is_empty() || g.contains([':', '\0']) || g.trim() != g {
            return Err(format!(
                "{option}: '{g}' is not a group name or number (write e.g. --groups disk,kvm, or --groups none)"
            ));
        }
        list.push(g.to_string());
    }
    Ok(GroupsRequest::List(list))
}

/// Parse the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    let argv = std::iter::once(OsString::from("fdset-run")).chain(args);
    let raw = match RunArgs::try_parse_from(argv) {
        Ok(raw) => raw,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Parsed::Info(format!(
                    "{}\n",
                    e.render().to_string().trim_end()
                ))),
                ErrorKind::UnknownArgument
                    if let Some(clap::error::ContextValue::String(arg)) =
                        e.get(clap::error::ContextKind::InvalidArg)
                        && !arg.starts_with('-') =>
                {
                    Err(format!(
                        "'{arg}' is not an option: put `--` before the program \
                         (usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...])"
                    ))
                }
                // The program is the only required argument.
                ErrorKind::MissingRequiredArgument => Err("no program given: write it after `--` \
                     (usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...])"
                    .to_string()),
                _ => Err(crate::cli::error_text(&e)),
            };
        }
    };
    from_args(raw)
}

/// The values of options clap has read.
pub fn from_args(raw: RunArgs) -> Result<Parsed, String> {
    let mut opts = LaunchOptions {
        verbose: raw.verbose,
        seccomp: raw.seccomp,
        program: raw.program,
        qmp: raw.qmp,
        ..LaunchOptions::default()
    };
    for v in &raw.add_fd {
        opts.add_fds.extend(parse_add_fd(v)?);
    }
    for v in &raw.file {
        opts.files.push(parse_file(v)?);
    }
    for v in &raw.data {
        let d = parse_data(v)?;
        if d.source == DataSource::Stdin && opts.data.iter().any(|o| o.source == DataSource::Stdin)
        {
            return Err(format!(
                "{}: stdin can be read only once (use path=- in one --data)",
                d.option
            ));
        }
        opts.data.push(d);
    }
    for v in &raw.alias {
        let (path, set) = parse_alias(v)?;
        let earlier: Vec<(Vec<u8>, u64)> = opts
            .aliases
            .iter()
            .map(|(p, s)| (p.as_bytes().to_vec(), *s))
            .collect();
        if let Some(why) = crate::paths::alias_conflict(&earlier, path.as_bytes(), set) {
            return Err(format!("{}: {why}", shown("--alias", v)));
        }
        opts.aliases.push((path, set));
    }
    for v in &raw.prefix {
        opts.prefixes.push(parse_prefix(v)?);
    }
    if let Some(why) = opts.path_config().alias_under_prefix() {
        return Err(format!("--alias: {why}"));
    }
    if let Some(u) = &raw.user {
        opts.identity.user = Some(account_name("--user", u, "user")?);
    }
    if let Some(g) = &raw.group {
        opts.identity.group = Some(account_name("--group", g, "group")?);
    }
    if let Some(g) = &raw.groups {
        opts.identity.groups = Some(parse_groups(g)?);
    }
    Ok(Parsed::Run(Box::new(opts)))
}

/// Append `value` to a list-valued variable's current value.
pub fn join_env(current: Option<&str>, sep: &str, value: &str) -> String {
    match current {
        Some(c) if !c.is_empty() => format!("{c}{sep}{value}"),
        _ => value.to_string(),
    }
}

/// `LD_PRELOAD` with the shim appended (once): other preloads keep their
/// place in front. Bytes, not text: the loader takes any path, and a
/// preload whose name is not UTF-8 is kept as it is.
pub fn preload_with(current: Option<&OsStr>, lib: &OsStr) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStrExt;
    let lib_b = lib.as_bytes();
    match current {
        Some(c)
            if c.as_bytes()
                .split(|&b| b == b':' || b == b' ')
                .any(|e| e == lib_b) =>
        {
            c.to_os_string()
        }
        Some(c) if !c.is_empty() => {
            let mut v = c.to_os_string();
            v.push(":");
            v.push(lib);
            v
        }
        _ => lib.to_os_string(),
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
mod tests;
