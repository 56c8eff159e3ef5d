//! Can `LD_PRELOAD` reach a program? Read from its ELF headers (and, for a
//! `#!` script, its interpreter's) before it is started: a statically
//! linked program has no dynamic loader to read `LD_PRELOAD`, and a program
//! whose loader is not glibc's (musl's `ld-musl-*`) cannot load a library
//! built against glibc. Plain Rust over `Read + Seek`, unit-tested on
//! headers built here.
//!
//! [`cannot_preload`] is the one question a launcher asks: `None` means
//! nothing stands in the way (or the file could not be read: the exec then
//! reports what is wrong), `Some` says why not.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
pub const EM_386: u16 = 3;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

/// The machine the shim is built for (the launcher's own).
pub const HOST_MACHINE: u16 = if cfg!(target_arch = "x86_64") {
    EM_X86_64
} else if cfg!(target_arch = "aarch64") {
    EM_AARCH64
} else {
    0
};

/// What the headers say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfFacts {
    /// 64 or 32.
    pub bits: u8,
    pub machine: u16,
    /// `ET_EXEC`, `ET_DYN`, ...
    pub kind: u16,
    /// `PT_INTERP`: the dynamic loader's path, when there is one.
    pub interpreter: Option<PathBuf>,
}

/// Why `LD_PRELOAD` cannot reach a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No `PT_INTERP`: no dynamic loader runs.
    Static,
    /// Its loader is musl's (`ld-musl-*`).
    Musl(PathBuf),
    /// Another C library's loader (uClibc, Android's bionic).
    OtherLoader(PathBuf),
    /// A 32-bit program (the shim is 64-bit).
    Bits(u8),
    /// Built for another machine.
    Machine(u16),
    /// A Go program: it makes its own system calls, whatever it links.
    Go,
}

impl Reason {
    /// Whether fdset-run's seccomp mode can serve such a program (a 64-bit
    /// program of this machine).
    pub fn served_by_seccomp(&self) -> bool {
        !matches!(self, Reason::Bits(_) | Reason::Machine(_))
    }
}

/// A program the shim cannot be preloaded into, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable {
    /// The program as resolved.
    pub program: PathBuf,
    /// The `#!` interpreters from the program to `elf` (empty when the
    /// program is the ELF file).
    pub scripts: Vec<PathBuf>,
    /// The ELF file the reason is about.
    pub elf: PathBuf,
    pub reason: Reason,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Static => write!(
                f,
                "it is statically linked (no dynamic loader runs to read LD_PRELOAD)"
            ),
            Reason::Musl(i) => write!(
                f,
                "its dynamic loader {} is musl's, and the shim is built for glibc",
                i.display()
            ),
            Reason::OtherLoader(i) => write!(
                f,
                "its dynamic loader {} is not glibc's, and the shim is built for glibc",
                i.display()
            ),
            Reason::Bits(b) => write!(f, "it is a {b}-bit program and the shim is 64-bit"),
            Reason::Machine(m) => write!(
                f,
                "it is built for another machine (ELF e_machine {m}, the shim's is {HOST_MACHINE})"
            ),
            Reason::Go => write!(
                f,
                "it is a Go program (it makes its own system calls instead of calling libc)"
            ),
        }
    }
}

impl fmt::Display for Unreachable {
    /// `PROGRAM cannot be preloaded, because ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cannot be preloaded with the shim, because ",
            self.program.display()
        )?;
        if let Some(last) = self.scripts.last() {
            // "its dynamic loader ..." reads "whose dynamic loader ...", "it
            // is ..." reads "which is ..." after the interpreter's name.
            let text = self.reason.to_string();
            let clause = match text.strip_prefix("its ") {
                Some(rest) => format!("whose {rest}"),
                None => format!("which {}", text.strip_prefix("it ").unwrap_or(&text)),
            };
            return write!(f, "it is a script run by {}, {clause}", last.display());
        }
        write!(f, "{}", self.reason)
    }
}

fn u16_at(b: &[u8], at: usize, little: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if little {
        u16::from_le_bytes(v)
    } else {
        u16::from_be_bytes(v)
    }
}

fn u32_at(b: &[u8], at: usize, little: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if little {
        u32::from_le_bytes(v)
    } else {
        u32::from_be_bytes(v)
    }
}

