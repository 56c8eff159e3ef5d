//! `fdset-run [OPTIONS] -- PROGRAM [ARGS...]`: start PROGRAM with
//! libfdset_shim.so preloaded and its fd sets in place before `main` (issue 4).
//!
//! The launcher opens what the options name, lets the program inherit those
//! descriptors under their own numbers, and names them in `FDSET_ADD_FD`; it
//! stays connected as a monitor through a socketpair in `FDSET_CONTROL_FD`,
//! forwards SIGINT/SIGTERM/SIGHUP and exits with the program's status. It is
//! a normal binary: it does not link the hooks.

use fdset_core::launch::{add_fd as launch_spec, options as launch_options};
use launch_options::{DataSource, DataSpec, FileMode, FileSpec, LaunchOptions, Parsed};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// fdset-run's own failures (as `env` and `timeout` use it).
const EXIT_LAUNCHER_FAILED: i32 = 125;
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

fn die(msg: &str) -> ! {
    eprintln!("fdset-run: {msg}");
    std::process::exit(EXIT_LAUNCHER_FAILED)
}

/// A descriptor the program inherits under the same number as a member.
struct Member {
    fd: OwnedFd,
    set: u64,
    opaque: Option<String>,
    what: String,
}

fn shim_library() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("FDSET_SHIM_LIB") {
        let p = PathBuf::from(p);
        return p.canonicalize().map_err(|e| {
            format!(
                "FDSET_SHIM_LIB={}: {e} (point it at libfdset_shim.so, or unset it to use the one beside fdset-run)",
                p.display()
            )
        });
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let lib = exe.with_file_name("libfdset_shim.so");
    if lib.is_file() {
        return Ok(lib);
    }
    Err(format!(
        "cannot find libfdset_shim.so beside {} (build it with `cargo build --release`, or set FDSET_SHIM_LIB=/path/to/libfdset_shim.so)",
        exe.display()
    ))
}

fn inheritable(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any number is harmless.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    f >= 0 && f & libc::FD_CLOEXEC == 0
}

/// `--add-fd`: QEMU's checks on the launcher's own descriptors, so that a bad
/// one is refused before the program starts.
fn check_add_fds(opts: &LaunchOptions) -> Result<Vec<String>, String> {
    let mut seen = Vec::new();
    let mut specs = Vec::new();
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
        if seen.contains(&fd) {
            return Err(format!(
                "{}: fd {fd} is given twice (a descriptor joins one set once)",
                a.option
            ));
        }
        seen.push(fd);
        specs.push(launch_options::add_fd_spec(
            fd,
            set,
            a.spec.opaque.as_deref(),
        ));
    }
    Ok(specs)
}

fn open_file(spec: &FileSpec) -> Result<Vec<Member>, String> {
    let open = |write: bool, read: bool| {
        let mut o = OpenOptions::new();
        o.read(read).write(write).create(write);
        o.open(&spec.path).map_err(|e| {
            let fix = match e.kind() {
                io::ErrorKind::NotFound if write => "create its directory first",
                io::ErrorKind::NotFound => "check the path; only mode=wo or rw creates a file",
                io::ErrorKind::PermissionDenied => {
                    "fdset-run opens it with your rights: check its permissions"
                }
                _ => "give a file fdset-run can open",
            };
            let how = if write { "for writing" } else { "for reading" };
            format!(
                "{}: cannot open {} {how}: {e} ({fix})",
                spec.option,
                spec.path.display()
            )
        })
    };
    let (first, second) = match spec.mode {
        FileMode::ReadOnly => (open(false, true)?, None),
        FileMode::WriteOnly => (open(true, false)?, None),
        // As libvirt does for QEMU: programs probe read-only before they
        // open read-write.
        FileMode::ReadWrite => (open(true, true)?, Some(open(false, true)?)),
    };
    if first.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(format!(
            "{}: {} is a directory (give a file)",
            spec.option,
            spec.path.display()
        ));
    }
    let mode_names = match spec.mode {
        FileMode::ReadOnly => ["O_RDONLY", ""],
        FileMode::WriteOnly => ["O_WRONLY", ""],
        FileMode::ReadWrite => ["O_RDWR", "O_RDONLY"],
    };
    let files = std::iter::once(first).chain(second);
    Ok(files
        .zip(mode_names)
        .map(|(f, mode)| Member {
            fd: f.into(),
            set: spec.set,
            opaque: spec.opaque.clone(),
            what: format!("{} ({mode})", spec.path.display()),
        })
        .collect())
}

