//! Spec section 3: "The work the helper does for a connection is linear in
//! the bytes it received (an unfinished value sent in tiny pieces is never
//! re-parsed from its start)". Counted, not timed: `Connection::bytes_scanned`
//! is every byte the parser examined, all attempts included. And the parser
//! answers exactly as a plain re-parse of the whole buffer would (a model of
//! the parser before it scanned incrementally), however the bytes are split.

use fdset_core::qmp::{Connection, FdSetOps, Feed, MAX_INPUT};
use fdset_core::registry::{RawFd, SetDetail, SetView};
use proptest::prelude::*;
use serde_json::Value;

/// No sets and no fds: the commands these tests send need none.
struct NoSets;

impl FdSetOps for NoSets {
    fn add_fd(
        &mut self,
        _: RawFd,
        _: Option<u64>,
        _: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        unreachable!("no fd is ever queued")
    }
    fn remove_fd(&mut self, _: u64, _: Option<RawFd>) -> bool {
        false
    }
    fn query_fdsets(&mut self) -> Vec<SetView> {
        Vec::new()
    }
    fn query_fdset_members(&mut self) -> Vec<SetDetail> {
        Vec::new()
    }
    fn cont(&mut self) {}
    fn close_fd(&mut self, _: RawFd) {
        unreachable!("no fd is ever queued")
    }
}

fn negotiated() -> Connection {
    let mut c = Connection::new();
    let mut out = Vec::new();
    c.feed(b"{\"execute\":\"qmp_capabilities\"}", &mut NoSets, &mut out);
    assert_eq!(out, b"{\"return\": {}}\r\n");
    c
}

/// Feed `head`, then `piece` over and over (about `total` bytes), then
/// `tail`; after every feed the bytes examined so far must stay within
/// twice the bytes received (each byte is scanned once and parsed once),
/// plus what negotiation took. Returns the output of the tail.
fn fed_in_pieces(head: &[u8], piece: &[u8], total: usize, tail: &[u8]) -> Vec<u8> {
    let mut c = negotiated();
    let start = c.bytes_scanned();
    let mut fed = 0u64;
    let mut out = Vec::new();
    let feed = |c: &mut Connection, bytes: &[u8], out: &mut Vec<u8>, fed: &mut u64| {
        assert_eq!(c.feed(bytes, &mut NoSets, out), Feed::Open);
        *fed += bytes.len() as u64;
        let work = c.bytes_scanned() - start;
        assert!(
            work <= 2 * *fed + 16,
            "{work} bytes examined for {fed} bytes received"
        );
    };
    feed(&mut c, head, &mut out, &mut fed);
    while (fed as usize) < total {
        feed(&mut c, piece, &mut out, &mut fed);
    }
    assert!(out.is_empty(), "no reply before the value ends");
    feed(&mut c, tail, &mut out, &mut fed);
    out
}

/// The shapes a slow client (or an attacker) could send: each piece holds
/// a byte that may end a value (a comma, a blank, a quote, a bracket).
#[test]
fn unfinished_value_in_two_byte_pieces_is_scanned_once() {
    let total = MAX_INPUT - 4096;
    // An array id growing by "1," per read.
    let out = fed_in_pieces(b"{\"execute\":\"cont\",\"id\":[", b"1,", total, b"1]}");
    assert!(
        out.starts_with(b"{\"return\": {}, \"id\": [1, 1, 1"),
        "{}",
        String::from_utf8_lossy(&out[..40])
    );
    // A string id with commas and blanks in it.
    let out = fed_in_pieces(b"{\"execute\":\"cont\",\"id\":\"", b", ", total, b"\"}");
    assert!(out.starts_with(b"{\"return\": {}, \"id\": \", , "));
    // Escaped quotes.
    let out = fed_in_pieces(b"{\"execute\":\"cont\",\"id\":\"", b"\\\"", total, b"\"}");
    assert!(out.starts_with(b"{\"return\": {}, \"id\": \"\\\"\\\""));
    // Nested arrays, closed at the end (within the depth serde_json allows).
    let mut head = b"{\"execute\":\"cont\",\"id\":".to_vec();
    head.extend(std::iter::repeat_n(b'[', 100));
    let mut tail = vec![b'0'];
    tail.extend(std::iter::repeat_n(b']', 100));
    tail.push(b'}');
    let out = fed_in_pieces(&head, b"  ", total, &tail);
    assert!(out.starts_with(b"{\"return\": {}, \"id\": [[[["));
    // Blanks between values (nothing is pending at all).
    let out = fed_in_pieces(b" ", b"\n ", total, b"{\"execute\":\"cont\",\"id\":1}");
    assert_eq!(out, b"{\"return\": {}, \"id\": 1}\r\n");
}

