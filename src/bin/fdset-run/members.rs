//! The descriptors fdset-run hands the program: `--add-fd` (its own,
//! checked as QEMU checks them), `--file` and `--data`.

use fdset_core::launch::{add_fd as launch_spec, open_modes, options as launch_options};
use launch_options::{DataSource, DataSpec, FileSpec, LaunchOptions, access_mode_name};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// A descriptor the program inherits under the same number as a member.
pub(crate) struct Member {
    pub(crate) fd: OwnedFd,
    pub(crate) set: u64,
    pub(crate) opaque: Option<String>,
    /// For `-v`: what it is, ending in its access mode.
    pub(crate) what: String,
}

fn inheritable(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any number is harmless.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    f >= 0 && f & libc::FD_CLOEXEC == 0
}

/// The access mode of an open descriptor, by name.
fn access_mode_of(fd: RawFd) -> &'static str {
    // SAFETY: F_GETFL on an open descriptor only reports.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        "?"
    } else {
        access_mode_name(flags)
    }
}

/// `--add-fd`: QEMU's checks on the launcher's own descriptors, so that a bad
/// one is refused before the program starts. Returns the `FDSET_ADD_FD`
/// specs and, for `-v`, a line for each.
pub(crate) fn check_add_fds(opts: &LaunchOptions) -> Result<(Vec<String>, Vec<String>), String> {
    let mut seen = Vec::new();
    let mut specs = Vec::new();
    let mut shown = Vec::new();
    for a in &opts.add_fds {
        let (fd, set) = a.spec.check(inheritable).map_err(|text| {
            let fix = match text {
                launch_spec::FD_STDIO => "use fd 3 or above",
                launch_spec::FD_INVALID => {
                    "open it in the shell that starts fdset-run, e.g. `3<file`"
                }
                _ => "write fd=N,set=S",
            };
            format!("{}: {text} ({fix})", a.option)
        })?;
        // fdset-run's own rule for --add-fd; the shim takes one inherited
        // fd into each set FDSET_ADD_FD names it for.
        if !a.inherited {
            if seen.contains(&fd) {
                return Err(format!(
                    "{}: fd {fd} is given twice (a descriptor joins one set once)",
                    a.option
                ));
            }
            seen.push(fd);
        }
        specs.push(launch_options::add_fd_spec(
            fd,
            set,
            a.spec.opaque.as_deref(),
        ));
        let file = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "?".to_string());
        shown.push(format!(
            "fdset-run: set {set}: fd {fd} = inherited, {file} ({})",
            access_mode_of(fd)
        ));
    }
    Ok((specs, shown))
}

/// `--file`: one descriptor per access mode of its `mode=`.
pub(crate) fn open_file(spec: &FileSpec) -> Result<Vec<Member>, String> {
    let opened = open_modes::open_members(&spec.path, spec.mode).map_err(|f| {
        let e = f.error;
        let path = spec.path.display();
        if e.raw_os_error() == Some(libc::EISDIR) {
            return format!("{}: {path} is a directory (give a file)", spec.option);
        }
        let how = match f.access_mode {
            libc::O_RDONLY => "for reading",
            libc::O_WRONLY => "for writing",
            _ => "for reading and writing",
        };
        if let Some(hint) = crate::fd_limit_hint(&e) {
            // The table is full, not the file at fault.
            return format!("{}: cannot open {path} {how}: {e}{hint}", spec.option);
        }
        let write = f.access_mode != libc::O_RDONLY;
        let fix = match e.kind() {
            io::ErrorKind::NotFound if write => "create its directory first",
            io::ErrorKind::NotFound => "check the path; only mode=wo or rw creates a file",
            io::ErrorKind::PermissionDenied => {
                "fdset-run opens it with your rights: check its permissions"
            }
            _ => "give a file fdset-run can open",
        };
        format!("{}: cannot open {path} {how}: {e} ({fix})", spec.option)
    })?;
    if let Some(c) = opened.created {
        crate::made_files::remember(c);
    }
    Ok(opened
        .members
        .into_iter()
        .map(|m| Member {
            fd: m.file.into(),
            set: spec.set,
            opaque: spec.opaque.clone(),
            what: format!(
                "{} ({})",
                spec.path.display(),
                access_mode_name(m.access_mode)
            ),
        })
        .collect())
}

/// `e`, and what to do when it says the descriptor table is full.
fn with_limit_hint(e: &io::Error) -> String {
    format!("{e}{}", crate::fd_limit_hint(e).unwrap_or(""))
}

/// The most `--data` reads, in bytes (its content lives in memory).
const MAX_DATA: u64 = 1 << 30;

/// `--data`: the content in a sealed memfd, handed over read-only (a new
/// O_RDONLY description of it from /proc, so not even `F_SETFL` can write).
pub(crate) fn data_member(spec: &DataSpec) -> Result<Member, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", spec.option);
    if matches!(spec.source, DataSource::Stdin)
        && fdset_core::launch::as_started::was_closed(crate::stdio::as_started(), 0)
    {
        // Not an empty secret: there is no input to read.
        return Err(fail(
            "cannot read stdin",
            &"it is closed (give the content on stdin, or path=FILE)",
        ));
    }
    let mfd = memfd::MemfdOptions::default()
        .allow_sealing(true)
        .create(format!("fdset-data-{}", spec.set))
        .map_err(|e| match e {
            memfd::Error::Create(e) => fail("memfd_create", &with_limit_hint(&e)),
            e => fail("memfd_create", &e),
        })?;
    // Copied straight into the memfd (one copy in memory, not two), and at
    // most MAX_DATA: an endless source (/dev/zero, a pipe that never ends)
    // gets a clear refusal instead of the machine's memory.
    let mut into = mfd.as_file();
    let (name, copied) = match &spec.source {
        DataSource::Stdin => (
            "stdin".to_string(),
            io::copy(&mut io::stdin().lock().take(MAX_DATA + 1), &mut into),
        ),
        DataSource::File(p) => (
            p.display().to_string(),
            File::open(p).and_then(|f| io::copy(&mut f.take(MAX_DATA + 1), &mut into)),
        ),
    };
    let len = copied.map_err(|e| {
        let text = match crate::fd_limit_hint(&e) {
            Some(_) => with_limit_hint(&e),
            None => format!("{e} (check the path)"),
        };
        fail(&format!("cannot read {name}"), &text)
    })?;
    if len > MAX_DATA {
        return Err(fail(
            &format!("{name} holds more than {} GiB", MAX_DATA >> 30),
            &"--data keeps its content in memory (pass a file with --file instead)",
        ));
    }
    use memfd::FileSeal::*;
    mfd.add_seals(&[SealShrink, SealGrow, SealWrite, SealSeal])
        .map_err(|e| fail("sealing", &e))?;
    let ro = File::open(format!("/proc/self/fd/{}", mfd.as_file().as_raw_fd()))
        .map_err(|e| fail("reopening read-only", &with_limit_hint(&e)))?;
    Ok(Member {
        fd: ro.into(),
        set: spec.set,
        opaque: None,
        what: format!("data from {name}, {len} bytes (O_RDONLY, sealed)"),
    })
}
