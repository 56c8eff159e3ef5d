//! `--user`, `--group`, `--groups` of fdset-run: names resolved through the
//! system's user database (NSS) before anything starts, and the switch to
//! them made of plain system calls only (it runs between fork and exec too).

use super::options::{GroupsRequest, IdentityRequest};
use std::ffi::{CStr, CString};
use std::path::PathBuf;

/// The identity the program is to run with; `None` keeps fdset-run's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub uid: Option<libc::uid_t>,
    pub gid: Option<libc::gid_t>,
    pub groups: Option<Vec<libc::gid_t>>,
    /// From the user database, for `USER`, `LOGNAME` and `HOME`.
    pub user_name: Option<String>,
    pub home: Option<PathBuf>,
    /// The options as written, for messages (`--user nobody`).
    pub shown: String,
}

/// A user database entry.
struct Passwd {
    name: String,
    uid: libc::uid_t,
    gid: libc::gid_t,
    home: PathBuf,
}

/// Calls `f` with a buffer that grows while it answers `ERANGE`, as the
/// `get*_r` functions need.
fn with_buffer<T>(mut f: impl FnMut(&mut [libc::c_char]) -> Result<Option<T>, i32>) -> Option<T> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        match f(&mut buf) {
            Ok(v) => return v,
            Err(libc::ERANGE) if size < (1 << 22) => size *= 4,
            Err(_) => return None,
        }
    }
}

fn passwd_by(name: Option<&CStr>, uid: libc::uid_t) -> Option<Passwd> {
    with_buffer(|buf| {
        // SAFETY: plain data, filled by the call below.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; the strings it
        // writes into `pw` point into `buf`, which outlives their use here.
        let rc = unsafe {
            match name {
                Some(n) => libc::getpwnam_r(
                    n.as_ptr(),
                    &mut pw,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut result,
                ),
                None => libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result),
            }
        };
        if rc != 0 {
            return Err(rc);
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: on success the name and directory are NUL-terminated
        // strings inside `buf`.
        let (name, home) = unsafe {
            (
                CStr::from_ptr(pw.pw_name).to_string_lossy().into_owned(),
                PathBuf::from(
                    <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(
                        CStr::from_ptr(pw.pw_dir).to_bytes(),
                    ),
                ),
            )
        };
        Ok(Some(Passwd {
            name,
            uid: pw.pw_uid,
            gid: pw.pw_gid,
            home,
        }))
    })
}

fn group_by_name(name: &CStr) -> Option<libc::gid_t> {
    with_buffer(|buf| {
        // SAFETY: plain data, filled by the call below.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut gr,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc != 0 {
            return Err(rc);
        }
        Ok((!result.is_null()).then_some(gr.gr_gid))
    })
}

/// The supplementary groups the user database gives `user` (with `gid`),
/// as `initgroups` would set them.
fn group_list(user: &str, gid: libc::gid_t) -> Result<Vec<libc::gid_t>, String> {
    let name = CString::new(user).map_err(|_| format!("user name {user:?} holds a NUL"))?;
    let mut n: libc::c_int = 64;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let asked = n;
        // SAFETY: `groups` holds `n` entries; getgrouplist writes at most
        // that many and sets `n` to the number it needs.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            groups.truncate(n as usize);
            return Ok(groups);
        }
        if n <= asked {
            // It failed without saying how many it needs.
            n = asked * 4;
        }
        if n > 1 << 16 {
            return Err(format!("cannot list the groups of {user}"));
        }
    }
}

/// `text` as an id number: `Some` when it is one, `None` when it is no
/// number (a name nobody has), refused when it is a number no id can be
/// (above 4294967294: (uid_t) -1 means "unchanged" to setresuid), where
/// "no such user" would mislead. `what` is "uid" or "gid".
fn id_number(shown: &str, text: &str, what: &str) -> Result<Option<u32>, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match text.parse() {
        Ok(n) if n != u32::MAX => Ok(Some(n)),
        _ => Err(format!(
            "{shown}: not a valid {what} number (0 to {})",
            u32::MAX - 1
        )),
    }
}

fn resolve_user(text: &str) -> Result<Result<Passwd, libc::uid_t>, String> {
    let shown = format!("--user {text}");
    let c = CString::new(text).map_err(|_| format!("{shown}: not a user name or number"))?;
    if let Some(pw) = passwd_by(Some(&c), 0) {
        return Ok(Ok(pw));
    }
    match id_number(&shown, text, "uid")? {
        Some(uid) => Ok(passwd_by(None, uid).ok_or(uid)),
        None => Err(format!(
            "{shown}: no such user (check the name, or give a uid number)"
        )),
    }
}

fn resolve_group(option: &str, text: &str) -> Result<libc::gid_t, String> {
    let shown = format!("{option} {text}");
    let c = CString::new(text).map_err(|_| format!("{shown}: not a group name or number"))?;
    if let Some(gid) = group_by_name(&c) {
        return Ok(gid);
    }
    id_number(&shown, text, "gid")?.ok_or_else(|| {
        if option == "--groups" {
            format!("{shown}: no such group '{text}' (check the name, or give a gid number)")
        } else {
            format!("{shown}: no such group (check the name, or give a gid number)")
        }
    })
}