/// `--data`: the content in a sealed memfd, handed over read-only (a new
/// O_RDONLY description of it from /proc, so not even `F_SETFL` can write).
fn data_member(spec: &DataSpec) -> Result<Member, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", spec.option);
    let mut content = Vec::new();
    let (name, read) = match &spec.source {
        DataSource::Stdin => (
            "stdin".to_string(),
            io::stdin().lock().read_to_end(&mut content),
        ),
        DataSource::File(p) => (
            p.display().to_string(),
            File::open(p).and_then(|mut f| f.read_to_end(&mut content)),
        ),
    };
    read.map_err(|e| {
        fail(
            &format!("cannot read {name}"),
            &format!("{e} (check the path)"),
        )
    })?;
    let mfd = memfd::MemfdOptions::default()
        .allow_sealing(true)
        .create(format!("fdset-data-{}", spec.set))
        .map_err(|e| fail("memfd_create", &e))?;
    mfd.as_file()
        .write_all(&content)
        .map_err(|e| fail("memfd write", &e))?;
    use memfd::FileSeal::*;
    mfd.add_seals(&[SealShrink, SealGrow, SealWrite, SealSeal])
        .map_err(|e| fail("sealing", &e))?;
    let ro = File::open(format!("/proc/self/fd/{}", mfd.as_file().as_raw_fd()))
        .map_err(|e| fail("reopening read-only", &e))?;
    Ok(Member {
        fd: ro.into(),
        set: spec.set,
        opaque: None,
        what: format!(
            "data from {name}, {} bytes (O_RDONLY, sealed)",
            content.len()
        ),
    })
}

