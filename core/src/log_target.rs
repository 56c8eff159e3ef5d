//! `FDSET_LOG` (spec section 5): where the shim's decision lines go.

/// A valid `FDSET_LOG` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// `1`: standard error.
    Stderr,
    /// An absolute path: lines are appended to that file (created 0600 when
    /// missing), for programs whose stderr is taken.
    File(Vec<u8>),
}

impl LogTarget {
    /// Parse a value; any other value than `1` or an absolute path is
    /// refused with a message that says what is accepted.
    pub fn parse(value: &[u8]) -> Result<LogTarget, String> {
        match value {
            b"1" => Ok(LogTarget::Stderr),
            [b'/', ..] if !value.contains(&0) => Ok(LogTarget::File(value.to_vec())),
            _ => Err(format!(
                "FDSET_LOG={}: expected 1 (log to stderr) or an absolute file path (append to it)",
                String::from_utf8_lossy(value)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_absolute_paths_and_nothing_else() {
        assert_eq!(LogTarget::parse(b"1"), Ok(LogTarget::Stderr));
        assert_eq!(
            LogTarget::parse(b"/tmp/fdset.log"),
            Ok(LogTarget::File(b"/tmp/fdset.log".to_vec()))
        );
        for bad in [
            &b""[..],
            b"0",
            b"yes",
            b"2",
            b"tmp/x.log",
            b"./x",
            b" 1",
            b"/a\0b",
        ] {
            let e = LogTarget::parse(bad).unwrap_err();
            assert!(e.starts_with("FDSET_LOG="), "{e}");
            assert!(e.contains("absolute file path"), "{e}");
        }
    }
}
