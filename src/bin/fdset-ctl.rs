//! fdset-ctl: drive the fd sets of a running program over its QMP control
//! socket (spec section 3). A plain QMP client: it links none of the shim.

use serde_json::{Value, json};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage:
  fdset-ctl --socket PATH add-fd [--set N] [--opaque TEXT] (--path FILE [--mode ro|wo|rw] | --fd N)
  fdset-ctl --socket PATH remove-fd --set N [--fd M]
  fdset-ctl --socket PATH query-fdsets [--json]
  fdset-ctl --socket PATH cont";

/// How long to wait for the program to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

enum Failure {
    /// Bad command line: the message, then the usage (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Error(String),
}

use Failure::{Error, Usage};

#[derive(Debug)]
enum Command {
    AddFd {
        set: Option<i64>,
        opaque: Option<String>,
        source: FdSource,
    },
    RemoveFd {
        set: i64,
        fd: Option<i64>,
    },
    QueryFdsets {
        json: bool,
    },
    Cont,
}

#[derive(Debug)]
enum FdSource {
    Path { path: String, mode: String },
    Fd(RawFd),
}

fn int_arg(opt: &str, v: &str) -> Result<i64, Failure> {
    v.parse()
        .map_err(|_| Usage(format!("{opt} expects an integer, got '{v}'")))
}

fn parse_args(args: &[String]) -> Result<(String, Command), Failure> {
    let mut socket = None;
    let mut sub = None;
    let mut opts: Vec<(String, Option<String>)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let takes_value = matches!(
            a.as_str(),
            "--socket" | "--set" | "--opaque" | "--path" | "--mode" | "--fd"
        );
        if a == "-h" || a == "--help" {
            return Err(Usage(String::new()));
        }
        if takes_value {
            let v = it
                .next()
                .ok_or_else(|| Usage(format!("{a} needs a value")))?
                .clone();
            if a == "--socket" {
                socket = Some(v);
            } else {
                opts.push((a.clone(), Some(v)));
            }
        } else if a.starts_with("--") {
            opts.push((a.clone(), None));
        } else if sub.is_none() {
            sub = Some(a.clone());
        } else {
            return Err(Usage(format!("unexpected argument '{a}'")));
        }
    }
    let socket = socket.ok_or_else(|| Usage("--socket PATH is required".into()))?;
    let sub = sub.ok_or_else(|| Usage("no command given".into()))?;
    let allowed: &[&str] = match sub.as_str() {
        "add-fd" => &["--set", "--opaque", "--path", "--mode", "--fd"],
        "remove-fd" => &["--set", "--fd"],
        "query-fdsets" => &["--json"],
        "cont" => &[],
        other => return Err(Usage(format!("unknown command '{other}'"))),
    };
    let mut seen = Vec::new();
    for (o, _) in &opts {
        if !allowed.contains(&o.as_str()) {
            return Err(Usage(format!("{sub} does not take {o}")));
        }
        if seen.contains(o) {
            return Err(Usage(format!("{o} given twice")));
        }
        seen.push(o.clone());
    }
    let get = |name: &str| {
        opts.iter()
            .find(|(o, _)| o == name)
            .and_then(|(_, v)| v.clone())
    };
    let cmd = match sub.as_str() {
        "add-fd" => {
            let source = match (get("--path"), get("--fd")) {
                (Some(path), None) => {
                    let mode = get("--mode").unwrap_or_else(|| "rw".into());
                    if !matches!(mode.as_str(), "ro" | "wo" | "rw") {
                        return Err(Usage(format!("--mode is ro, wo or rw, not '{mode}'")));
                    }
                    FdSource::Path { path, mode }
                }
                (None, Some(fd)) => {
                    if get("--mode").is_some() {
                        return Err(Usage("--mode goes with --path, not --fd".into()));
                    }
                    let fd = RawFd::try_from(int_arg("--fd", &fd)?)
                        .ok()
                        .filter(|&f| f >= 0)
                        .ok_or_else(|| {
                            Usage(format!("--fd expects a descriptor number, got '{fd}'"))
                        })?;
                    FdSource::Fd(fd)
                }
                _ => {
                    return Err(Usage(
                        "add-fd needs exactly one of --path FILE or --fd N".into(),
                    ));
                }
            };
            let set = get("--set").map(|v| int_arg("--set", &v)).transpose()?;
            Command::AddFd {
                set,
                opaque: get("--opaque"),
                source,
            }
        }
        "remove-fd" => {
            let set = get("--set").ok_or_else(|| Usage("remove-fd needs --set N".into()))?;
            Command::RemoveFd {
                set: int_arg("--set", &set)?,
                fd: get("--fd").map(|v| int_arg("--fd", &v)).transpose()?,
            }
        }
        "query-fdsets" => Command::QueryFdsets {
            json: opts.iter().any(|(o, _)| o == "--json"),
        },
        _ => Command::Cont,
    };
    Ok((socket, cmd))
}

