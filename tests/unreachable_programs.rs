//! Programs LD_PRELOAD cannot reach (spec section 9) are named, not silently
//! broken: for a statically linked program and a musl program, found through
//! a PATH search and behind a `#!` script, fdset-run says in one line why
//! the shim cannot reach it and serves its sets from outside (seccomp mode). The programs are compiled here with
//! `gcc -static` and `musl-gcc` (Debian's musl-tools, installed by
//! .ci/setup); each would write a marker file if it ran.
use fdset_testkit::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAM: &str = "#include <stdio.h>\n\
    int main(int argc, char **argv) {\n\
        FILE *f = fopen(argv[1], \"w\");\n\
        if (f) { fputs(\"ran\\n\", f); fclose(f); }\n\
        return 0;\n\
    }\n";

fn compile(d: &TempDir, compiler: &str, flags: &[&str], name: &str) -> PathBuf {
    let src = d.file(&format!("{name}.c"), PROGRAM.as_bytes());
    let out = d.path().join(name);
    let status = Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("run {compiler} (install musl-tools: .ci/setup does): {e}"));
    assert!(status.success(), "{compiler} failed");
    out
}

fn script(d: &TempDir, name: &str, text: &str) -> PathBuf {
    let p = d.file(name, text.as_bytes());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// fdset-run says exactly `message` on one line, switches to seccomp mode
/// (spec section 9: "automatically, with a note on stderr"), and the
/// program runs.
fn served_with_seccomp(program: &Path, path_var: Option<&Path>, marker: &Path, message: &str) {
    let mut cmd = fdset_run();
    if let Some(p) = path_var {
        cmd.env("PATH", p);
    }
    let _ = std::fs::remove_file(marker);
    let out = output_of_fresh_executable(cmd.arg("--").arg(program).arg(marker));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        format!(
            "fdset-run: {message}: serving its sets from outside it with seccomp (as --seccomp)\n"
        )
    );
    assert!(marker.exists(), "{} did not run", program.display());
}

#[test]
fn a_static_program_is_named_and_served_with_seccomp() {
    let d = TempDir::new("unreach-static");
    let prog = compile(&d, "gcc", &["-static", "-O1"], "static-prog");
    let marker = d.path().join("ran");
    let why = "cannot be preloaded with the shim, because it is statically linked (no dynamic \
               loader runs to read LD_PRELOAD)";
    served_with_seccomp(&prog, None, &marker, &format!("{} {why}", prog.display()));
    // Found through PATH, named as found.
    served_with_seccomp(
        Path::new("static-prog"),
        Some(d.path()),
        &marker,
        &format!("{} {why}", d.path().join("static-prog").display()),
    );
    // The program does run without fdset-run (the check is not what stops it).
    output_of_fresh_executable(Command::new(&prog).arg(&marker));
    assert!(marker.exists());
}

#[test]
fn a_musl_program_is_named_and_served_with_seccomp() {
    let d = TempDir::new("unreach-musl");
    let prog = compile(&d, "musl-gcc", &["-O1"], "musl-prog");
    let marker = d.path().join("ran");
    served_with_seccomp(
        &prog,
        None,
        &marker,
        &format!(
            "{} cannot be preloaded with the shim, because its dynamic loader \
             /lib/ld-musl-x86_64.so.1 is musl's, and the shim is built for glibc",
            prog.display()
        ),
    );
}

#[test]
fn scripts_are_judged_by_their_interpreter() {
    let d = TempDir::new("unreach-script");
    let stat = compile(&d, "gcc", &["-static", "-O1"], "static-interp");
    let musl = compile(&d, "musl-gcc", &["-O1"], "musl-interp");
    let marker = d.path().join("ran");
    let direct = script(&d, "direct", &format!("#!{}\n", stat.display()));
    // The kernel runs the interpreter with the script's path first: the
    // program writes its marker over the script itself.
    let out = output_of_fresh_executable(fdset_run().arg("--").arg(&direct).arg(&marker));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        format!(
            "fdset-run: {} cannot be preloaded with the shim, because it is a script run by {}, which is \
             statically linked (no dynamic loader runs to read LD_PRELOAD): serving its sets from \
             outside it with seccomp (as --seccomp)\n",
            direct.display(),
            stat.display()
        )
    );
    assert_eq!(
        std::fs::read(&direct).unwrap(),
        b"ran\n",
        "the interpreter ran"
    );
    // `#!/usr/bin/env NAME`: the NAME env would find in PATH.
    let via_env = script(&d, "via-env", "#!/usr/bin/env musl-interp\n");
    let path = std::env::join_paths([d.path(), Path::new("/usr/bin"), Path::new("/bin")]).unwrap();
    let mut cmd = fdset_run();
    cmd.env("PATH", &path);
    let out = output_of_fresh_executable(cmd.arg("--").arg(&via_env).arg(&marker));
    // (env runs musl-interp with the script's own path first.)
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        format!(
            "fdset-run: {} cannot be preloaded with the shim, because it is a script run by {}, \
             whose dynamic loader /lib/ld-musl-x86_64.so.1 is musl's, and the shim is built for \
             glibc: serving its sets from outside it with seccomp (as --seccomp)\n",
            via_env.display(),
            musl.display()
        )
    );
}

/// The check passes glibc programs and scripts: they run and read the set.
#[test]
fn glibc_programs_and_scripts_run() {
    let d = TempDir::new("unreach-glibc");
    let prog = compile(&d, "gcc", &["-O1"], "dyn-prog");
    let marker = d.path().join("ran");
    let out = output_of_fresh_executable(fdset_run().arg("--").arg(&prog).arg(&marker));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(marker.exists());
    let f = d.file("in.txt", b"read by a script\n");
    let sh_script = script(&d, "reader", "#!/bin/sh\ncat /dev/fdset/1\n");
    let out = output_of_fresh_executable(
        fdset_run()
            .arg("--file")
            .arg(file_arg(1, &f, "ro"))
            .arg("--")
            .arg(&sh_script),
    );
    assert_eq!(stdout_of(&out), "read by a script\n", "{}", stderr_of(&out));
    let py_script = script(
        &d,
        "reader.py",
        "#!/usr/bin/env python3\nprint(open('/dev/fdset/1').read(), end='')\n",
    );
    let out = output_of_fresh_executable(
        fdset_run()
            .arg("--file")
            .arg(file_arg(1, &f, "ro"))
            .arg("--")
            .arg(&py_script),
    );
    assert_eq!(stdout_of(&out), "read by a script\n", "{}", stderr_of(&out));
}