fn u64_at(b: &[u8], at: usize, little: bool) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    if little {
        u64::from_le_bytes(v)
    } else {
        u64::from_be_bytes(v)
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Read the ELF header and program headers. `Ok(None)`: not an ELF file.
pub fn inspect(r: &mut (impl Read + Seek)) -> io::Result<Option<ElfFacts>> {
    let mut h = [0u8; 64];
    let mut got = 0;
    while got < h.len() {
        match r.read(&mut h[got..])? {
            0 => break,
            n => got += n,
        }
    }
    if got < 16 || &h[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let bits = match h[4] {
        1 => 32,
        2 => 64,
        _ => return Err(bad("unknown ELF class")),
    };
    let little = match h[5] {
        1 => true,
        2 => false,
        _ => return Err(bad("unknown ELF data encoding")),
    };
    if got < if bits == 64 { 64 } else { 52 } {
        return Err(bad("truncated ELF header"));
    }
    let kind = u16_at(&h, 16, little);
    let machine = u16_at(&h, 18, little);
    let (phoff, phentsize, phnum) = if bits == 64 {
        (
            u64_at(&h, 32, little),
            u16_at(&h, 54, little),
            u16_at(&h, 56, little),
        )
    } else {
        (
            u64::from(u32_at(&h, 28, little)),
            u16_at(&h, 42, little),
            u16_at(&h, 44, little),
        )
    };
    let min_entry = if bits == 64 { 56 } else { 32 };
    let mut facts = ElfFacts {
        bits,
        machine,
        kind,
        interpreter: None,
    };
    if phnum == 0 {
        return Ok(Some(facts));
    }
    if usize::from(phentsize) < min_entry || phnum > 4096 {
        return Err(bad("bad program header table"));
    }
    let mut table = vec![0u8; usize::from(phentsize) * usize::from(phnum)];
    r.seek(SeekFrom::Start(phoff))?;
    r.read_exact(&mut table)?;
    for e in table.chunks_exact(usize::from(phentsize)) {
        if u32_at(e, 0, little) != PT_INTERP {
            continue;
        }
        let (offset, size) = if bits == 64 {
            (u64_at(e, 8, little), u64_at(e, 32, little))
        } else {
            (
                u64::from(u32_at(e, 4, little)),
                u64::from(u32_at(e, 16, little)),
            )
        };
        if size == 0 || size > 4096 {
            return Err(bad("bad PT_INTERP size"));
        }
        let mut path = vec![0u8; size as usize];
        r.seek(SeekFrom::Start(offset))?;
        r.read_exact(&mut path)?;
        if let Some(nul) = path.iter().position(|&b| b == 0) {
            path.truncate(nul);
        }
        facts.interpreter = Some(PathBuf::from(OsStr::from_bytes(&path)));
        break;
    }
    Ok(Some(facts))
}

/// The verdict on one ELF file's facts; `None`: the shim can be preloaded.
pub fn reason(facts: &ElfFacts) -> Option<Reason> {
    if facts.kind != ET_EXEC && facts.kind != ET_DYN {
        // Not a program (a core file, an object): exec will say so.
        return None;
    }
    if facts.bits != 64 {
        return Some(Reason::Bits(facts.bits));
    }
    if facts.machine != HOST_MACHINE {
        return Some(Reason::Machine(facts.machine));
    }
    let Some(interp) = &facts.interpreter else {
        return Some(Reason::Static);
    };
    let name = interp.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    if name.starts_with(b"ld-musl-") {
        return Some(Reason::Musl(interp.clone()));
    }
    if name.starts_with(b"ld-uClibc") || name == b"linker" || name == b"linker64" {
        return Some(Reason::OtherLoader(interp.clone()));
    }
    None
}

/// glibc's dynamic loader run as a program (`ld-linux-x86-64.so.2 PROG`)
/// has no `PT_INTERP` of its own, yet honours `LD_PRELOAD` for `PROG`.
fn is_glibc_loader(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.as_bytes())
        .is_some_and(|n| n.starts_with(b"ld-linux") || n.starts_with(b"ld64.so"))
}

/// A valgrind tool (`/usr/libexec/valgrind/memcheck-amd64-linux`, which the
/// `valgrind` command runs) is a static program, yet it loads the program
/// it checks with glibc's loader in its own process, `LD_PRELOAD` honoured
/// (with valgrind's own preloads put in front). Known by its name,
/// `TOOL-PLATFORM` for this machine's platform (a tool for another
/// platform runs a program the shim cannot be loaded into), next to that
/// platform's `vgpreload_core-PLATFORM.so`, which every tool preloads.
fn is_valgrind_tool(path: &Path) -> bool {
    let Some(platform) = VALGRIND_PLATFORM else {
        return false;
    };
    let (Some(name), Some(dir)) = (path.file_name(), path.parent()) else {
        return false;
    };
    let suffix = format!("-{platform}");
    name.as_bytes()
        .strip_suffix(suffix.as_bytes())
        .is_some_and(|tool| !tool.is_empty())
        && dir.join(format!("vgpreload_core-{platform}.so")).is_file()
}

/// Valgrind's name for this machine's platform.
const VALGRIND_PLATFORM: Option<&str> = if cfg!(target_arch = "x86_64") {
    Some("amd64-linux")
} else if cfg!(target_arch = "aarch64") {
    Some("arm64-linux")
} else {
    None
};

/// A program without a loader of its own that still loads the program it
/// runs with `LD_PRELOAD` honoured: glibc's loader run as a program, a
/// valgrind tool.
pub fn preloads_the_program_it_runs(path: &Path) -> bool {
    is_glibc_loader(path) || is_valgrind_tool(path)
}

/// The `#!` line of a script: the interpreter and its one optional
/// argument (Linux passes the rest of the line as a single argument).
pub fn shebang(head: &[u8]) -> Option<(PathBuf, Option<OsString>)> {
    let line = head.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !is_blank(b))?;
    let line = &line[start..];
    let end = line.iter().position(is_blank).unwrap_or(line.len());
    let interp = PathBuf::from(OsStr::from_bytes(&line[..end]));
    let rest = &line[end..];
    let rest = match rest.iter().position(|b| !is_blank(b)) {
        Some(s) => {
            let r = &rest[s..];
            let e = r.iter().rposition(|b| !is_blank(b)).map_or(0, |e| e + 1);
            Some(OsStr::from_bytes(&r[..e]).to_os_string())
        }
        None => None,
    };
    Some((interp, rest))
}