/// Many small commands in one read are answered in one pass (the buffer is
/// not shifted once per command).
#[test]
fn many_commands_in_one_read_are_linear() {
    let mut c = negotiated();
    let start = c.bytes_scanned();
    let one = b"{\"execute\":\"cont\",\"id\":7}";
    let input: Vec<u8> = one.repeat(20_000);
    let mut out = Vec::new();
    c.feed(&input, &mut NoSets, &mut out);
    assert_eq!(
        out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(),
        20_000
    );
    assert!(c.bytes_scanned() - start <= 2 * input.len() as u64 + 16);
}

// ------------------------------------------------------------ the model

/// What the parser made of the stream: a value to answer, a JSON error, or
/// a value nested deeper than the connection parses (127 containers).
#[derive(Debug)]
enum Event {
    Value(Value),
    ParseError,
    TooDeep,
}

/// How deep containers nest in `v` (0 for a scalar).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// How deep containers nest in `input` (outside strings) before the byte
/// at `line` and `column` (serde_json's place of an error, from 1).
fn deepest_before(input: &[u8], line: usize, column: usize) -> usize {
    let (mut at_line, mut at_column) = (1, 0);
    let (mut depth, mut deepest) = (0usize, 0);
    let (mut in_string, mut escaped) = (false, false);
    for &b in input {
        if b == b'\n' {
            at_line += 1;
            at_column = 0;
        } else {
            at_column += 1;
        }
        if at_line > line || (at_line == line && at_column >= column) {
            break;
        }
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The parser before it scanned incrementally: serde_json over the whole
/// buffered input at every read, without its depth limit (on a thread with
/// a large stack); after an error, input is dropped through the end of the
/// line the error is on; a value nested too deep is one error, and the next
/// value is read after it.
#[derive(Default)]
struct Model {
    input: Vec<u8>,
    skipping: bool,
    events: Vec<Event>,
}

impl Model {
    fn feed(&mut self, mut bytes: &[u8]) {
        if self.skipping {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(p) => {
                    self.skipping = false;
                    bytes = &bytes[p + 1..];
                }
                None => return,
            }
        }
        self.input.extend_from_slice(bytes);
        // Values nested thousands deep are parsed, measured and dropped on
        // a stack made for them.
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn_scoped(s, || self.parse_input())
                .expect("model thread")
                .join()
                .expect("model parse");
        });
    }

    fn parse_input(&mut self) {
        let mut used = 0;
        while used < self.input.len() {
            let rest = &self.input[used..];
            let mut de = serde_json::Deserializer::from_slice(rest);
            de.disable_recursion_limit();
            let mut stream = de.into_iter::<Value>();
            match stream.next() {
                None => used = self.input.len(),
                Some(Ok(v)) => {
                    let end = stream.byte_offset();
                    if end == rest.len()
                        && !matches!(v, Value::Object(_) | Value::Array(_) | Value::String(_))
                    {
                        break;
                    }
                    used += end;
                    self.events.push(if depth(&v) > 127 {
                        Event::TooDeep
                    } else {
                        Event::Value(v)
                    });
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(e)) => {
                    // Containers opened more than 127 deep before the fault:
                    // the depth error, as for a well-formed value that deep.
                    self.events
                        .push(if deepest_before(rest, e.line(), e.column()) > 127 {
                            Event::TooDeep
                        } else {
                            Event::ParseError
                        });
                    let line = if e.column() == 0 {
                        e.line().saturating_sub(1)
                    } else {
                        e.line()
                    };
                    match rest
                        .iter()
                        .enumerate()
                        .filter(|&(_, &b)| b == b'\n')
                        .nth(line.max(1) - 1)
                    {
                        Some((p, _)) => used += p + 1,
                        None => {
                            used = self.input.len();
                            self.skipping = true;
                        }
                    }
                }
            }
        }
        self.input.drain(..used);
    }
}

