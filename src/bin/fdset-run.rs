//! `fdset-run [OPTIONS] -- PROGRAM [ARGS...]`: start PROGRAM with
//! libfdset_shim.so preloaded and its fd sets in place before `main`.
//!
//! The launcher opens what the options name, lets the program inherit those
//! descriptors under their own numbers, and names them in `FDSET_ADD_FD`.
//! Without `--qmp` it then execs the program in its own place: no process
//! stays behind, and the program gets no control socket and no helper
//! thread (its launch-time sets stay in use for its life). With `--qmp` it
//! starts the program as its child, stays connected as a monitor through a
//! socketpair in `FDSET_CONTROL_FD`, forwards SIGINT/SIGTERM/SIGHUP and exits
//! with the program's status. It is a normal binary: it does not link the
//! hooks.

use fdset_core::launch::identity::{self, Identity};
use fdset_core::launch::{
    add_fd as launch_spec, elf, library, open_modes, options as launch_options,
};
use launch_options::{DataSource, DataSpec, FileSpec, LaunchOptions, Parsed, access_mode_name};
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
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
    /// For `-v`: what it is, ending in its access mode.
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
    let looked = library::candidates(&exe);
    match looked.iter().find(|p| p.is_file()) {
        Some(lib) => Ok(lib.clone()),
        None => Err(library::not_found_text(&looked)),
    }
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
fn check_add_fds(opts: &LaunchOptions) -> Result<(Vec<String>, Vec<String>), String> {
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
fn open_file(spec: &FileSpec) -> Result<Vec<Member>, String> {
    let opened = open_modes::open_members(&spec.path, spec.mode).map_err(|f| {
        let e = f.error;
        let path = spec.path.display();
        if e.raw_os_error() == Some(libc::EISDIR) {
            return format!("{}: {path} is a directory (give a file)", spec.option);
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
        let how = match f.access_mode {
            libc::O_RDONLY => "for reading",
            libc::O_WRONLY => "for writing",
            _ => "for reading and writing",
        };
        format!("{}: cannot open {path} {how}: {e} ({fix})", spec.option)
    })?;
    Ok(opened
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
        format!(
            "{option}: cannot create the socket: {e} (check that its directory exists and is writable)"
        )
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

/// The program to run, found as `execvp` would find it (so that the file
/// checked is the file run), and refused when the shim cannot reach it.
fn find_program(name: &OsStr) -> PathBuf {
    let path_var = std::env::var_os("PATH");
    elf::find_program(name, path_var.as_deref()).unwrap_or_else(|e| cannot_run(name, &e))
}

/// Whether PROGRAM must be served from outside: the preload cannot reach it
/// (statically linked, another C library's loader, Go). A program seccomp
/// cannot serve either (32-bit, another machine) is refused with the reason.
fn needs_seccomp(name: &OsStr) -> bool {
    let path_var = std::env::var_os("PATH");
    let program = find_program(name);
    match elf::cannot_preload(&program, path_var.as_deref()) {
        None => false,
        Some(why) if why.reason.served_by_seccomp() => {
            eprintln!(
                "fdset-run: {why}: serving its sets from outside it with seccomp (as --seccomp)"
            );
            true
        }
        Some(why) => die(&format!(
            "{why}; its opens of /dev/fdset/N would fail (run a build of it for this machine, or a shim built for its)"
        )),
    }
}

/// 127 when the program is not found, 126 when it cannot be run (as `env`).
fn cannot_run(name: &OsStr, e: &io::Error) -> ! {
    eprintln!("fdset-run: cannot run {}: {e}", Path::new(name).display());
    std::process::exit(if e.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    })
}

/// Refuse before the program starts when the new identity could not load
/// the shim: the loader would skip it with a warning and the program would
/// run without its sets. Call after [`identity::switch`].
fn library_readable_after_switch(lib: &CString) -> Result<(), i32> {
    // SAFETY: a NUL-terminated path; access only reports (with the real
    // ids, which the switch made the effective ones too).
    if unsafe { libc::access(lib.as_ptr(), libc::R_OK) } != 0 {
        return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    Ok(())
}

fn library_unreadable_text(id: &Identity, lib: &Path, errno: i32) -> String {
    format!(
        "{}: the new identity cannot read {} ({}), so the loader would skip it \
         (put the library where that user can read it, e.g. /usr/local/lib, or point \
         FDSET_SHIM_LIB at a readable copy); the program was not started",
        id.shown,
        lib.display(),
        io::Error::from_raw_os_error(errno)
    )
}

/// The code the child writes between fork and exec when the library check
/// after the identity switch fails (the switch's own steps are 1-4).
const STEP_LIBRARY: u8 = 10;

fn main() {
    let opts = match launch_options::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Info(text)) => {
            print!("{text}");
            return;
        }
        Err(e) => die(&e),
    };
    // Programs LD_PRELOAD cannot reach are served from outside (seccomp).
    let seccomp = opts.seccomp || needs_seccomp(&opts.program[0]);
    if seccomp && !opts.identity.is_empty() {
        die(
            "--user, --group and --groups do not work with --seccomp yet: run fdset-run itself as that user (e.g. with setpriv)",
        );
    }
    let (lib, lib_c) = if seccomp {
        (PathBuf::new(), CString::default())
    } else {
        let lib = shim_library().unwrap_or_else(|e| die(&e));
        let lib_c = CString::new(lib.as_os_str().as_bytes())
            .unwrap_or_else(|_| die("the library path holds a NUL byte"));
        (lib, lib_c)
    };
    let ident = if opts.identity.is_empty() {
        None
    } else {
        Some(identity::resolve(&opts.identity).unwrap_or_else(|e| die(&e)))
    };
    let program = if seccomp {
        PathBuf::from(&opts.program[0])
    } else {
        find_program(&opts.program[0])
    };
    let (mut add_fd, add_fd_shown) = check_add_fds(&opts).unwrap_or_else(|e| die(&e));
    let mut members = Vec::new();
    for f in &opts.files {
        members.extend(open_file(f).unwrap_or_else(|e| die(&e)));
    }
    for d in &opts.data {
        members.push(data_member(d).unwrap_or_else(|e| die(&e)));
    }
    if seccomp {
        let listener = opts
            .qmp
            .as_deref()
            .map(|p| qmp_listener(p).unwrap_or_else(|e| die(&e)));
        let members = members.into_iter().map(|m| fdset_seccomp::Member {
            fd: m.fd,
            set: m.set,
            opaque: m.opaque,
            what: m.what,
        });
        fdset_seccomp::run(&opts, members.collect(), listener);
    }
    if opts.verbose {
        for line in &add_fd_shown {
            eprintln!("{line}");
        }
    }
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

    let env = |name: &str| std::env::var(name).ok();
    let mut cmd = Command::new(&program);
    cmd.arg0(&opts.program[0]).args(&opts.program[1..]);
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
    if let Some(id) = &ident
        && let Some(name) = &id.user_name
    {
        // As runuser and su set them: programs look for their files there.
        cmd.env("USER", name).env("LOGNAME", name);
        if let Some(home) = &id.home {
            cmd.env("HOME", home);
        }
    }
    let inherit: Vec<RawFd> = members.iter().map(|m| m.fd.as_raw_fd()).collect();
    match &opts.qmp {
        None => exec_in_place(cmd, &opts, &inherit, ident.as_ref(), &lib, &lib_c),
        Some(qmp) => run_with_monitor(cmd, &opts, qmp, inherit, members, ident, &lib, lib_c),
    }
}

/// No monitor is needed: become the program. Its launch-time sets stay in
/// use for its life (spec section 2, "In use": no control socket), it has
/// no helper thread, and its signals and exit status are its own.
fn exec_in_place(
    mut cmd: Command,
    opts: &LaunchOptions,
    inherit: &[RawFd],
    ident: Option<&Identity>,
    lib: &Path,
    lib_c: &CString,
) -> ! {
    for &fd in inherit {
        // SAFETY: clearing close-on-exec of a descriptor fdset-run opened.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
            die(&format!(
                "fcntl(F_SETFD) of fd {fd}: {}",
                io::Error::last_os_error()
            ));
        }
    }
    if let Some(id) = ident {
        if let Err((step, errno)) = identity::switch(id) {
            die(&identity::switch_error_text(id, step, errno));
        }
        if let Err(errno) = library_readable_after_switch(lib_c) {
            die(&library_unreadable_text(id, lib, errno));
        }
    }
    let e = cmd.exec();
    cannot_run(&opts.program[0], &e)
}

/// `--qmp`: the program runs as fdset-run's child, with the listening socket
/// and fdset-run's own monitor connection in `FDSET_CONTROL_FD`.
#[allow(clippy::too_many_arguments)]
fn run_with_monitor(
    mut cmd: Command,
    opts: &LaunchOptions,
    qmp: &Path,
    mut inherit: Vec<RawFd>,
    members: Vec<Member>,
    ident: Option<Identity>,
    lib: &Path,
    lib_c: CString,
) -> ! {
    let listener = qmp_listener(qmp).unwrap_or_else(|e| die(&e));
    // Removed at the end only while PATH still names this very socket.
    let own_socket = OwnSocket::new(qmp);
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
    let control = [program_end.as_raw_fd(), listener.as_raw_fd()];
    inherit.extend(control);
    let control: Vec<String> = control.iter().map(|fd| fd.to_string()).collect();
    cmd.env(
        "FDSET_CONTROL_FD",
        launch_options::join_env(
            std::env::var("FDSET_CONTROL_FD").ok().as_deref(),
            ",",
            &control.join(","),
        ),
    );
    // The child tells which step of the identity switch failed, if one did.
    let mut pipe = [-1; 2];
    // SAFETY: pipe2 fills two descriptors.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        remove_socket();
        die(&format!("pipe: {}", io::Error::last_os_error()));
    }
    let (report_read, report_write) = (pipe[0], pipe[1]);

    install_forwarding();
    let unblock = forwarded_set();
    let child_ident = ident.clone();
    // SAFETY: between fork and exec only async-signal-safe calls (signal,
    // sigprocmask, fcntl, the identity system calls, access, write), and no
    // allocation.
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
            if let Some(id) = &child_ident {
                let failed = match identity::switch(id) {
                    Err((step, errno)) => Some((step as u8, errno)),
                    Ok(()) => library_readable_after_switch(&lib_c)
                        .err()
                        .map(|errno| (STEP_LIBRARY, errno)),
                };
                if let Some((code, errno)) = failed {
                    libc::write(report_write, (&code as *const u8).cast(), 1);
                    return Err(io::Error::from_raw_os_error(errno));
                }
            }
            Ok(())
        });
    }
    let spawned = cmd.spawn();
    // SAFETY: the write end is fdset-run's own; the child has its copy.
    unsafe { libc::close(report_write) };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            remove_socket();
            let mut code = 0u8;
            // SAFETY: one byte into `code` from the pipe's read end.
            let n = unsafe { libc::read(report_read, (&mut code as *mut u8).cast(), 1) };
            if let (1, Some(id)) = (n, &ident) {
                let errno = e.raw_os_error().unwrap_or(0);
                if code == STEP_LIBRARY {
                    die(&library_unreadable_text(id, lib, errno));
                }
                if let Some(step) = identity::Step::from_code(code) {
                    die(&identity::switch_error_text(id, step, errno));
                }
            }
            cannot_run(&opts.program[0], &e)
        }
    };
    // SAFETY: the read end is fdset-run's own.
    unsafe { libc::close(report_read) };
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
