//! Which programs the preload cannot reach, from their ELF headers: no
//! interpreter (statically linked, also static-pie), an interpreter that is
//! not glibc's (musl), or a Go program (it makes its own system calls,
//! whatever it links).

use std::io::Read;
use std::path::{Path, PathBuf};

/// The dynamic loaders of glibc, which honour `LD_PRELOAD` for the shim.
const GLIBC_LOADERS: &[&str] = &[
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "ld-linux.so.2",
];

/// Why `program` needs seccomp mode, or `None` (a glibc program, a script,
/// or a file that cannot be read: the ordinary launch reports that).
pub fn needs_seccomp(program: &Path) -> Option<String> {
    let mut data = Vec::new();
    std::fs::File::open(program)
        .ok()?
        .take(64 << 20)
        .read_to_end(&mut data)
        .ok()?;
    classify(&data)
}

/// [`needs_seccomp`] of a program named as `execvp` would find it.
pub fn needs_seccomp_program(name: &std::ffi::OsStr) -> Option<String> {
    needs_seccomp(&resolve(name)?)
}

fn resolve(name: &std::ffi::OsStr) -> Option<PathBuf> {
    let p = Path::new(name);
    if name.to_string_lossy().contains('/') {
        return Some(p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(p))
        .find(|c| c.is_file())
}

fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off + 2)?.try_into().ok()?))
}
fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}
fn u64_at(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(off..off + 8)?.try_into().ok()?))
}

/// The decision on an ELF image (64-bit little-endian only: the shim's
/// architectures).
pub fn classify(d: &[u8]) -> Option<String> {
    if d.get(..4)? != b"\x7fELF" || *d.get(4)? != 2 || *d.get(5)? != 1 {
        return None;
    }
    let e_type = u16_at(d, 16)?;
    if e_type != 2 && e_type != 3 {
        return None; // not an executable or a PIE
    }
    let phoff = u64_at(d, 32)? as usize;
    let phentsize = u16_at(d, 54)? as usize;
    let phnum = u16_at(d, 56)? as usize;
    let mut interp = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        // PT_INTERP
        if u32_at(d, ph)? == 3 {
            let off = u64_at(d, ph + 8)? as usize;
            let size = u64_at(d, ph + 32)? as usize;
            let raw = d.get(off..off + size)?;
            let s = raw.split(|&b| b == 0).next()?;
            interp = Some(String::from_utf8_lossy(s).into_owned());
        }
    }
    if is_go(d) {
        return Some("a Go program, which makes its own system calls".into());
    }
    match interp {
        // Also a static-pie (ET_DYN without an interpreter).
        None => Some("statically linked".into()),
        Some(i) => {
            let name = i.rsplit('/').next().unwrap_or(&i);
            if GLIBC_LOADERS.contains(&name) {
                None
            } else {
                Some(format!("its interpreter {i} is not glibc's"))
            }
        }
    }
}

/// A section named `.note.go.buildid` or `.go.buildinfo`.
fn is_go(d: &[u8]) -> bool {
    let shdr = || -> Option<bool> {
        let shoff = u64_at(d, 40)? as usize;
        let shentsize = u16_at(d, 58)? as usize;
        let shnum = u16_at(d, 60)? as usize;
        let shstrndx = u16_at(d, 62)? as usize;
        let strtab = shoff + shstrndx * shentsize;
        let str_off = u64_at(d, strtab + 24)? as usize;
        for i in 0..shnum {
            let sh = shoff + i * shentsize;
            let name = u32_at(d, sh)? as usize;
            let start = str_off + name;
            let s = d.get(start..)?.split(|&b| b == 0).next()?;
            if s == b".note.go.buildid" || s == b".go.buildinfo" {
                return Some(true);
            }
        }
        Some(false)
    };
    shdr().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_programs_are_preloaded() {
        // This test binary itself is linked against glibc.
        let me = std::env::current_exe().unwrap();
        assert_eq!(needs_seccomp(&me), None);
        assert_eq!(needs_seccomp(Path::new("/bin/sh")), None);
    }

    #[test]
    fn scripts_and_garbage_are_not_elf() {
        assert_eq!(classify(b"#!/bin/sh\necho hi\n"), None);
        assert_eq!(classify(b"\x7fELF"), None);
        assert_eq!(classify(b""), None);
    }
}
