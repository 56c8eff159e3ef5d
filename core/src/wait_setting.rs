//! `FDSET_WAIT` (spec section 5): whether the program's `main` waits for a
//! monitor's `cont`. Read by the shim, and by fdset-run, which refuses a
//! value the shim would refuse before it opens anything.

/// `1`: wait; `0`, empty or unset: do not.
pub fn parse_wait(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("") | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(v) => Err(format!("FDSET_WAIT: expected 0 or 1, got '{v}'")),
    }
}

/// Why a program told to wait could never start: nobody could send `cont`.
pub const WAIT_WITHOUT_MONITOR: &str =
    "FDSET_WAIT=1 needs FDSET_CONTROL_FD: nobody could send 'cont'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_wait(None), Ok(false));
        assert_eq!(parse_wait(Some("")), Ok(false));
        assert_eq!(parse_wait(Some("0")), Ok(false));
        assert_eq!(parse_wait(Some("1")), Ok(true));
        assert_eq!(
            parse_wait(Some("yes")),
            Err("FDSET_WAIT: expected 0 or 1, got 'yes'".to_string())
        );
    }
}
