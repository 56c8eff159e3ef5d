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
//! surrogate pairs, nesting limit (127) and the delimiter a top-level number
//! or literal must be followed by. Where serde_json would report an error,
//! the scanner stops at the same byte, so resynchronising at the end of that
//! byte's line is what a parse of the whole buffer would do.

/// Containers nested deeper than this are an error (serde_json's limit).
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
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            pos: 0,
            state: State::Top,
            stack: Vec::new(),
            number_start: 0,
            bad_utf8: false,
        }
    }
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
            Some(Found::Value(end))
        } else {
            self.state = State::Next;
            None
        }
    }

    /// A number ended at `self.pos` (exclusive): serde_json refuses one
    /// that does not fit an f64 (`1e400`), at that number.
    fn number_end(&mut self, input: &[u8]) -> Step {
        let text = &input[self.number_start..self.pos];
        if serde_json::from_slice::<serde_json::Value>(text).is_err() {
            return Step::Done(Found::Error(self.pos - 1));
        }
        if self.stack.is_empty() {
            self.state = State::ScalarDone;
        } else {
            self.state = State::Next;
        }
        Step::Again
    }

    /// A value starts with `b` (state was Top, Value or ValueOrClose).
    fn begin_value(&mut self, b: u8) -> Step {
        let pos = self.pos;
        match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Step::Done(Found::Error(pos));
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

    /// The byte after a complete number part: digits continue it, anything
    /// else ends it (and is examined again in the state after the number).
    fn number_more(&mut self, b: u8, input: &[u8], next: State, dot: bool, exp: bool) -> Step {
        match b {
            b'0'..=b'9' => {
                self.state = next;
                Step::Next
            }
            b'.' if dot => {
                self.state = State::Dot;
                Step::Next
            }
            b'e' | b'E' if exp => {
                self.state = State::Exp;
                Step::Next
            }
            _ => self.number_end(input),
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

    /// Inside a string: its bytes, UTF-8 sequences, the byte after a backslash.
    fn string_step(&mut self, b: u8) -> Step {
        let pos = self.pos;
        let err = Step::Done(Found::Error(pos));
        match self.state {
            State::Str(s) => match b {
                b'"' if self.bad_utf8 => err,
                b'"' => match s {
                    Str::Key => {
                        self.state = State::Colon;
                        Step::Next
                    }
                    Str::Value => match self.value_end(pos + 1) {
                        Some(f) => Step::Done(f),
                        None => Step::Next,
                    },
                },
                b'\\' => {
                    self.state = State::Escape(s);
                    Step::Next
                }
                0x00..=0x1f => err,
                0x20..=0x7f => Step::Next,
                _ => self.utf8_lead(s, b),
            },
            State::Utf8 { s, left, lo, hi } => {
                if !(lo..=hi).contains(&b) {
                    // Not a continuation: the byte is the string's again.
                    self.bad_utf8 = true;
                    self.state = State::Str(s);
                    return Step::Again;
                }
                self.state = if left == 1 {
                    State::Str(s)
                } else {
                    State::Utf8 {
                        s,
                        left: left - 1,
                        lo: 0x80,
                        hi: 0xbf,
                    }
                };
                Step::Next
            }
            State::Escape(s) => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    self.state = State::Str(s);
                    Step::Next
                }
                b'u' => {
                    self.state = State::Hex {
                        s,
                        left: 4,
                        code: 0,
                        low: false,
                    };
                    Step::Next
                }
                _ => err,
            },
            // The other states are dispatched elsewhere by `step`.
            _ => err,
        }
    }

    /// The four hex digits of a `\\u` escape, and the second half of a surrogate pair.
    fn escape_step(&mut self, b: u8) -> Step {
        let pos = self.pos;
        let err = Step::Done(Found::Error(pos));
        match self.state {
            State::Hex { s, left, code, low } => {
                // serde_json takes the four bytes of `\u` first, whatever they
                // are, and judges them together (an error is at the fourth).
                let code = match (code, hex(b)) {
                    (BAD_HEX, _) | (_, None) => BAD_HEX,
                    (c, Some(d)) => c << 4 | d,
                };
                if left > 1 {
                    self.state = State::Hex {
                        s,
                        left: left - 1,
                        code,
                        low,
                    };
                    return Step::Next;
                }
                if code == BAD_HEX {
                    return err;
                }
                let code = code as u16;
                let high_half = (0xd800..0xdc00).contains(&code);
                let low_half = (0xdc00..0xe000).contains(&code);
                self.state = match (low, high_half, low_half) {
                    // The second half of a pair must be a low surrogate.
                    (true, _, true) => State::Str(s),
                    (true, _, false) => return err,
                    (false, true, _) => State::LowBackslash(s),
                    (false, _, true) => return err,
                    (false, false, false) => State::Str(s),
                };
                Step::Next
            }
            State::LowBackslash(s) => {
                if b != b'\\' {
                    return err;
                }
                self.state = State::LowU(s);
                Step::Next
            }
            State::LowU(s) => {
                if b != b'u' {
                    return err;
                }
                self.state = State::Hex {
                    s,
                    left: 4,
                    code: 0,
                    low: true,
                };
                Step::Next
            }
            // The other states are dispatched elsewhere by `step`.
            _ => err,
        }
    }

    /// The parts of a number (serde_json's grammar: no leading zeros, digits after `.` and `e`).
    fn number_step(&mut self, b: u8, input: &[u8]) -> Step {
        let pos = self.pos;
        let err = Step::Done(Found::Error(pos));
        match self.state {
            State::Minus => match b {
                b'0' => {
                    self.state = State::Zero;
                    Step::Next
                }
                b'1'..=b'9' => {
                    self.state = State::Int;
                    Step::Next
                }
                _ => err,
            },
            State::Zero => match b {
                // serde_json: no leading zeros.
                b'0'..=b'9' => err,
                _ => self.number_more(b, input, State::Zero, true, true),
            },
            State::Int => self.number_more(b, input, State::Int, true, true),
            State::Dot => match b {
                b'0'..=b'9' => {
                    self.state = State::Frac;
                    Step::Next
                }
                _ => err,
            },
            State::Frac => self.number_more(b, input, State::Frac, false, true),
            State::Exp => match b {
                b'+' | b'-' => {
                    self.state = State::ExpSign;
                    Step::Next
                }
                b'0'..=b'9' => {
                    self.state = State::ExpInt;
                    Step::Next
                }
                _ => err,
            },
            State::ExpSign => match b {
                b'0'..=b'9' => {
                    self.state = State::ExpInt;
                    Step::Next
                }
                _ => err,
            },
            State::ExpInt => self.number_more(b, input, State::ExpInt, false, false),
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

    /// The first byte of a multi-byte UTF-8 sequence in a string, with the
    /// range its second byte must lie in (RFC 3629).
    fn utf8_lead(&mut self, s: Str, b: u8) -> Step {
        let (left, lo, hi) = match b {
            0xc2..=0xdf => (1, 0x80, 0xbf),
            0xe0 => (2, 0xa0, 0xbf),
            0xe1..=0xec | 0xee..=0xef => (2, 0x80, 0xbf),
            0xed => (2, 0x80, 0x9f),
            0xf0 => (3, 0x90, 0xbf),
            0xf1..=0xf3 => (3, 0x80, 0xbf),
            0xf4 => (3, 0x80, 0x8f),
            _ => {
                self.bad_utf8 = true;
                return Step::Next;
            }
        };
        self.state = State::Utf8 { s, left, lo, hi };
        Step::Next
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
