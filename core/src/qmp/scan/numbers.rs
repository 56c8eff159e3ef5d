//! The scanner inside a number: serde_json's grammar (no leading zeros,
//! digits after `.` and `e`) and its range (what fits an f64).

use super::*;

impl Scanner {
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

    /// The parts of a number (serde_json's grammar: no leading zeros, digits after `.` and `e`).
    pub(super) fn number_step(&mut self, b: u8, input: &[u8]) -> Step {
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
}