/// The program `env` would run for `#!/usr/bin/env ARG`: the first word of
/// ARG that is neither an option (`-S`, `-i`) nor an assignment.
fn env_program(arg: &OsStr) -> Option<&OsStr> {
    arg.as_bytes()
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .find(|w| !w.starts_with(b"-") && !w.contains(&b'='))
        .map(OsStr::from_bytes)
}

/// The directories of `PATH` as `execvp` uses them (an empty entry is the
/// current directory; unset: glibc's default `/bin:/usr/bin`).
fn path_dirs(path_var: Option<&OsStr>) -> Vec<PathBuf> {
    let v = path_var.map_or(&b"/bin:/usr/bin"[..], OsStrExt::as_bytes);
    v.split(|&b| b == b':')
        .map(|d| {
            if d.is_empty() {
                PathBuf::from(".")
            } else {
                PathBuf::from(OsStr::from_bytes(d))
            }
        })
        .collect()
}

fn executable_file(p: &Path) -> Result<(), io::Error> {
    let meta = std::fs::metadata(p)?;
    if !meta.is_file() {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::ENOENT))?;
    // SAFETY: a NUL-terminated path; access only reports.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Find `name` as `execvp` would: a name with a `/` is used as it is, any
/// other is looked for in each `PATH` directory in turn. Err: `NotFound`,
/// or the error of the last candidate that exists but cannot be run
/// (`PermissionDenied`), as `execvp` reports. A name with a `/` is checked
/// as a candidate is, so that a missing program is told before anything
/// is done for it.
pub fn find_program(name: &OsStr, path_var: Option<&OsStr>) -> io::Result<PathBuf> {
    if name.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    if name.as_bytes().contains(&b'/') {
        let p = PathBuf::from(name);
        executable_file(&p)?;
        return Ok(p);
    }
    let mut denied = None;
    for dir in path_dirs(path_var) {
        let candidate = dir.join(name);
        match executable_file(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied = Some(e),
            Err(_) => {}
        }
    }
    Err(denied.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOENT)))
}

/// Scripts may name scripts as their interpreter; Linux follows a few.
const MAX_SCRIPT_DEPTH: usize = 4;

