//! `FDSET_ADD_FD` (spec section 4): QEMU's `-add-fd fd=N,set=S[,opaque=TEXT]`
//! syntax, several specs separated by `;`, with QEMU's checks and texts.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddFdSpec {
    /// As written; `None` when absent. Checked by [`AddFdSpec::check`].
    pub fd: Option<i64>,
    pub set: Option<i64>,
    pub opaque: Option<String>,
}

pub const FD_REQUIRED: &str = "fd option is required and must be non-negative";
pub const FD_STDIO: &str = "fd cannot be a standard I/O stream";
pub const FD_INVALID: &str = "fd is not valid or already in use";
pub const SET_REQUIRED: &str = "set option is required and must be non-negative";

/// Split one QemuOpts-style list: `key=value` pairs separated by `,`, where
/// `,,` inside a value stands for one comma.
pub fn split_opts(spec: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = spec.chars().peekable();
    loop {
        let mut key = String::new();
        loop {
            match chars.next() {
                None => break,
                Some('=') => break,
                Some(',') => return Err(format!("Invalid parameter '{key}' (expected key=value)")),
                Some(c) => key.push(c),
            }
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                None => break,
                Some(',') if chars.peek() == Some(&',') => {
                    chars.next();
                    value.push(',');
                }
                Some(',') => break,
                Some(c) => value.push(c),
            }
        }
        if key.is_empty() && value.is_empty() && chars.peek().is_none() {
            break;
        }
        pairs.push((key, value));
        if chars.peek().is_none() {
            break;
        }
    }
    Ok(pairs)
}

/// A number option as QemuOpts reads it: C `strtoull(value, &end, 0)` with
/// nothing after it, so `0x10` is 16 and `010` is 8 (octal), leading white
/// space and a sign are accepted and a negative value wraps (and reads back
/// as the negative i64, which the checks then refuse).
fn parse_number(key: &str, value: &str) -> Result<i64, String> {
    let bad = || format!("Parameter '{key}' expects a number");
    let s = value.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"));
    let (radix, digits) = match hex {
        // "0x" with no hex digit after it: strtoull reads the "0" only.
        Some(h) if h.starts_with(|c: char| c.is_ascii_hexdigit()) => (16, h),
        _ if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
        _ => (10, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    let Ok(n) = u64::from_str_radix(digits, radix) else {
        return Err(format!(
            "Value '{value}' is too large for parameter '{key}'"
        ));
    };
    Ok(if negative { n.wrapping_neg() } else { n } as i64)
}

/// Parse `FDSET_ADD_FD`. Syntax errors are reported here; the value checks
/// (QEMU's order and texts) come from [`AddFdSpec::check`].
pub fn parse_add_fd(env: &str) -> Result<Vec<AddFdSpec>, String> {
    let mut out = Vec::new();
    for item in env.split(';') {
        if item.trim().is_empty() {
            continue;
        }
        let mut spec = AddFdSpec {
            fd: None,
            set: None,
            opaque: None,
        };
        for (key, value) in split_opts(item)? {
            match key.as_str() {
                "fd" => spec.fd = Some(parse_number("fd", &value)?),
                "set" => spec.set = Some(parse_number("set", &value)?),
                "opaque" => spec.opaque = Some(value),
                _ => return Err(format!("Invalid parameter '{key}'")),
            }
        }
        out.push(spec);
    }
    Ok(out)
}

impl AddFdSpec {
    /// QEMU's checks, in QEMU's order. `fd_is_inheritable(fd)` says whether
    /// `fd` is open and not close-on-exec.
    pub fn check(
        &self,
        fd_is_inheritable: impl Fn(i32) -> bool,
    ) -> Result<(i32, u64), &'static str> {
        let fd = match self.fd {
            Some(fd) if fd >= 0 => fd,
            _ => return Err(FD_REQUIRED),
        };
        if fd <= 2 {
            return Err(FD_STDIO);
        }
        let Ok(fd) = i32::try_from(fd) else {
            return Err(FD_INVALID);
        };
        if !fd_is_inheritable(fd) {
            return Err(FD_INVALID);
        }
        match self.set {
            Some(set) if set >= 0 => Ok((fd, set as u64)),
            _ => Err(SET_REQUIRED),
        }
    }
}
