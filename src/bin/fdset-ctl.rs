//! fdset-ctl: drive the fd sets of a running program over its QMP control
//! socket (spec section 3). A plain QMP client: it links none of the shim.
//! Its command line is `fdset_core::cli::ctl`.

use clap::Parser;
use clap::error::ErrorKind;
use fdset_core::cli::{self, ctl::AddFd, ctl::CtlArgs, ctl::CtlCommand, ctl::Mode};
use fdset_core::launch::open_modes;
use fdset_core::launch::options::{FileMode, access_mode_name};
use fdset_core::qmp::members::X_QUERY_FDSET_MEMBERS;
use fdset_core::scm::MAX_SOCKET_PATH;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, ErrorKind as IoKind, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// A failure, as printed after `fdset-ctl: ` (exit 1).
struct Failure(String);

/// A QMP error reply: its class and text.
struct QmpError {
    class: String,
    desc: String,
}

enum Reply {
    Return(Value),
    Error(QmpError),
}

struct Client {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
    path: String,
    timeout: Option<Duration>,
}

fn seconds(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{} s", d.as_secs_f64()),
        None => "ever".to_string(),
    }
}

impl Client {
    fn connect(path: &Path, timeout: Option<Duration>) -> Result<Client, Failure> {
        let shown = path.display().to_string();
        match std::fs::metadata(path) {
            Ok(m) if !m.file_type().is_socket() => {
                return Err(Failure(format!(
                    "{shown} is not a socket (give the QMP socket of the program, e.g. the PATH of fdset-run --qmp PATH)"
                )));
            }
            _ => {}
        }
        let len = path.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(Failure(format!(
                "cannot connect to {shown}: the path is {len} bytes long; a Unix socket path can be at most {MAX_SOCKET_PATH} bytes (give a shorter path to it: a relative one, or a symbolic link)"
            )));
        }
        let stream = UnixStream::connect(path).map_err(|e| {
            let hint = match e.kind() {
                IoKind::NotFound => " (is the program running, started with fdset-run --qmp PATH?)",
                IoKind::ConnectionRefused => " (nothing listens there: has the program exited?)",
                _ => "",
            };
            Failure(format!("cannot connect to {shown}: {e}{hint}"))
        })?;
        let fail = |e: std::io::Error| Failure(format!("{shown}: {e}"));
        stream.set_read_timeout(timeout).map_err(fail)?;
        stream.set_write_timeout(timeout).map_err(fail)?;
        let reader = BufReader::new(stream.try_clone().map_err(fail)?);
        let mut c = Client {
            stream,
            reader,
            path: shown,
            timeout,
        };
        c.greeting()?;
        match c.execute("qmp_capabilities", json!({}))? {
            Reply::Return(_) => Ok(c),
            Reply::Error(e) => Err(Failure(format!("qmp_capabilities: {}", e.desc))),
        }
    }

    /// The first line must be QMP's greeting: anything else is a peer that
    /// does not speak QMP.
    fn greeting(&mut self) -> Result<(), Failure> {
        let path = self.path.clone();
        let not_qmp = |what: String| {
            Failure(format!(
                "{path} does not speak QMP ({what}; a QMP monitor greets with {{\"QMP\": ...}})"
            ))
        };
        let deadline = self.deadline();
        let line = match self.line(deadline) {
            Ok(Some(l)) => l,
            Ok(None) => {
                return Err(Failure(format!(
                    "{} closed the connection before the QMP greeting (a program under the \
                     shim accepts monitors of its own user and root only)",
                    self.path
                )));
            }
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                return Err(not_qmp(format!(
                    "it sent no greeting within {}; see --timeout",
                    seconds(self.timeout)
                )));
            }
            Err(e) => return Err(Failure(format!("{}: {e}", self.path))),
        };
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v.get("QMP").is_some() => Ok(()),
            Ok(v) => Err(not_qmp(format!("greeting: {v}"))),
            Err(_) => Err(not_qmp(format!("it sent {:?}", clip(&line)))),
        }
    }

    /// When a wait that starts now must end (`--timeout` is for the whole
    /// greeting or reply, not for each read: a peer that trickles bytes or
    /// events must not keep the client waiting for ever).
    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| Instant::now() + t)
    }

    /// One line, before `deadline` (`TimedOut` after it); `None` at end of
    /// stream.
    fn line(&mut self, deadline: Option<Instant>) -> std::io::Result<Option<String>> {
        let mut buf = Vec::new();
        loop {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(IoKind::TimedOut.into());
                }
                // Not zero (checked above), which the socket would refuse.
                self.stream.set_read_timeout(Some(left))?;
            }
            let (ended, used) = match self.reader.fill_buf() {
                Ok([]) if buf.is_empty() => return Ok(None),
                Ok([]) => break,
                Ok(bytes) => match bytes.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        buf.extend_from_slice(&bytes[..=i]);
                        (true, i + 1)
                    }
                    None => {
                        buf.extend_from_slice(bytes);
                        (false, bytes.len())
                    }
                },
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.reader.consume(used);
            if ended {
                break;
            }
        }
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }

    /// The reply to the command just sent (asynchronous events, which QEMU
    /// sends, are skipped).
    fn reply(&mut self, name: &str) -> Result<Reply, Failure> {
        let deadline = self.deadline();
        loop {
            let line = match self.line(deadline) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    return Err(Failure(format!(
                        "{name}: the program closed the control connection"
                    )));
                }
                Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                    return Err(Failure(format!(
                        "{name}: no reply within {} (see --timeout)",
                        seconds(self.timeout)
                    )));
                }
                Err(e) => return Err(Failure(format!("{name}: {e}"))),
            };
            let v: Value = serde_json::from_str(&line)
                .map_err(|e| Failure(format!("{name}: not a QMP reply: {:?}: {e}", clip(&line))))?;
            if v.get("event").is_some() {
                continue;
            }
            if let Some(r) = v.get("return") {
                return Ok(Reply::Return(r.clone()));
            }
            let class = v["error"]["class"].as_str().unwrap_or("").to_string();
            let desc = v["error"]["desc"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("unexpected reply {v}"));
            return Ok(Reply::Error(QmpError { class, desc }));
        }
    }

    fn execute(&mut self, name: &str, args: Value) -> Result<Reply, Failure> {
        // One command per line: QMP needs no newline, line-based peers do.
        let req = format!("{}\n", json!({"execute": name, "arguments": args}));
        self.stream
            .write_all(req.as_bytes())
            .map_err(|e| Failure(format!("{name}: cannot send: {e}")))?;
        self.reply(name)
    }

    /// Run a command; its `return` value, or its QMP error as the failure.
    fn ok(&mut self, name: &str, args: Value) -> Result<Value, Failure> {
        match self.execute(name, args)? {
            Reply::Return(v) => Ok(v),
            Reply::Error(e) => Err(Failure(format!("{name}: {}", e.desc))),
        }
    }

    /// One blank byte carrying `fd` (as qemu.qmp's send_fd_scm does).
    fn send_fd(&self, fd: RawFd) -> Result<(), Failure> {
        fdset_core::scm::send_fds(self.stream.as_raw_fd(), &[fd], b" ")
            .map_err(|e| Failure(format!("cannot send fd: {e}")))
    }
}