/// Reply lines, with the text of JSON parse errors (serde_json's wording
/// and positions) reduced to the fact.
fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .split_terminator("\r\n")
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a reply is JSON");
            let desc = v["error"]["desc"].as_str().unwrap_or("");
            if desc.starts_with("JSON parse error, ") {
                assert_eq!(v["error"]["class"], "GenericError");
                assert!(v.get("id").is_none(), "{l}");
                "JSON parse error".to_string()
            } else {
                l.to_string()
            }
        })
        .collect()
}

fn cases() -> u32 {
    if std::env::var("FDSET_STRESS_LONG").is_ok_and(|v| v == "1") {
        200_000
    } else {
        3_000
    }
}

/// Pieces that make JSON, almost-JSON and garbage.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "{", "}", "[", "]", "\"", "\\", ":", ",", " ", "\n", "\r", "\t", "0", "1", "9",
            "-", "+", ".", "e", "E", "true", "fals", "null", "nul", "x", "\\u", "d800",
            "DC00", "\\uD83D\\uDE00", "00", "1e400", "1.5e-3", "\u{e9}", "\u{1F600}",
            "\"execute\"", "\"cont\"", "\"id\"", "\"arguments\"",
            "{\"execute\":\"cont\",\"id\":1}",
            "{\"execute\":\"query-version\"}",
            "{\"execute\": \"add-fd\"}",
            "{\"execute\":\"nope\",\"id\":[1,{\"a\":null}]}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..4),
        1 => prop::sample::select(vec![b"\xff".to_vec(), b"\xc3".to_vec(), b"\xa9".to_vec(), b"\x01".to_vec(), b"\xed\xa0\x80".to_vec()]),
        1 => (1usize..140).prop_map(|n| "[".repeat(n).into_bytes()),
    ]
}

proptest! {
    // 3,000 cases; FDSET_STRESS_LONG=1: 200,000 (README "Guarantees").
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    // Spec section 3: input split across reads anywhere; malformed JSON gets a
    // GenericError and the next well-formed command is served. The answers
    // are those of the model, whatever the split.
    #[test]
    fn answers_as_a_whole_buffer_parse_would(
        pieces in prop::collection::vec(piece(), 0..60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        // Ended by a newline: a number at the very end is answered once it
        // ends (serde_json over the whole buffer would refuse `1e400` there
        // already; the scanner when the number is complete).
        let mut input: Vec<u8> = pieces.concat();
        input.push(b'\n');
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(input.len());

        let mut conn = negotiated();
        let mut model = Model::default();
        let mut out = Vec::new();
        let mut from = 0;
        for c in cuts {
            let (r, _) = (conn.feed(&input[from..c], &mut NoSets, &mut out), ());
            prop_assert_eq!(r, Feed::Open);
            model.feed(&input[from..c]);
            from = c;
        }
        // What the model's values get from a connection fed each of them
        // alone, well-formed, in the same order.
        let mut reference = negotiated();
        let mut expected = Vec::new();
        for e in &model.events {
            match e {
                Event::Value(v) => {
                    let mut text = v.to_string().into_bytes();
                    text.push(b'\n');
                    reference.feed(&text, &mut NoSets, &mut expected);
                }
                Event::ParseError => expected.extend_from_slice(
                    b"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, model\"}}\r\n",
                ),
                Event::TooDeep => expected.extend_from_slice(
                    b"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON nesting depth limit exceeded\"}}\r\n",
                ),
            }
        }
        prop_assert_eq!(lines(&out), lines(&expected), "input {:?}", String::from_utf8_lossy(&input));
        prop_assert_eq!(conn.pending_input(), model.input.len(), "input {:?}", String::from_utf8_lossy(&input));
        prop_assert!(conn.bytes_scanned() <= 2 * input.len() as u64 + 64);
    }
}
