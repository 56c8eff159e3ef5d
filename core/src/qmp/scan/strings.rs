//! The scanner inside a string: UTF-8 sequences (RFC 3629, as serde_json
//! checks them), escapes and surrogate pairs.

use super::*;

impl Scanner {
    /// Inside a string: its bytes, UTF-8 sequences, the byte after a backslash.
    pub(super) fn string_step(&mut self, b: u8) -> Step {
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
    pub(super) fn escape_step(&mut self, b: u8) -> Step {
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
