//! `--qmp PATH`: the listening socket fdset-run creates for the program,
//! and removes at the end while PATH still names it.

use std::io;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use fdset_core::scm::MAX_SOCKET_PATH;

/// `--qmp PATH` must fit in a socket address: said plainly, before anything
/// is created.
fn check_socket_path_length(path: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let len = path.as_os_str().as_bytes().len();
    if len > MAX_SOCKET_PATH {
        return Err(format!(
            "--qmp {}: the path is {len} bytes long; a Unix socket path can be at most {MAX_SOCKET_PATH} bytes (choose a shorter one)",
            path.display()
        ));
    }
    Ok(())
}

/// The socket `--qmp` created, known by its inode: at exit it is removed
/// only if the path still names that very socket (somebody may have put
/// another file there meanwhile).
pub(crate) struct OwnSocket {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl OwnSocket {
    pub(crate) fn new(path: &Path) -> Option<OwnSocket> {
        use std::os::unix::fs::MetadataExt;
        let m = path.symlink_metadata().ok()?;
        Some(OwnSocket {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    pub(crate) fn remove_if_ours(&self) {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        match self.path.symlink_metadata() {
            Ok(m) if m.file_type().is_socket() && m.dev() == self.dev && m.ino() == self.ino => {
                let _ = std::fs::remove_file(&self.path);
            }
            _ => {}
        }
    }
}

pub(crate) fn qmp_listener(path: &Path) -> Result<UnixListener, String> {
    let option = format!("--qmp {}", path.display());
    check_socket_path_length(path)?;
    let exists = || {
        format!(
            "{option}: {} already exists (remove it, or choose another path)",
            path.display()
        )
    };
    if path.symlink_metadata().is_ok() {
        return Err(exists());
    }
    let bind = |at: &Path| {
        // Mode 0600 from the start: nobody else may connect even for a moment.
        // SAFETY: umask has no preconditions; the launcher is single-threaded.
        let old = unsafe { libc::umask(0o177) };
        let r = UnixListener::bind(at);
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        r
    };
    let cannot = |e: io::Error| {
        let hint = crate::fd_limit_hint(&e)
            .unwrap_or(" (check that its directory exists and is writable)");
        format!("{option}: cannot create the socket: {e}{hint}")
    };
    // The socket is bound, then listens: a client that saw the path appear
    // in between would be refused. So it listens under a private name first
    // and appears at PATH by a hard link (which, unlike a rename, refuses a
    // PATH that appeared meanwhile).
    let mut private = path.as_os_str().to_os_string();
    private.push(format!(".fdset-run-{}", std::process::id()));
    let private = PathBuf::from(private);
    let listener = match bind(&private) {
        Ok(l) => l,
        // A name too long for a socket address: the plain way.
        Err(_) => return bind(path).map_err(cannot),
    };
    let linked = std::fs::hard_link(&private, path);
    let _ = std::fs::remove_file(&private);
    match linked {
        Ok(()) => Ok(listener),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists()),
        Err(e) => Err(cannot(e)),
    }
}