/// Why the shim cannot be preloaded into `program` (a path as
/// [`find_program`] returns it), following `#!` interpreters (and the
/// program of `#!/usr/bin/env NAME`, found in `path_var`). `None` when
/// nothing stands in the way, or when a file cannot be read or is not a
/// program at all (the exec then says what is wrong).
pub fn cannot_preload(program: &Path, path_var: Option<&OsStr>) -> Option<Unreachable> {
    let mut file_path = program.to_path_buf();
    let mut scripts = Vec::new();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let mut f = File::open(&file_path).ok()?;
        let mut head = [0u8; 256];
        let n = f.read(&mut head).ok()?;
        if let Some((interp, arg)) = shebang(&head[..n]) {
            scripts.push(interp.clone());
            file_path = interp;
            if file_path.file_name() == Some(OsStr::new("env"))
                && let Some(prog) = arg.as_deref().and_then(env_program)
            {
                let found = find_program(prog, path_var).ok()?;
                scripts.push(found.clone());
                file_path = found;
            }
            continue;
        }
        f.rewind().ok()?;
        let facts = inspect(&mut f).ok()??;
        if facts.interpreter.is_none() && preloads_the_program_it_runs(&file_path) {
            return None;
        }
        let reason = match reason(&facts) {
            Some(r) => r,
            None if is_go_program(&file_path) => Reason::Go,
            None => return None,
        };
        return Some(Unreachable {
            program: program.to_path_buf(),
            scripts,
            elf: file_path,
            reason,
        });
    }
    None
}

/// Whether the ELF file at `path` is a Go program: a section named
/// `.note.go.buildid` or `.go.buildinfo` (64-bit little-endian headers).
/// Reads only the ELF header, the section header table and the section
/// names, not the whole file (a large program is tens of megabytes).
pub fn is_go_program(path: &Path) -> bool {
    has_section_in_file(path, GO_SECTIONS)
}

/// The sections that only Go's linker writes.
const GO_SECTIONS: &[&[u8]] = &[b".note.go.buildid", b".go.buildinfo"];

/// The section that marks the shim library (`src/process/init.rs`).
pub const SHIM_SECTION: &str = ".fdset_shim";

/// Whether the ELF file at `path` is the fdset-shim library: a section
/// named [`SHIM_SECTION`]. Read as [`is_go_program`] reads, headers and
/// section names only.
pub fn is_fdset_shim(path: &Path) -> bool {
    has_section_in_file(path, &[SHIM_SECTION.as_bytes()])
}

fn has_section_in_file(path: &Path, names: &[&[u8]]) -> bool {
    use std::os::unix::fs::FileExt;
    let Ok(f) = File::open(path) else {
        return false;
    };
    has_section(|buf, off| f.read_exact_at(buf, off).ok(), names)
}

/// Sections larger than this are not looked at (no real ELF file's section
/// headers or section names come near it).
const MAX_SECTION_READ: usize = 16 << 20;

/// Whether an ELF file, read by `read_at(buf, offset)` (which fills `buf`
/// from `offset` or fails), has a section named one of `wanted`.
fn has_section(read_at: impl Fn(&mut [u8], u64) -> Option<()>, wanted: &[&[u8]]) -> bool {
    let scan = || -> Option<bool> {
        let mut h = [0u8; 64];
        read_at(&mut h, 0)?;
        if !h.starts_with(b"\x7fELF") {
            return Some(false);
        }
        let shoff = le_u64(&h, 40)?;
        let shentsize = le_u16(&h, 58)? as usize;
        let shnum = le_u16(&h, 60)? as usize;
        let shstrndx = le_u16(&h, 62)? as usize;
        if shentsize < 40 || shstrndx >= shnum || shnum * shentsize > MAX_SECTION_READ {
            return Some(false);
        }
        let mut table = vec![0u8; shnum * shentsize];
        read_at(&mut table, shoff)?;
        let names_header = shstrndx * shentsize;
        let names_off = le_u64(&table, names_header + 24)?;
        let names_len = usize::try_from(le_u64(&table, names_header + 32)?).ok()?;
        if names_len > MAX_SECTION_READ {
            return Some(false);
        }
        let mut names = vec![0u8; names_len];
        read_at(&mut names, names_off)?;
        for i in 0..shnum {
            let name = le_u32(&table, i * shentsize)? as usize;
            let s = names.get(name..)?.split(|&b| b == 0).next()?;
            if wanted.contains(&s) {
                return Some(true);
            }
        }
        Some(false)
    };
    scan().unwrap_or(false)
}

fn le_u16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off + 2)?.try_into().ok()?))
}
fn le_u32(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}
fn le_u64(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(off..off + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
