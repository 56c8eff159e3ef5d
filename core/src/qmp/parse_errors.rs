//! The text of a `JSON parse error, ...` reply (spec section 3, malformed
//! JSON): serde_json's own words, except where they would mislead or where
//! QEMU 7.2 names the same fault in words of its own.

use super::strict;

/// QEMU's words for a value nested deeper than its parser takes.
pub(super) const TOO_DEEP: &str = "JSON nesting depth limit exceeded";

/// The `desc` of the reply to `value` (its input up to where parsing
/// stopped), which serde_json refused with `e`.
pub(super) fn parse_error_text(e: &serde_json::Error, value: &[u8]) -> String {
    let said = e.to_string();
    if said.starts_with(strict::DUPLICATE) {
        // A key repeated in an object: QEMU's words, without serde's place.
        return format!("JSON parse error, {}", strict::DUPLICATE);
    }
    if said.starts_with("recursion limit exceeded") {
        // Nested deeper than the limit before it stopped being JSON: the
        // limit is what the parser met first, in the words a well-formed
        // value that deep gets.
        return TOO_DEEP.to_string();
    }
    if said.starts_with("unexpected end of hex escape")
        || said.starts_with("lone leading surrogate in hex escape")
    {
        // serde_json says this of a `\uD800` that no trailing surrogate
        // follows, whose escape did not end early: QEMU names the escape.
        if let Some(escape) = first_unpaired_surrogate(value) {
            return format!("JSON parse error, {escape} is not a valid Unicode character");
        }
    }
    format!("JSON parse error, {said}")
}

/// The four hex digits after `\u` at `at`, if there are four.
fn hex4(value: &[u8], at: usize) -> Option<u32> {
    let digits = value.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// The first `\uXXXX` escape in a string of `value` that is a surrogate
/// not in a pair (a leading one without a trailing one right after it, or
/// a trailing one alone), as written.
fn first_unpaired_surrogate(value: &[u8]) -> Option<&str> {
    let leading = 0xD800..=0xDBFF;
    let trailing = 0xDC00..=0xDFFF;
    let mut in_string = false;
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'"' => {
                in_string = !in_string;
                i += 1;
            }
            b'\\' if in_string && value.get(i + 1) == Some(&b'u') => {
                let cp = hex4(value, i + 2)?;
                if leading.contains(&cp) {
                    let pair = value.get(i + 6..i + 8) == Some(b"\\u")
                        && hex4(value, i + 8).is_some_and(|t| trailing.contains(&t));
                    if !pair {
                        return std::str::from_utf8(&value[i..i + 6]).ok();
                    }
                    i += 12;
                } else if trailing.contains(&cp) {
                    return std::str::from_utf8(&value[i..i + 6]).ok();
                } else {
                    i += 6;
                }
            }
            b'\\' if in_string => i += 2,
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn text(input: &str) -> String {
        let e = serde_json::from_str::<Value>(input).unwrap_err();
        parse_error_text(&e, input.as_bytes())
    }

    // Spec 3, malformed JSON: a lone surrogate is named as QEMU 7.2 names
    // it, where serde_json would speak of an escape ending early.
    #[test]
    fn an_unpaired_surrogate_is_named() {
        for (input, escape) in [
            (r#"{"id": "\ud800"}"#, r"\ud800"),
            (r#"{"id": "\uD800x"}"#, r"\uD800"),
            (r#"{"id": "\ud800\u0041"}"#, r"\ud800"),
            (r#"{"id": "\ud800\ud800"}"#, r"\ud800"),
            (r#"{"id": "\udc00"}"#, r"\udc00"),
            (
                r#"{"a": "\ud83d\ude00 \u00e9 \\u", "id": "\udfff"}"#,
                r"\udfff",
            ),
        ] {
            assert_eq!(
                text(input),
                format!("JSON parse error, {escape} is not a valid Unicode character"),
                "{input}"
            );
        }
        // A pair is a character: no error to name.
        assert!(serde_json::from_str::<Value>(r#""\ud83d\ude00""#).is_ok());
    }

    // Spec 3, malformed JSON: too deep before it went wrong is the depth
    // error, as for a well-formed value that deep.
    #[test]
    fn too_deep_then_malformed_is_the_depth_error() {
        let input = format!("{}x", "[".repeat(200));
        assert_eq!(text(&input), TOO_DEEP);
        // Malformed before the limit: the fault itself.
        let input = format!("{}x", "[".repeat(20));
        assert!(text(&input).starts_with("JSON parse error, expected value"));
    }

    // Other faults keep serde_json's words and place.
    #[test]
    fn other_faults_keep_serde_words() {
        assert_eq!(
            text(r#"{"id": 1e400}"#),
            "JSON parse error, number out of range at line 1 column 12"
        );
        let twice = r#"{"a": 1, "a": 2}"#;
        let e = serde_json::from_str::<strict::Strict>(twice).err().unwrap();
        assert_eq!(
            parse_error_text(&e, twice.as_bytes()),
            "JSON parse error, duplicate key"
        );
    }
}
