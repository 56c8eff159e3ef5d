//! QMP as the control socket speaks it (spec section 3), as plain Rust with no
//! I/O: one [`Connection`] per monitor is fed the bytes and the received fds
//! (as numbers), appends reply lines to an output buffer, and acts on the fd
//! sets through [`FdSetOps`]. `qmp_server` does the socket I/O around it.

use crate::registry::{QuerySnapshot, RawFd, SetDetail, SetView};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// The QEMU version the greeting and `query-version` report: the spec's QMP
/// texts and orders are those of QEMU 7.2, so clients that check the version
/// see the release whose behaviour this copies.
pub const QEMU_VERSION: (u32, u32, u32) = (7, 2, 0);

/// An incomplete JSON value may not grow past this: the connection is closed
/// instead (a 10 MB line is not a command anybody means to send).
pub const MAX_INPUT: usize = 1 << 20;

/// Monitors connected at once, per process (spec section 3); a listening
/// socket's further peers are closed at accept.
pub const MAX_MONITORS: usize = 64;

/// Received fds waiting for `add-fd`, per connection; more are closed.
pub const MAX_QUEUED_FDS: usize = 64;

/// Commands stop being run while this much output waits to be sent (a
/// client that sends but never reads); `feed(&[])` resumes.
pub const MAX_OUTPUT: usize = 1 << 20;

pub const COMMANDS: &[&str] = &[
    "qmp_capabilities",
    "add-fd",
    "remove-fd",
    "query-fdsets",
    "cont",
    "query-version",
    "query-commands",
    members::X_QUERY_FDSET_MEMBERS,
];

/// What the commands do to the process's fd sets.
pub trait FdSetOps {
    /// Take received `fd` into set `set` (the lowest free id when `None`);
    /// returns the set id and the member's fd number. On error `fd` is closed.
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String>;
    /// `remove-fd`; false when the set, or its visible member `fd`, does not exist.
    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool;
    fn query_fdsets(&mut self) -> Vec<SetView>;
    /// `x-query-fdset-members`: every set with its open dups and every
    /// member (removed ones too) with its access mode and file.
    fn query_fdset_members(&mut self) -> Vec<SetDetail>;
    /// [`FdSetOps::query_fdsets`] into a flat snapshot (emptied first); an
    /// implementation may fill it straight from its registry.
    fn query_fdsets_snapshot(&mut self, into: &mut QuerySnapshot) {
        *into = QuerySnapshot::from(self.query_fdsets().as_slice());
    }
    /// `cont`: release a program waiting with `FDSET_WAIT=1`.
    fn cont(&mut self);
    /// Close a received fd nobody will take.
    fn close_fd(&mut self, fd: RawFd);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    Open,
    /// The input bound was exceeded: close the connection.
    Disconnect,
}

#[derive(Debug, Default)]
pub struct Connection {
    negotiated: bool,
    /// Bytes not yet parsed into a complete value.
    input: Vec<u8>,
    /// After a JSON syntax error: input is dropped up to the next newline.
    skipping: bool,
    /// The last parse ended in an incomplete value.
    incomplete: bool,
    /// Where the scan of the incomplete value stopped, and in what state.
    scan: Scanner,
    fds: VecDeque<RawFd>,
    /// `query-fdsets`' copy of the sets, kept with its buffers from one
    /// command to the next (10,000 sets: some 500 KiB, faulted in once).
    sets: QuerySnapshot,
    /// Bytes examined so far by the parser, all attempts counted (the work
    /// the control thread does for this connection).
    scanned: u64,
    /// Tests compare the fast path with the `Value` path it stands for.
    #[cfg(test)]
    value_path_only: bool,
}

/// The greeting line sent on connect.
pub fn greeting() -> String {
    let (major, minor, micro) = QEMU_VERSION;
    format!(
        "{{\"QMP\": {{\"version\": {}, \"capabilities\": []}}}}\r\n",
        version_object(major, minor, micro)
    )
}

fn version_object(major: u32, minor: u32, micro: u32) -> String {
    let qemu = Obj::new()
        .field("major", major)
        .field("minor", minor)
        .field("micro", micro);
    Obj::new()
        .raw("qemu", &qemu.end())
        .field("package", concat!("fdset-shim ", env!("CARGO_PKG_VERSION")))
        .end()
}

mod args;
mod commands;
mod fast;
#[cfg(test)]
mod fast_tests;
mod json_text;
pub mod members;
mod parse_errors;
mod scan;
mod strict;
use args::Args;
use json_text::Obj;
use scan::{Found, Scanner};