struct Client {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Client {
    fn connect(path: &str) -> Result<Client, Failure> {
        let stream = UnixStream::connect(path)
            .map_err(|e| Error(format!("cannot connect to {path}: {e}")))?;
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(|e| Error(e.to_string()))?;
        let reader = BufReader::new(stream.try_clone().map_err(|e| Error(e.to_string()))?);
        let mut c = Client { stream, reader };
        let greeting = c.read()?;
        if greeting.get("QMP").is_none() {
            return Err(Error(format!(
                "{path} does not speak QMP (greeting: {greeting})"
            )));
        }
        c.execute("qmp_capabilities", json!({}))?;
        Ok(c)
    }

    fn read(&mut self) -> Result<Value, Failure> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Err(Error("the program closed the control connection".into())),
            Ok(_) => {
                serde_json::from_str(&line).map_err(|e| Error(format!("bad reply {line:?}: {e}")))
            }
            Err(e) => Err(Error(format!("no reply: {e}"))),
        }
    }

    /// Run a command; its `return` value, or its QMP error as the failure.
    fn execute(&mut self, name: &str, args: Value) -> Result<Value, Failure> {
        let req = json!({"execute": name, "arguments": args});
        self.stream
            .write_all(req.to_string().as_bytes())
            .map_err(|e| Error(format!("{name}: cannot send: {e}")))?;
        let reply = self.read()?;
        if let Some(r) = reply.get("return") {
            return Ok(r.clone());
        }
        let desc = reply["error"]["desc"]
            .as_str()
            .unwrap_or("unexpected reply");
        Err(Error(format!("{name}: {desc}")))
    }

    /// One blank byte carrying `fd` (as qemu.qmp's send_fd_scm does).
    fn send_fd(&self, fd: RawFd) -> Result<(), Failure> {
        fdset_core::scm::send_fds(self.stream.as_raw_fd(), &[fd], b" ")
            .map_err(|e| Error(format!("cannot send fd: {e}")))
    }
}

fn table(sets: &Value) -> String {
    let Some(sets) = sets.as_array() else {
        return format!("{sets}\n");
    };
    if sets.is_empty() {
        return "no fd sets\n".into();
    }
    let mut rows = vec![("SET".to_string(), "FD".to_string(), "OPAQUE".to_string())];
    for s in sets {
        let id = s["fdset-id"].to_string();
        let fds = s["fds"].as_array().cloned().unwrap_or_default();
        if fds.is_empty() {
            rows.push((
                id.clone(),
                "-".into(),
                "(no member left; dups still open)".into(),
            ));
        }
        for f in fds {
            let opaque = f
                .get("opaque")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            rows.push((id.clone(), f["fd"].to_string(), opaque));
        }
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(a, b, c)| format!("{a:<w0$}  {b:<w1$}  {c}").trim_end().to_string() + "\n")
        .collect()
}

fn run(socket: &str, cmd: Command) -> Result<String, Failure> {
    // Checked before connecting: a bad --path or --fd is the user's error,
    // not the program's.
    let file = match &cmd {
        Command::AddFd {
            source: FdSource::Path { path, mode },
            ..
        } => {
            let mut o = OpenOptions::new();
            match mode.as_str() {
                "ro" => o.read(true),
                "wo" => o.write(true),
                _ => o.read(true).write(true),
            };
            Some(
                o.open(path)
                    .map_err(|e| Error(format!("cannot open {path}: {e}")))?,
            )
        }
        Command::AddFd {
            source: FdSource::Fd(fd),
            ..
        } => {
            // SAFETY: fcntl on any number only reports.
            if unsafe { libc::fcntl(*fd, libc::F_GETFD) } < 0 {
                return Err(Error(format!(
                    "--fd {fd}: {}",
                    std::io::Error::last_os_error()
                )));
            }
            None
        }
        _ => None,
    };
    let mut c = Client::connect(socket)?;
    match cmd {
        Command::AddFd {
            set,
            opaque,
            source,
        } => {
            let fd = match (&file, source) {
                (Some(f), _) => f.as_raw_fd(),
                (None, FdSource::Fd(fd)) => fd,
                (None, FdSource::Path { .. }) => unreachable!("opened above"),
            };
            c.send_fd(fd)?;
            let mut args = serde_json::Map::new();
            if let Some(s) = set {
                args.insert("fdset-id".into(), json!(s));
            }
            if let Some(o) = opaque {
                args.insert("opaque".into(), json!(o));
            }
            let r = c.execute("add-fd", Value::Object(args))?;
            Ok(format!("fdset-id {} fd {}\n", r["fdset-id"], r["fd"]))
        }
        Command::RemoveFd { set, fd } => {
            let mut args = json!({"fdset-id": set});
            if let Some(fd) = fd {
                args["fd"] = json!(fd);
            }
            c.execute("remove-fd", args)?;
            Ok(String::new())
        }
        Command::QueryFdsets { json } => {
            let r = c.execute("query-fdsets", json!({}))?;
            Ok(if json { format!("{r}\n") } else { table(&r) })
        }
        Command::Cont => {
            c.execute("cont", json!({}))?;
            Ok(String::new())
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|(socket, cmd)| run(&socket, cmd));
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(Usage(msg)) if msg.is_empty() => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(Usage(msg)) => {
            eprintln!("fdset-ctl: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Error(msg)) => {
            eprintln!("fdset-ctl: {msg}");
            ExitCode::from(1)
        }
    }
}