fn clip(s: &str) -> String {
    let s = s.trim_end();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn access_mode_of(fd: RawFd) -> Result<i32, Failure> {
    // SAFETY: F_GETFL on any number only reports.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(Failure(format!(
            "--fd {fd}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(flags & libc::O_ACCMODE)
}

fn add_fd(socket: &Path, timeout: Option<Duration>, a: AddFd) -> Result<String, Failure> {
    // Opened before connecting: a bad --path or --fd is the user's error,
    // not the program's.
    let mut fds: Vec<(RawFd, i32)> = Vec::new();
    let mut files = Vec::new();
    let mut made = None;
    if let Some(path) = &a.path {
        let mode = match a.mode {
            Mode::Ro => FileMode::ReadOnly,
            Mode::Wo => FileMode::WriteOnly,
            Mode::Rw => FileMode::ReadWrite,
        };
        let opened = open_modes::open_members(path, mode).map_err(|f| {
            if f.error.raw_os_error() == Some(libc::EISDIR) {
                // open_members' refusal, not the kernel's: said as fdset-run says it.
                return Failure(format!(
                    "{} is a directory (give a file; an open directory joins a set with add-fd --fd N)",
                    path.display()
                ));
            }
            let how = match f.access_mode {
                libc::O_RDONLY => "for reading",
                libc::O_WRONLY => "for writing",
                _ => "for reading and writing",
            };
            Failure(format!("cannot open {} {how}: {}", path.display(), f.error))
        })?;
        made = opened.created;
        for m in opened.members {
            fds.push((m.file.as_raw_fd(), m.access_mode));
            files.push(m.file);
        }
    } else if let Some(fd) = a.fd {
        fds.push((fd, access_mode_of(fd)?));
    }
    // A file this command made is removed again when nothing was added
    // (the program never saw it): a failed command leaves nothing behind.
    let gave_up = |e: Failure| {
        if let Some(m) = &made {
            m.remove();
        }
        e
    };
    let mut c = Client::connect(socket, timeout).map_err(gave_up)?;
    let mut set = a.set;
    let mut added: Vec<(u64, i64, i32)> = Vec::new();
    for &(fd, mode) in &fds {
        let result = c.send_fd(fd).and_then(|()| {
            let mut args = serde_json::Map::new();
            if let Some(s) = set {
                args.insert("fdset-id".into(), json!(s));
            }
            if let Some(o) = &a.opaque {
                args.insert("opaque".into(), json!(o));
            }
            c.ok("add-fd", Value::Object(args))
        });
        match result {
            Ok(r) => {
                let (Some(id), Some(member)) = (r["fdset-id"].as_u64(), r["fd"].as_i64()) else {
                    return Err(Failure(format!("add-fd: unexpected reply {r}")));
                };
                set = Some(id);
                added.push((id, member, mode));
            }
            Err(e) => {
                // One file is one choice of modes: none of it stays.
                for &(id, member, _) in &added {
                    let _ = c.ok("remove-fd", json!({"fdset-id": id, "fd": member}));
                }
                return Err(gave_up(e));
            }
        }
    }
    drop(files);
    Ok(added
        .iter()
        .map(|(id, fd, mode)| format!("fdset-id {id} fd {fd} {}\n", access_mode_name(*mode)))
        .collect())
}

/// Rows of columns, each padded to its widest cell.
fn columns(rows: &[Vec<String>]) -> String {
    // One row a line: a newline or another control character in a cell (an
    // opaque string may hold any) is shown escaped, as Rust writes it.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| visible(c)).collect())
        .collect();
    let rows = &rows;
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                .collect();
            line.join("  ").trim_end().to_string() + "\n"
        })
        .collect()
}

