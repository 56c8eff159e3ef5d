use super::*;
use std::io::Cursor;

/// A minimal little-endian ELF file: header, one program header table,
/// and the interpreter string when given.
fn elf64(machine: u16, kind: u16, interp: Option<&str>) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2; // 64-bit
    b[5] = 1; // little-endian
    b[6] = 1;
    b[16..18].copy_from_slice(&kind.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    b[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    let entries: u16 = if interp.is_some() { 2 } else { 1 };
    b[56..58].copy_from_slice(&entries.to_le_bytes());
    // PT_LOAD first, then PT_INTERP pointing past the table.
    let mut load = vec![0u8; 56];
    load[..4].copy_from_slice(&1u32.to_le_bytes());
    b.extend(load);
    if let Some(i) = interp {
        let at = 64 + 56 * 2;
        let mut e = vec![0u8; 56];
        e[..4].copy_from_slice(&PT_INTERP.to_le_bytes());
        e[8..16].copy_from_slice(&(at as u64).to_le_bytes());
        e[32..40].copy_from_slice(&(i.len() as u64 + 1).to_le_bytes());
        b.extend(e);
        b.extend(i.as_bytes());
        b.push(0);
    }
    b
}

fn elf32(machine: u16, interp: bool) -> Vec<u8> {
    let mut b = vec![0u8; 52];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 1;
    b[5] = 1;
    b[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[28..32].copy_from_slice(&52u32.to_le_bytes());
    b[42..44].copy_from_slice(&32u16.to_le_bytes());
    b[44..46].copy_from_slice(&1u16.to_le_bytes());
    let mut e = vec![0u8; 32];
    if interp {
        let path = b"/lib/ld-linux.so.2\0";
        e[..4].copy_from_slice(&PT_INTERP.to_le_bytes());
        e[4..8].copy_from_slice(&(84u32).to_le_bytes());
        e[16..20].copy_from_slice(&(path.len() as u32).to_le_bytes());
        b.extend(e);
        b.extend(path);
    } else {
        b.extend(e);
    }
    b
}

fn facts(bytes: Vec<u8>) -> ElfFacts {
    inspect(&mut Cursor::new(bytes))
        .unwrap()
        .expect("an ELF file")
}

#[test]
fn glibc_program_is_reachable() {
    let f = facts(elf64(
        HOST_MACHINE,
        ET_DYN,
        Some("/lib64/ld-linux-x86-64.so.2"),
    ));
    assert_eq!(f.bits, 64);
    assert_eq!(
        f.interpreter,
        Some(PathBuf::from("/lib64/ld-linux-x86-64.so.2"))
    );
    assert_eq!(reason(&f), None);
    // Nix-style store paths end in the same loader name.
    let f = facts(elf64(
        HOST_MACHINE,
        ET_EXEC,
        Some("/nix/store/abc-glibc-2.38/lib/ld-linux-x86-64.so.2"),
    ));
    assert_eq!(reason(&f), None);
}

#[test]
fn static_and_static_pie_programs() {
    assert_eq!(
        reason(&facts(elf64(HOST_MACHINE, ET_EXEC, None))),
        Some(Reason::Static)
    );
    assert_eq!(
        reason(&facts(elf64(HOST_MACHINE, ET_DYN, None))),
        Some(Reason::Static)
    );
}

#[test]
fn musl_and_other_loaders() {
    let musl = "/lib/ld-musl-x86_64.so.1";
    assert_eq!(
        reason(&facts(elf64(HOST_MACHINE, ET_DYN, Some(musl)))),
        Some(Reason::Musl(musl.into()))
    );
    assert_eq!(
        reason(&facts(elf64(
            HOST_MACHINE,
            ET_DYN,
            Some("/system/bin/linker64")
        ))),
        Some(Reason::OtherLoader("/system/bin/linker64".into()))
    );
}

#[test]
fn other_machines_and_32_bit() {
    let other = if HOST_MACHINE == EM_X86_64 {
        EM_AARCH64
    } else {
        EM_X86_64
    };
    assert_eq!(
        reason(&facts(elf64(
            other,
            ET_DYN,
            Some("/lib/ld-linux-aarch64.so.1")
        ))),
        Some(Reason::Machine(other))
    );
    let f = facts(elf32(EM_386, true));
    assert_eq!(
        (f.bits, f.interpreter.clone()),
        (32, Some("/lib/ld-linux.so.2".into()))
    );
    assert_eq!(reason(&f), Some(Reason::Bits(32)));
    // Not a program: left to exec.
    assert_eq!(reason(&facts(elf64(HOST_MACHINE, 4, None))), None);
}

#[test]
fn not_elf_and_broken_elf() {
    assert_eq!(
        inspect(&mut Cursor::new(b"#!/bin/sh\n".to_vec())).unwrap(),
        None
    );
    assert_eq!(inspect(&mut Cursor::new(Vec::new())).unwrap(), None);
    let mut b = elf64(HOST_MACHINE, ET_DYN, Some("/lib/ld-musl-x86_64.so.1"));
    b.truncate(100);
    assert!(
        inspect(&mut Cursor::new(b)).is_err(),
        "program headers cut off"
    );
    let mut b = elf64(HOST_MACHINE, ET_DYN, None);
    b[4] = 9;
    assert!(inspect(&mut Cursor::new(b)).is_err());
}

#[test]
fn shebang_lines() {
    assert_eq!(shebang(b"#!/bin/sh\necho"), Some(("/bin/sh".into(), None)));
    assert_eq!(
        shebang(b"#! /usr/bin/env  python3 -u \n"),
        Some(("/usr/bin/env".into(), Some("python3 -u".into())))
    );
    assert_eq!(shebang(b"#!\n"), None);
    assert_eq!(shebang(b"\x7fELF"), None);
    assert_eq!(
        env_program(OsStr::new("-S A=1 python3 -u")),
        Some(OsStr::new("python3"))
    );
    assert_eq!(env_program(OsStr::new("-i")), None);
}

#[test]
fn path_search_as_execvp() {
    let d = std::env::temp_dir().join(format!("fdset-core-elf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("a")).unwrap();
    std::fs::create_dir_all(d.join("b")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let write = |p: PathBuf, mode| {
        std::fs::write(&p, b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    write(d.join("a/prog"), 0o644);
    let runnable = write(d.join("b/prog"), 0o755);
    let path = OsString::from(format!(
        "{}:{}",
        d.join("a").display(),
        d.join("b").display()
    ));
    assert_eq!(
        find_program(OsStr::new("prog"), Some(&path)).unwrap(),
        runnable
    );
    assert_eq!(
        find_program(OsStr::new("nope"), Some(&path))
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        find_program(runnable.as_os_str(), Some(&path)).unwrap(),
        runnable
    );
    assert_eq!(
        find_program(OsStr::new("./x/y"), Some(&path))
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        find_program(d.join("a/prog").as_os_str(), Some(&path))
            .unwrap_err()
            .kind(),
        io::ErrorKind::PermissionDenied
    );
    assert_eq!(
        path_dirs(Some(OsStr::new("/x::"))),
        ["/x", ".", "."].map(PathBuf::from)
    );
    assert_eq!(path_dirs(None), ["/bin", "/usr/bin"].map(PathBuf::from));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn scripts_are_judged_by_their_interpreter() {
    let d = std::env::temp_dir().join(format!("fdset-core-script-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let static_prog = d.join("static-interp");
    std::fs::write(&static_prog, elf64(HOST_MACHINE, ET_EXEC, None)).unwrap();
    let script = d.join("script");
    std::fs::write(&script, format!("#!{} -x\n", static_prog.display())).unwrap();
    let u = cannot_preload(&script, None).expect("refused");
    assert_eq!(u.reason, Reason::Static);
    assert_eq!(u.elf, static_prog);
    assert_eq!(
        u.to_string(),
        format!(
            "{} cannot be preloaded with the shim, because it is a script run by {}, which \
             is statically linked (no dynamic loader runs to read LD_PRELOAD)",
            script.display(),
            static_prog.display()
        )
    );
    // Through env and PATH.
    let musl = d.join("musl-prog");
    std::fs::write(
        &musl,
        elf64(HOST_MACHINE, ET_DYN, Some("/lib/ld-musl-x86_64.so.1")),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&musl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let via_env = d.join("via-env");
    std::fs::write(&via_env, "#!/usr/bin/env -S musl-prog --flag\n").unwrap();
    let u = cannot_preload(&via_env, Some(d.as_os_str())).expect("refused");
    assert_eq!(u.reason, Reason::Musl("/lib/ld-musl-x86_64.so.1".into()));
    assert_eq!(u.scripts, [PathBuf::from("/usr/bin/env"), musl.clone()]);
    assert_eq!(
        u.to_string(),
        format!(
            "{} cannot be preloaded with the shim, because it is a script run by {}, whose \
             dynamic loader /lib/ld-musl-x86_64.so.1 is musl's, and the shim is built for glibc",
            via_env.display(),
            musl.display()
        )
    );
    // A script of glibc's own sh is fine, and so is a file nobody can read.
    let sh_script = d.join("sh-script");
    std::fs::write(&sh_script, "#!/bin/sh\n").unwrap();
    assert_eq!(cannot_preload(&sh_script, None), None);
    assert_eq!(cannot_preload(&d.join("missing"), None), None);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn this_machines_own_programs() {
    // Debian's programs are glibc-linked; the loader itself runs programs.
    assert_eq!(cannot_preload(Path::new("/bin/sh"), None), None);
    assert_eq!(cannot_preload(Path::new("/bin/cat"), None), None);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        cannot_preload(Path::new("/lib64/ld-linux-x86-64.so.2"), None),
        None
    );
}

/// A 64-bit ELF header followed by two section headers (one named `name`,
/// then the section names) and the names themselves.
fn elf_with_section(name: &str) -> Vec<u8> {
    let mut d = elf64(62, 2, None);
    d.resize(64, 0);
    let names = format!("\0{name}\0");
    d[40..48].copy_from_slice(&64u64.to_le_bytes()); // e_shoff
    d[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    d[60..62].copy_from_slice(&2u16.to_le_bytes()); // e_shnum
    d[62..64].copy_from_slice(&1u16.to_le_bytes()); // e_shstrndx
    let mut first = [0u8; 64];
    first[0..4].copy_from_slice(&1u32.to_le_bytes());
    let mut strtab = [0u8; 64];
    strtab[24..32].copy_from_slice(&192u64.to_le_bytes());
    strtab[32..40].copy_from_slice(&(names.len() as u64).to_le_bytes());
    d.extend_from_slice(&first);
    d.extend_from_slice(&strtab);
    d.extend_from_slice(names.as_bytes());
    d
}

fn read_from(d: &[u8]) -> impl Fn(&mut [u8], u64) -> Option<()> + '_ {
    |buf, off| {
        let from = usize::try_from(off).ok()?;
        buf.copy_from_slice(d.get(from..from.checked_add(buf.len())?)?);
        Some(())
    }
}

#[test]
fn go_sections_are_found_from_the_headers_alone() {
    for (name, go) in [
        (".go.buildinfo", true),
        (".note.go.buildid", true),
        (".text", false),
        (".go.buildinf", false),
    ] {
        let d = elf_with_section(name);
        assert_eq!(has_section(read_from(&d), GO_SECTIONS), go, "{name}");
        // Cut anywhere: never a Go program, never a panic.
        for cut in 0..d.len() {
            assert!(
                !has_section(read_from(&d[..cut]), GO_SECTIONS),
                "{name} cut at {cut}"
            );
        }
    }
    assert!(!has_section(read_from(b"#!/bin/sh\n"), GO_SECTIONS));
    assert!(!is_go_program(Path::new("/nonexistent/program")));
}

#[test]
fn the_shim_is_known_by_its_section() {
    let shim: &[&[u8]] = &[SHIM_SECTION.as_bytes()];
    assert!(has_section(
        read_from(&elf_with_section(".fdset_shim")),
        shim
    ));
    assert!(!has_section(read_from(&elf_with_section(".text")), shim));
    assert!(!has_section(
        read_from(&elf_with_section(".go.buildinfo")),
        shim
    ));
    assert!(!is_fdset_shim(Path::new("/nonexistent/libfdset_shim.so")));
}