// ---------------------------------------------------------------- errors

/// A command's `return` value, or its error.
type Ret = Result<Answer, QmpError>;

enum Answer {
    /// The value as text (most commands' `{}` is not allocated).
    Text(std::borrow::Cow<'static, str>),
    /// `query-fdsets`: the sets now in the connection's snapshot, written
    /// straight into the reply.
    Sets,
}

impl From<&'static str> for Answer {
    fn from(t: &'static str) -> Answer {
        Answer::Text(t.into())
    }
}

impl From<String> for Answer {
    fn from(t: String) -> Answer {
        Answer::Text(t.into())
    }
}

/// The `return` value of a command that returns nothing.
const EMPTY_RETURN: &str = "{}";

pub struct QmpError {
    pub class: &'static str,
    pub desc: String,
}

pub(crate) fn generic(desc: impl Into<String>) -> QmpError {
    QmpError {
        class: "GenericError",
        desc: desc.into(),
    }
}

fn not_found(desc: String) -> QmpError {
    QmpError {
        class: "CommandNotFound",
        desc,
    }
}

pub const NEED_CAPABILITIES: &str = "Expecting capabilities negotiation with 'qmp_capabilities'";
pub const ALREADY_NEGOTIATED: &str =
    "Capabilities negotiation is already complete, command ignored";
pub const NO_FD: &str = "No file descriptor supplied via SCM_RIGHTS";

// ---------------------------------------------------------------- connection