/// `cell` with its control characters escaped (`\n`, `\u{1b}`).
fn visible(cell: &str) -> String {
    if !cell.chars().any(char::is_control) {
        return cell.to_string();
    }
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `v` if it is a list of sets as `command` returns them (each with a
/// numeric `fdset-id` and a list `fds` of members with a numeric `fd`);
/// a peer that answers otherwise is not printed as if it had.
fn sets_shaped<'v>(command: &str, v: &'v Value) -> Result<&'v Value, Failure> {
    let member_ok = |f: &Value| f["fd"].is_i64() && f.get("opaque").is_none_or(Value::is_string);
    let set_ok = |s: &Value| {
        s["fdset-id"].is_u64()
            && s["fds"]
                .as_array()
                .is_some_and(|fds| fds.iter().all(member_ok))
    };
    if v.as_array().is_some_and(|sets| sets.iter().all(set_ok)) {
        Ok(v)
    } else {
        Err(Failure(format!(
            "{command}: the reply is not a list of sets ({})",
            cut(&v.to_string(), 200)
        )))
    }
}

/// `text`, or its first `n` characters and `...`.
fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// `query-fdsets` as QEMU answers it (no access modes there).
fn table(sets: &Value) -> String {
    let Some(sets) = sets.as_array() else {
        return format!("{sets}\n");
    };
    if sets.is_empty() {
        return "no fd sets\n".into();
    }
    let mut rows = vec![vec!["SET".to_string(), "FD".into(), "OPAQUE".into()]];
    for s in sets {
        let id = s["fdset-id"].to_string();
        let fds = s["fds"].as_array().cloned().unwrap_or_default();
        if fds.is_empty() {
            rows.push(vec![
                id.clone(),
                "-".into(),
                "(no member left; dups still open)".into(),
            ]);
        }
        for f in fds {
            let opaque = f.get("opaque").and_then(Value::as_str).unwrap_or("");
            rows.push(vec![id.clone(), f["fd"].to_string(), opaque.to_string()]);
        }
    }
    columns(&rows)
}