/// Look the names up. With `--user`, the group and the supplementary
/// groups default to the user's entry in the user database; a uid that has
/// no entry needs `--group` and `--groups`.
pub fn resolve(req: &IdentityRequest) -> Result<Identity, String> {
    let mut shown = Vec::new();
    if let Some(u) = &req.user {
        shown.push(format!("--user {u}"));
    }
    if let Some(g) = &req.group {
        shown.push(format!("--group {g}"));
    }
    let gid = match &req.group {
        Some(g) => Some(resolve_group("--group", g)?),
        None => None,
    };
    let groups = match &req.groups {
        None => None,
        Some(GroupsRequest::None) => {
            shown.push("--groups none".to_string());
            Some(Vec::new())
        }
        Some(GroupsRequest::List(list)) => {
            let text = list.join(",");
            shown.push(format!("--groups {text}"));
            let mut ids = Vec::new();
            for g in list {
                let id = resolve_group("--groups", g).map_err(|e| {
                    e.replacen(&format!("--groups {g}"), &format!("--groups {text}"), 1)
                })?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Some(ids)
        }
    };
    let mut id = Identity {
        uid: None,
        gid,
        groups,
        user_name: None,
        home: None,
        shown: shown.join(" "),
    };
    let Some(user) = &req.user else {
        return Ok(id);
    };
    match resolve_user(user)? {
        Ok(pw) => {
            id.uid = Some(pw.uid);
            let gid = *id.gid.get_or_insert(pw.gid);
            if id.groups.is_none() {
                id.groups = Some(group_list(&pw.name, gid)?);
            }
            id.user_name = Some(pw.name);
            id.home = Some(pw.home);
        }
        Err(uid) => {
            if id.gid.is_none() || id.groups.is_none() {
                // Only what is still missing.
                let give = match (id.gid.is_none(), id.groups.is_none()) {
                    (true, true) => "--group GROUP and --groups LIST|none",
                    (true, false) => "--group GROUP",
                    _ => "--groups LIST|none",
                };
                return Err(format!(
                    "--user {user}: uid {uid} has no entry in the user database, so it has no \
                     group of its own (give {give})"
                ));
            }
            id.uid = Some(uid);
        }
    }
    Ok(id)
}

/// Which step of [`switch`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Groups = 1,
    Gid = 2,
    Uid = 3,
    /// The ids read back are not the ones asked for.
    Check = 4,
}

impl Step {
    pub fn from_code(c: u8) -> Option<Step> {
        match c {
            1 => Some(Step::Groups),
            2 => Some(Step::Gid),
            3 => Some(Step::Uid),
            4 => Some(Step::Check),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Groups => "setgroups",
            Step::Gid => "setresgid",
            Step::Uid => "setresuid",
            Step::Check => "checking the new ids",
        }
    }
}

/// Become `id`: supplementary groups first, then the group, then the user
/// (real, effective and saved ids alike), then read them back. Only system
/// calls, no allocation: safe between fork and exec. Fails at the first
/// step that fails, with its errno.
pub fn switch(id: &Identity) -> Result<(), (Step, i32)> {
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    if let Some(groups) = &id.groups {
        // SAFETY: `groups` is a valid array of its length.
        if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } != 0 {
            return Err((Step::Groups, errno()));
        }
    }
    if let Some(gid) = id.gid {
        // SAFETY: plain system call.
        if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
            return Err((Step::Gid, errno()));
        }
    }
    if let Some(uid) = id.uid {
        // SAFETY: plain system call.
        if unsafe { libc::setresuid(uid, uid, uid) } != 0 {
            return Err((Step::Uid, errno()));
        }
    }
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: valid pointers to three ids each.
    unsafe { libc::getresuid(&mut r, &mut e, &mut s) };
    if id.uid.is_some_and(|u| (r, e, s) != (u, u, u)) {
        return Err((Step::Check, libc::EPERM));
    }
    // SAFETY: as above.
    unsafe { libc::getresgid(&mut r, &mut e, &mut s) };
    if id.gid.is_some_and(|g| (r, e, s) != (g, g, g)) {
        return Err((Step::Check, libc::EPERM));
    }
    Ok(())
}

/// The message for a failed [`switch`].
pub fn switch_error_text(id: &Identity, step: Step, errno: i32) -> String {
    let what = match step {
        Step::Groups => format!(
            "cannot set the supplementary groups {:?}",
            id.groups.as_deref().unwrap_or(&[])
        ),
        Step::Gid => format!("cannot set group id {}", id.gid.unwrap_or(0)),
        Step::Uid => format!("cannot set user id {}", id.uid.unwrap_or(0)),
        Step::Check => "the ids read back after the switch are not the ones asked for".to_string(),
    };
    let err = std::io::Error::from_raw_os_error(errno);
    let fix = if errno == libc::EPERM {
        " (changing identity needs root, or CAP_SETUID and CAP_SETGID)"
    } else {
        ""
    };
    format!(
        "{}: {what} ({}: {err}){fix}; the program was not started",
        id.shown,
        step.name()
    )
}

#[cfg(test)]
mod tests;