impl Connection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything of the connection's state, for an exec in the same
    /// process to carry (spec section 7: no second greeting, nothing lost).
    pub fn export(&self) -> serde_json::Value {
        serde_json::json!({
            "negotiated": self.negotiated,
            "input": hex_encode(&self.input),
            "skipping": self.skipping,
            "incomplete": self.incomplete,
            "fds": self.fds.iter().collect::<Vec<_>>(),
        })
    }

    /// The inverse of [`Connection::export`]; the caller checks that the
    /// queued fds are open.
    pub fn import(v: &serde_json::Value) -> Result<Connection, String> {
        let o = v.as_object().ok_or("a connection is not an object")?;
        let flag = |k: &str| {
            o.get(k)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        let input = o
            .get("input")
            .and_then(serde_json::Value::as_str)
            .map(hex_decode)
            .unwrap_or(Some(Vec::new()))
            .ok_or("a connection's input is not hex")?;
        if input.len() > 4 * MAX_INPUT {
            return Err("a connection's input is too large".into());
        }
        let mut fds = VecDeque::new();
        for f in o
            .get("fds")
            .and_then(serde_json::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let fd = f
                .as_i64()
                .filter(|&n| (3..(1 << 20)).contains(&n))
                .ok_or("a queued fd is out of range")?;
            if fds.len() >= MAX_QUEUED_FDS {
                return Err("too many queued fds".into());
            }
            fds.push_back(fd as RawFd);
        }
        Ok(Connection {
            negotiated: flag("negotiated"),
            input,
            skipping: flag("skipping"),
            incomplete: flag("incomplete"),
            fds,
            sets: QuerySnapshot::default(),
            scan: Scanner::default(),
            scanned: 0,
            #[cfg(test)]
            value_path_only: false,
        })
    }

    /// Bytes of input the parser has examined so far, every attempt
    /// counted: the control thread's work for this connection (spec section
    /// 3: linear in the bytes received).
    pub fn bytes_scanned(&self) -> u64 {
        self.scanned
    }

    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// Queue a received fd for `add-fd`; false when the queue is full (the
    /// caller closes it).
    pub fn queue_fd(&mut self, fd: RawFd) -> bool {
        if self.fds.len() >= MAX_QUEUED_FDS {
            return false;
        }
        self.fds.push_back(fd);
        true
    }

    pub fn queued_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.fds.iter().copied()
    }

    /// The fds nobody took, for the caller to close at disconnect.
    pub fn take_queued_fds(&mut self) -> Vec<RawFd> {
        self.fds.drain(..).collect()
    }

    /// A queued fd moved to another number.
    pub fn renumber_fd(&mut self, old: RawFd, new: RawFd) -> bool {
        match self.fds.iter_mut().find(|f| **f == old) {
            Some(f) => {
                *f = new;
                true
            }
            None => false,
        }
    }

    /// Bytes buffered: an incomplete value, or commands held back while
    /// output piled up.
    pub fn pending_input(&self) -> usize {
        self.input.len()
    }

    /// Commands were held back by the output bound: `feed(&[])` runs them
    /// once the output is sent.
    pub fn held_back(&self) -> bool {
        !self.input.is_empty() && !self.incomplete
    }

    /// Take `bytes` from the stream; complete commands are run and their
    /// reply lines appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], ops: &mut dyn FdSetOps, out: &mut Vec<u8>) -> Feed {
        if self.skipping {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(p) => {
                    self.skipping = false;
                    bytes = &bytes[p + 1..];
                }
                None => return Feed::Open,
            }
        }
        self.input.extend_from_slice(bytes);
        self.parse(ops, out);
        if self.input.len() > MAX_INPUT {
            self.input = Vec::new();
            self.scan.reset();
            return Feed::Disconnect;
        }
        Feed::Open
    }

    /// Run the complete values in the input. The scanner takes up where
    /// the last call stopped (each byte is examined once); serde_json parses
    /// a value only once the scanner has found its end.
    fn parse(&mut self, ops: &mut dyn FdSetOps, out: &mut Vec<u8>) {
        let mut used = 0;
        self.incomplete = false;
        // Taken out while commands run, so that a request may borrow it.
        let input = std::mem::take(&mut self.input);
        while used < input.len() && out.len() < MAX_OUTPUT {
            let rest = &input[used..];
            let before = self.scan.position();
            let found = self.scan.scan(rest);
            self.scanned += (self.scan.position() - before) as u64;
            match found {
                Found::Pending => {
                    if self.scan.in_value() {
                        // The value may still go on in the next read.
                        self.incomplete = true;
                    } else {
                        // Only blanks.
                        used = input.len();
                        self.scan.reset();
                    }
                    break;
                }
                Found::Value(end) => {
                    self.scanned += end as u64;
                    self.scan.reset();
                    used += end;
                    match self.parse_value(&rest[..end]) {
                        Ok(fast::Parsed::Usual(request)) => self.handle_fast(request, ops, out),
                        Ok(fast::Parsed::Other(v)) => self.handle(v, ops, out),
                        Err(e) => {
                            // The value's end is known: the next one is read
                            // from there, as QEMU does.
                            let text = parse_errors::parse_error_text(&e, &rest[..end]);
                            reply_error(out, None, &generic(text));
                        }
                    }
                }
                Found::TooDeep(end) => {
                    // QEMU's words for its own (deeper) limit; the whole
                    // value is one error, the next one is read after it.
                    self.scanned += end as u64;
                    self.scan.reset();
                    used += end;
                    reply_error(out, None, &generic(parse_errors::TOO_DEEP));
                }
                Found::Error(at) => {
                    self.scanned += at as u64 + 1;
                    self.scan.reset();
                    let mut values =
                        serde_json::Deserializer::from_slice(&rest[..=at]).into_iter::<Value>();
                    let text = match values.next() {
                        Some(Err(e)) if !e.is_eof() => {
                            parse_errors::parse_error_text(&e, &rest[..=at])
                        }
                        _ => format!("JSON parse error, unexpected byte 0x{:02x}", rest[at]),
                    };
                    reply_error(out, None, &generic(text));
                    // Resynchronise after the end of the line the error is on.
                    used = self.skip_line(&input, used + at);
                }
            }
        }
        self.input = input;
        self.input.drain(..used);
        if self.input.is_empty() {
            // Keep no large allocation behind an idle connection.
            self.input.shrink_to(4096);
        }
    }

    /// The input offset after the end of the line that `at` is on; without
    /// a newline yet, all of it, and the rest of the line is dropped as it
    /// arrives.
    fn skip_line(&mut self, input: &[u8], at: usize) -> usize {
        match input[at..].iter().position(|&b| b == b'\n') {
            Some(p) => at + p + 1,
            None => {
                self.skipping = true;
                input.len()
            }
        }
    }

    /// `value` parsed once: a request of the usual shape for
    /// [`Connection::handle_fast`], anything else as a `Value`.
    fn parse_value<'a>(&mut self, value: &'a [u8]) -> serde_json::Result<fast::Parsed<'a>> {
        let plain = |value| serde_json::from_slice::<strict::Strict>(value).map(|v| v.0);
        #[cfg(test)]
        if self.value_path_only {
            return plain(value).map(fast::Parsed::Other);
        }
        fast::parse(value).or_else(|_| {
            // A repeated key, or what is not expected (see the caller): the
            // plain parse decides, as before, and is counted.
            self.scanned += value.len() as u64;
            plain(value).map(fast::Parsed::Other)
        })
    }

    /// A request of the usual shape: what [`Connection::handle`] does with
    /// the same request as a `Value` (no member error is possible).
    fn handle_fast(&mut self, req: fast::Request, ops: &mut dyn FdSetOps, out: &mut Vec<u8>) {
        let args = Args::new(args::Source::Pairs(&req.arguments));
        match self.run(&req.execute, args, ops) {
            Ok(ret) => self.reply(out, &ret, req.id.as_ref()),
            Err(e) => reply_error(out, req.id.as_ref(), &e),
        }
    }

    fn handle(&mut self, request: Value, ops: &mut dyn FdSetOps, out: &mut Vec<u8>) {
        let Value::Object(req) = request else {
            reply_error(out, None, &generic("QMP input must be a JSON object"));
            return;
        };
        let id = req.get("id");
        match self.dispatch(&req, ops) {
            Ok(ret) => self.reply(out, &ret, id),
            Err(e) => reply_error(out, id, &e),
        }
    }

    fn dispatch(&mut self, req: &Map<String, Value>, ops: &mut dyn FdSetOps) -> Ret {
        let mut command = None;
        let mut arguments = None;
        for (k, v) in req {
            match k.as_str() {
                "execute" => match v {
                    Value::String(s) => command = Some(s.as_str()),
                    _ => return Err(generic("QMP input member 'execute' must be a string")),
                },
                "arguments" => match v {
                    Value::Object(m) => arguments = Some(m),
                    _ => return Err(generic("QMP input member 'arguments' must be an object")),
                },
                "id" => {}
                other => return Err(generic(format!("QMP input member '{other}' is unexpected"))),
            }
        }
        let command = command.ok_or_else(|| generic("QMP input lacks member 'execute'"))?;
        let empty = Map::new();
        let args = Args::new(args::Source::Map(arguments.unwrap_or(&empty)));
        self.run(command, args, ops)
    }

    /// Run `command`, its members checked.
    fn run(&mut self, command: &str, args: Args, ops: &mut dyn FdSetOps) -> Ret {
        if !self.negotiated && command != "qmp_capabilities" {
            return Err(not_found(NEED_CAPABILITIES.to_string()));
        }
        match command {
            "qmp_capabilities" => commands::qmp_capabilities(args, &mut self.negotiated),
            "add-fd" => commands::add_fd(args, &mut self.fds, ops),
            "remove-fd" => commands::remove_fd(args, ops),
            "query-fdsets" => commands::query_fdsets(args, ops, &mut self.sets),
            members::X_QUERY_FDSET_MEMBERS => members::x_query_fdset_members(args, ops),
            "cont" => commands::cont(args, ops),
            "query-version" => commands::query_version(args),
            "query-commands" => commands::query_commands(args),
            other => Err(not_found(format!("The command {other} has not been found"))),
        }
    }
}

