//! Compiles every `c-tests/*.c` into a stand-alone executable (the legacy C
//! programs the integration tests run under the preloaded shim). Per-file
//! extra flags come from a `// build-flags: ...` line in the file.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=c-tests");
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out: the programs go to
    // target/<profile>/c-tests/, where fdset-testkit finds them beside the
    // binaries.
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let profile_dir = out_dir
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is inside target/<profile>");
    let out = profile_dir.join("c-tests");
    std::fs::create_dir_all(&out).expect("create target/<profile>/c-tests");

    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let mut sources: Vec<PathBuf> = std::fs::read_dir("c-tests")
        .expect("read c-tests/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    for src in sources {
        println!("cargo:rerun-if-changed={}", src.display());
        let text = std::fs::read_to_string(&src).expect("read C source");
        let extra: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("// build-flags:"))
            .flat_map(|l| l.split_whitespace())
            .collect();
        let name = src
            .file_stem()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let mut cmd: Command = compiler.to_command();
        cmd.args([
            "-O2",
            "-g",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-D_GNU_SOURCE",
            "-pthread",
        ])
        .args(&extra)
        .arg("-o")
        .arg(out.join(&name))
        .arg(&src)
        .args(["-I", "c-tests"]);
        let status = cmd.status().expect("run the C compiler");
        assert!(status.success(), "compiling {} failed", src.display());
    }
}
