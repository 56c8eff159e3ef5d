//! An incremental JSON scanner: it reads each received byte once, keeping
//! its state (inside a string, after a backslash, the open brackets, the
//! part of a number or literal) across reads, and says where the next
//! top-level value ends, or at which byte the input stops being JSON. Only
//! then does serde_json parse that value, once. So the work for a
//! connection is linear in the bytes it received, however they are split
//! (spec section 3).
//!
//! The grammar is serde_json's, as `StreamDeserializer` applies it to a
//! stream of values: the same blanks, numbers, escapes, UTF-8 rules,
//! surrogate pairs and the delimiter a top-level number or literal must be
//! followed by. Where serde_json would report an error, the scanner stops
//! at the same byte, so resynchronising at the end of that byte's line is
//! what a parse of the whole buffer would do. A value nested deeper than
//! serde_json parses (127) is scanned to its end and reported as one
//! ([`Found::TooDeep`]): one error for one request, however many lines it
//! spans (the depth is bounded by the connection's limit on a value's size).

mod numbers;
mod strings;

/// Containers nested deeper than this make the value [`Found::TooDeep`]
/// (serde_json's limit).
const MAX_DEPTH: usize = 127;

/// What the scanner found in the bytes given so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing decided yet: the value (or the blanks) may go on.
    Pending,
    /// A complete top-level value ends before this offset (exclusive),
    /// counted from the start of the value's input.
    Value(usize),
    /// The byte at this offset can not be part of any JSON stream here.
    Error(usize),
    /// A complete top-level value ends before this offset, nested deeper
    /// than [`MAX_DEPTH`]: too deep to parse.
    TooDeep(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Str {
    Key,
    Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before a top-level value (blanks are skipped).
    Top,
    /// A value must come (after `:`, or after `,` in an array).
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value in a container: `,` or its closing bracket.
    Next,
    /// Inside a string.
    Str(Str),
    /// After a backslash in a string.
    Escape(Str),
    /// Hex digits of `\u`: how many are left, the code so far, and whether
    /// this is the low half of a surrogate pair.
    Hex {
        s: Str,
        left: u8,
        code: u32,
        low: bool,
    },
    /// After a high surrogate escape: `\` must follow...
    LowBackslash(Str),
    /// ...then `u`.
    LowU(Str),
    /// Continuation bytes of a UTF-8 sequence: how many are left, and the
    /// range the next one must lie in (overlong forms and surrogates are
    /// excluded by the first).
    Utf8 {
        s: Str,
        left: u8,
        lo: u8,
        hi: u8,
    },
    /// The parts of a number.
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpInt,
    /// A literal (`true`, `false`, `null`): the word and how much matched.
    Lit {
        word: &'static [u8],
        at: u8,
    },
    /// A top-level number or literal is complete; the next byte must be a
    /// delimiter.
    ScalarDone,
}

/// The scanner's state between reads: where it stopped and what it was in.
#[derive(Clone, Debug)]
pub(crate) struct Scanner {
    /// Bytes of the current value's input examined so far.
    pos: usize,
    state: State,
    /// Open containers, innermost last: true for an object.
    stack: Vec<bool>,
    /// Where the number being scanned started (checked for range when it ends).
    number_start: usize,
    /// The string being scanned is not UTF-8: serde_json says so at its
    /// closing quote.
    bad_utf8: bool,
    /// The current value went deeper than [`MAX_DEPTH`].
    too_deep: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            pos: 0,
            state: State::Top,
            stack: Vec::new(),
            number_start: 0,
            bad_utf8: false,
            too_deep: false,
        }
    }
}