/// `x-query-fdset-members`: each member's access mode and file, each set's
/// open dups.
fn members_table(sets: &Value) -> String {
    let Some(sets) = sets.as_array() else {
        return format!("{sets}\n");
    };
    if sets.is_empty() {
        return "no fd sets\n".into();
    }
    let head = [
        "SET", "DUPS", "FD", "MODE", "TYPE", "SIZE", "DEV:INO", "OPAQUE",
    ];
    let mut rows = vec![head.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    let text = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for s in sets {
        let id = s["fdset-id"].to_string();
        let dups = s["open-dups"].to_string();
        let fds = s["fds"].as_array().cloned().unwrap_or_default();
        if fds.is_empty() {
            rows.push(vec![
                id.clone(),
                dups.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "(no member left; dups still open)".into(),
            ]);
        }
        for f in fds {
            let mut opaque = f
                .get("opaque")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if f["removed"] == json!(true) {
                opaque = format!("{opaque} (removed; closed with the last dup)")
                    .trim_start()
                    .to_string();
            }
            let dev_ino = match (f.get("dev"), f.get("ino")) {
                (Some(d), Some(i)) => format!("{d}:{i}"),
                _ => "-".to_string(),
            };
            rows.push(vec![
                id.clone(),
                dups.clone(),
                f["fd"].to_string(),
                text(&f["access-mode"]),
                text(&f["type"]),
                text(&f["size"]),
                dev_ino,
                opaque,
            ]);
        }
    }
    columns(&rows)
}

fn run(args: CtlArgs) -> Result<String, Failure> {
    let timeout = args.timeout.0;
    match args.command {
        CtlCommand::AddFd(a) => add_fd(&args.socket, timeout, a),
        CtlCommand::RemoveFd { set, fd } => {
            let mut c = Client::connect(&args.socket, timeout)?;
            let mut a = json!({"fdset-id": set});
            if let Some(fd) = fd {
                a["fd"] = json!(fd);
            }
            c.ok("remove-fd", a)?;
            Ok(String::new())
        }
        CtlCommand::QueryFdsets { json } => {
            let mut c = Client::connect(&args.socket, timeout)?;
            if json {
                return Ok(format!("{}\n", c.ok("query-fdsets", json!({}))?));
            }
            match c.execute(X_QUERY_FDSET_MEMBERS, json!({}))? {
                Reply::Return(v) => Ok(members_table(sets_shaped(X_QUERY_FDSET_MEMBERS, &v)?)),
                // A QEMU monitor: its own command only.
                Reply::Error(e) if e.class == "CommandNotFound" => {
                    let v = c.ok("query-fdsets", json!({}))?;
                    Ok(table(sets_shaped("query-fdsets", &v)?))
                }
                Reply::Error(e) => Err(Failure(format!("{X_QUERY_FDSET_MEMBERS}: {}", e.desc))),
            }
        }
        CtlCommand::Cont => {
            let mut c = Client::connect(&args.socket, timeout)?;
            c.ok("cont", json!({}))?;
            Ok(String::new())
        }
    }
}

/// Whether `e` is about the socket, found empty in `FDSET_SOCKET`, not in
/// a `--socket` on the command line.
fn socket_is_an_empty_variable(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue};
    let about_socket = matches!(
        e.get(ContextKind::InvalidArg),
        Some(ContextValue::String(a)) if a.starts_with("--socket")
    );
    about_socket
        && std::env::var_os("FDSET_SOCKET").is_some_and(|v| v.is_empty())
        && !std::env::args_os().any(|a| {
            a.to_str()
                .is_some_and(|a| a == "--socket" || a.starts_with("--socket="))
        })
}

fn main() -> ExitCode {
    let args = match CtlArgs::try_parse() {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let text = e.render().to_string();
            return match cli::print(&format!("{}\n", text.trim_end())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            };
        }
        Err(e) if e.kind() == ErrorKind::InvalidValue && socket_is_an_empty_variable(&e) => {
            cli::warn(format_args!(
                "fdset-ctl: FDSET_SOCKET is set but empty (set it to the program's QMP socket, give --socket PATH, or unset it)"
            ));
            return ExitCode::from(2);
        }
        Err(e) => {
            cli::warn(format_args!("fdset-ctl: {}", cli::error_text(&e)));
            return ExitCode::from(2);
        }
    };
    match run(args) {
        // What was done is done; output that cannot be written is an error
        // the exit status says.
        Ok(out) => match cli::print(&out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                cli::warn(format_args!("fdset-ctl: cannot write the output: {e}"));
                ExitCode::from(1)
            }
        },
        Err(Failure(msg)) => {
            cli::warn(format_args!("fdset-ctl: {msg}"));
            ExitCode::from(1)
        }
    }
}