/// The longest path a Unix socket address holds (`sun_path` is 108 bytes,
/// the last one a NUL).
const MAX_SOCKET_PATH: usize = 107;

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
struct OwnSocket {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl OwnSocket {
    fn new(path: &Path) -> Option<OwnSocket> {
        use std::os::unix::fs::MetadataExt;
        let m = path.symlink_metadata().ok()?;
        Some(OwnSocket {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    fn remove_if_ours(&self) {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        match self.path.symlink_metadata() {
            Ok(m) if m.file_type().is_socket() && m.dev() == self.dev && m.ino() == self.ino => {
                let _ = std::fs::remove_file(&self.path);
            }
            _ => {}
        }
    }
}

fn qmp_listener(path: &Path) -> Result<UnixListener, String> {
    let option = format!("--qmp {}", path.display());
    check_socket_path_length(path)?;
    if path.symlink_metadata().is_ok() {
        return Err(format!(
            "{option}: {} already exists (remove it, or choose another path)",
            path.display()
        ));
    }
    // Mode 0600 from the start: nobody else may connect even for a moment.
    // SAFETY: umask has no preconditions; the launcher is single-threaded.
    let old = unsafe { libc::umask(0o177) };
    let r = UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    r.map_err(|e| format!("{option}: cannot create the socket: {e} (check that its directory exists and is writable)"))
}

static LAUNCHER_PID: AtomicI32 = AtomicI32::new(0);
static CHILD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: async-signal-safe calls only.
    unsafe {
        if libc::getpid() != LAUNCHER_PID.load(Ordering::Relaxed) {
            // The child between fork and exec: act as the default would.
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
            return;
        }
        // A terminal's signal (Ctrl-C) already reached the whole foreground
        // process group, the program included: sending it again would make
        // the program see two.
        if !info.is_null() && (*info).si_code == libc::SI_KERNEL {
            return;
        }
        let pid = CHILD_PID.load(Ordering::Relaxed);
        if pid > 0 {
            libc::kill(pid, sig);
        }
    }
}

fn forwarded_set() -> libc::sigset_t {
    // SAFETY: plain sigset manipulation.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Install the forwarding handlers with the signals blocked; they are
/// unblocked once the child's pid is known, so none is lost.
fn install_forwarding() {
    LAUNCHER_PID.store(std::process::id() as i32, Ordering::Relaxed);
    let set = forwarded_set();
    // SAFETY: plain signal-mask and sigaction calls with valid structs.
    unsafe {
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = forward_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        for s in FORWARDED {
            libc::sigaction(s, &sa, std::ptr::null_mut());
        }
    }
}

fn main() {
    let opts = match launch_options::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{}", launch_options::USAGE);
            return;
        }
        Err(e) => die(&e),
    };
    let lib = shim_library().unwrap_or_else(|e| die(&e));
    let mut add_fd = check_add_fds(&opts).unwrap_or_else(|e| die(&e));
    let mut members = Vec::new();
    for f in &opts.files {
        members.extend(open_file(f).unwrap_or_else(|e| die(&e)));
    }
    for d in &opts.data {
        members.push(data_member(d).unwrap_or_else(|e| die(&e)));
    }
    let listener = opts
        .qmp
        .as_deref()
        .map(|p| qmp_listener(p).unwrap_or_else(|e| die(&e)));
    let own_socket = opts.qmp.as_deref().and_then(OwnSocket::new);
    let remove_socket = || {
        if let Some(s) = &own_socket {
            s.remove_if_ours();
        }
    };
    // The launcher is a monitor for the program's whole life, so the sets
    // stay in use until a client removes them (spec section 2, "In use").
    let (monitor, program_end) = UnixStream::pair().unwrap_or_else(|e| {
        remove_socket();
        die(&format!("socketpair: {e}"))
    });

    for m in &members {
        add_fd.push(launch_options::add_fd_spec(
            m.fd.as_raw_fd(),
            m.set,
            m.opaque.as_deref(),
        ));
        if opts.verbose {
            eprintln!(
                "fdset-run: set {}: fd {} = {}",
                m.set,
                m.fd.as_raw_fd(),
                m.what
            );
        }
    }
    let mut control = vec![program_end.as_raw_fd()];
    control.extend(listener.as_ref().map(|l| l.as_raw_fd()));
    let mut inherit: Vec<RawFd> = members.iter().map(|m| m.fd.as_raw_fd()).collect();
    inherit.extend(&control);

    let env = |name: &str| std::env::var(name).ok();
    let mut cmd = Command::new(&opts.program[0]);
    cmd.args(&opts.program[1..]);
    cmd.env(
        "LD_PRELOAD",
        launch_options::preload_with(env("LD_PRELOAD").as_deref(), &lib.to_string_lossy()),
    );
    if !add_fd.is_empty() {
        cmd.env(
            "FDSET_ADD_FD",
            launch_options::join_env(env("FDSET_ADD_FD").as_deref(), ";", &add_fd.join(";")),
        );
    }
    let control: Vec<String> = control.iter().map(|fd| fd.to_string()).collect();
    cmd.env(
        "FDSET_CONTROL_FD",
        launch_options::join_env(env("FDSET_CONTROL_FD").as_deref(), ",", &control.join(",")),
    );
    if !opts.prefixes.is_empty() {
        cmd.env(
            "FDSET_PREFIX",
            launch_options::join_env(
                env("FDSET_PREFIX").as_deref(),
                ":",
                &opts.prefixes.join(":"),
            ),
        );
    }
    if !opts.aliases.is_empty() {
        let a: Vec<String> = opts
            .aliases
            .iter()
            .map(|(p, s)| format!("{p}={s}"))
            .collect();
        cmd.env(
            "FDSET_ALIAS",
            launch_options::join_env(env("FDSET_ALIAS").as_deref(), ";", &a.join(";")),
        );
    }
    if opts.verbose {
        cmd.env("FDSET_LOG", "1");
    }

    install_forwarding();
    let unblock = forwarded_set();
    // SAFETY: between fork and exec only async-signal-safe calls (signal,
    // sigprocmask, fcntl), and no allocation.
    unsafe {
        cmd.pre_exec(move || {
            for s in FORWARDED {
                libc::signal(s, libc::SIG_DFL);
            }
            libc::sigprocmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut());
            for &fd in &inherit {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            remove_socket();
            eprintln!(
                "fdset-run: cannot run {}: {e}",
                opts.program[0].to_string_lossy()
            );
            std::process::exit(if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    };
    CHILD_PID.store(child.id() as i32, Ordering::Relaxed);
    // SAFETY: unblocking delivers any signal that arrived meanwhile.
    unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut()) };
    // The program holds its own copies now.
    drop(members);
    drop(program_end);
    drop(listener);

    let status = child.wait();
    remove_socket();
    drop(monitor);
    let code = match status {
        Ok(s) => s
            .code()
            .or(s.signal().map(|n| 128 + n))
            .unwrap_or(EXIT_LAUNCHER_FAILED),
        Err(e) => die(&format!("waiting for the program: {e}")),
    };
    std::process::exit(code)
}