/// A byte that goes on a string and changes nothing: printable ASCII but
/// the quote and the backslash.
fn plain(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

fn blank(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r')
}

/// What may follow a top-level number or literal in a stream of values.
fn delimiter(b: u8) -> bool {
    blank(b) || matches!(b, b'"' | b'[' | b']' | b'{' | b'}' | b',' | b':')
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// A `\u` escape with a byte among its four that is not a hex digit.
const BAD_HEX: u32 = u32::MAX;

impl Scanner {
    /// Bytes of the current value's input examined so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Start over at a value boundary: the next byte is offset 0.
    pub(crate) fn reset(&mut self) {
        self.pos = 0;
        self.state = State::Top;
        self.stack.clear();
        self.too_deep = false;
    }

    /// Whether a value has begun (something other than blanks was seen).
    pub(crate) fn in_value(&self) -> bool {
        self.state != State::Top
    }

    /// Examine `input[self.position()..]` (the whole input of the current
    /// value, from its first byte or the blanks before it). Each byte is
    /// examined once over all calls, up to what is returned.
    pub(crate) fn scan(&mut self, input: &[u8]) -> Found {
        while self.pos < input.len() {
            if let State::Str(_) = self.state {
                // A run of bytes that only go on the string, at once (the
                // step of each would be `Step::Next` and no state change).
                let rest = &input[self.pos..];
                self.pos += rest.iter().position(|&b| !plain(b)).unwrap_or(rest.len());
                if self.pos == input.len() {
                    break;
                }
            }
            let b = input[self.pos];
            match self.step(b, input) {
                Step::Next => self.pos += 1,
                Step::Again => {}
                Step::Done(f) => return f,
            }
        }
        Found::Pending
    }

    /// A value (string, container, number or literal) ended; `end` is the
    /// offset after it.
    fn value_end(&mut self, end: usize) -> Option<Found> {
        if self.stack.is_empty() {
            Some(if self.too_deep {
                Found::TooDeep(end)
            } else {
                Found::Value(end)
            })
        } else {
            self.state = State::Next;
            None
        }
    }

    /// A value starts with `b` (state was Top, Value or ValueOrClose).
    fn begin_value(&mut self, b: u8) -> Step {
        let pos = self.pos;
        match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    self.too_deep = true;
                }
                self.stack.push(b == b'{');
                self.state = if b == b'{' {
                    State::KeyOrClose
                } else {
                    State::ValueOrClose
                };
            }
            b'"' => {
                self.bad_utf8 = false;
                self.state = State::Str(Str::Value);
            }
            b'-' => {
                self.number_start = pos;
                self.state = State::Minus;
            }
            b'0' => {
                self.number_start = pos;
                self.state = State::Zero;
            }
            b'1'..=b'9' => {
                self.number_start = pos;
                self.state = State::Int;
            }
            b't' => {
                self.state = State::Lit {
                    word: b"true",
                    at: 1,
                }
            }
            b'f' => {
                self.state = State::Lit {
                    word: b"false",
                    at: 1,
                }
            }
            b'n' => {
                self.state = State::Lit {
                    word: b"null",
                    at: 1,
                }
            }
            _ => return Step::Done(Found::Error(pos)),
        }
        Step::Next
    }

    fn close(&mut self, object: bool) -> Step {
        if self.stack.pop() != Some(object) {
            return Step::Done(Found::Error(self.pos));
        }
        match self.value_end(self.pos + 1) {
            Some(f) => Step::Done(f),
            None => Step::Next,
        }
    }

    fn step(&mut self, b: u8, input: &[u8]) -> Step {
        match self.state {
            State::Top
            | State::Value
            | State::ValueOrClose
            | State::KeyOrClose
            | State::Key
            | State::Colon
            | State::Next => self.structure_step(b),
            State::Str(_) | State::Utf8 { .. } | State::Escape(_) => self.string_step(b),
            State::Hex { .. } | State::LowBackslash(_) | State::LowU(_) => self.escape_step(b),
            State::Minus
            | State::Zero
            | State::Int
            | State::Dot
            | State::Frac
            | State::Exp
            | State::ExpSign
            | State::ExpInt => self.number_step(b, input),
            State::Lit { .. } | State::ScalarDone => self.literal_step(b),
        }
    }

    /// Between values: blanks, brackets, keys, `:` and `,`.
    fn structure_step(&mut self, b: u8) -> Step {
        let pos = self.pos;
        let err = Step::Done(Found::Error(pos));
        match self.state {
            State::Top => {
                if blank(b) {
                    return Step::Next;
                }
                self.begin_value(b)
            }
            State::Value => {
                if blank(b) {
                    return Step::Next;
                }
                self.begin_value(b)
            }
            State::ValueOrClose => match b {
                _ if blank(b) => Step::Next,
                b']' => self.close(false),
                _ => self.begin_value(b),
            },
            State::KeyOrClose => match b {
                _ if blank(b) => Step::Next,
                b'}' => self.close(true),
                b'"' => {
                    self.bad_utf8 = false;
                    self.state = State::Str(Str::Key);
                    Step::Next
                }
                _ => err,
            },
            State::Key => match b {
                _ if blank(b) => Step::Next,
                b'"' => {
                    self.bad_utf8 = false;
                    self.state = State::Str(Str::Key);
                    Step::Next
                }
                _ => err,
            },
            State::Colon => match b {
                _ if blank(b) => Step::Next,
                b':' => {
                    self.state = State::Value;
                    Step::Next
                }
                _ => err,
            },
            State::Next => {
                let object = *self.stack.last().unwrap_or(&false);
                match b {
                    _ if blank(b) => Step::Next,
                    b',' => {
                        self.state = if object { State::Key } else { State::Value };
                        Step::Next
                    }
                    b'}' if object => self.close(true),
                    b']' if !object => self.close(false),
                    _ => err,
                }
            }
            // The other states are dispatched elsewhere by `step`.
            _ => err,
        }
    }

    /// `true`, `false`, `null`, and the delimiter after a top-level scalar.
    fn literal_step(&mut self, b: u8) -> Step {
        let pos = self.pos;
        let err = Step::Done(Found::Error(pos));
        match self.state {
            State::Lit { word, at } => {
                if word.get(at as usize) != Some(&b) {
                    return err;
                }
                if at as usize + 1 < word.len() {
                    self.state = State::Lit { word, at: at + 1 };
                    return Step::Next;
                }
                if self.stack.is_empty() {
                    self.state = State::ScalarDone;
                } else {
                    self.state = State::Next;
                }
                Step::Next
            }
            State::ScalarDone => {
                if delimiter(b) {
                    Step::Done(Found::Value(pos))
                } else {
                    err
                }
            }
            // The other states are dispatched elsewhere by `step`.
            _ => err,
        }
    }
}

/// What one byte did.
enum Step {
    /// Consumed: go on with the next byte.
    Next,
    /// Not consumed: examine it again in the new state.
    Again,
    /// Stop here.
    Done(Found),
}
