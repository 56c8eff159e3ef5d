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
fn split_opts(spec: &str) -> Result<Vec<(String, String)>, String> {
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

fn parse_number(key: &str, value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("Parameter '{key}' expects a number"))
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
    pub fn check(&self, fd_is_inheritable: impl Fn(i32) -> bool) -> Result<(i32, u64), &'static str> {
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