impl Connection {
    /// The `return` line of `answer`.
    fn reply(&self, out: &mut Vec<u8>, answer: &Answer, id: Option<&Value>) {
        reply_with(out, "return", id, |out| match answer {
            Answer::Text(t) => out.extend_from_slice(t.as_bytes()),
            Answer::Sets => json_text::write_query_fdsets(out, &self.sets),
        });
    }
}

/// `{"KEY": VALUE, "id": ID}` and the line end, the value written by
/// `value` straight into `out` (a large value is written once).
fn reply_with(out: &mut Vec<u8>, key: &str, id: Option<&Value>, value: impl FnOnce(&mut Vec<u8>)) {
    // Keys are "return" and "error": nothing to escape.
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\": ");
    value(out);
    if let Some(id) = id {
        let mut t = String::new();
        json_text::write_value(&mut t, id);
        out.extend_from_slice(b", \"id\": ");
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(b"}\r\n");
}

fn reply_error(out: &mut Vec<u8>, id: Option<&Value>, e: &QmpError) {
    let err = Obj::new()
        .field("class", e.class)
        .field("desc", e.desc.as_str())
        .end();
    reply_with(out, "error", id, |out| {
        out.extend_from_slice(err.as_bytes())
    });
}

/// Lower-case hex of `b` (carried input bytes need not be UTF-8).
pub fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The inverse of [`hex_encode`]; `None` for anything else.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}
