//! `cargo xtask dist`: man pages (from the clap definitions the binaries
//! parse with, and `docs/fdset-shim.7`) and bash, zsh and fish completions,
//! written to `target/dist/`.
//! `cargo xtask deb`: a release build, `dist`, then `cargo deb` (the
//! package's contents are `[package.metadata.deb]` in the root Cargo.toml).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("dist") => dist(),
        Some("deb") => deb(),
        _ => Err("usage: cargo xtask dist|deb".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is in the workspace")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The generated files, in the layout the package installs them in.
fn dist() -> Result<(), String> {
    let out = target_dir().join("dist");
    let commands = [
        fdset_core::cli::run::command(),
        fdset_core::cli::ctl::command(),
    ];
    for dir in ["man1", "man7", "bash", "zsh", "fish"] {
        std::fs::create_dir_all(out.join(dir))
            .map_err(|e| format!("{}: {e}", out.join(dir).display()))?;
    }
    for cmd in commands {
        let name = cmd.get_name().to_string();
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone())
            .render(&mut page)
            .map_err(|e| format!("{name}.1: {e}"))?;
        write(&out.join("man1").join(format!("{name}.1")), &page)?;
        use clap_complete::Shell;
        for (shell, dir, file) in [
            (Shell::Bash, "bash", name.clone()),
            (Shell::Zsh, "zsh", format!("_{name}")),
            (Shell::Fish, "fish", format!("{name}.fish")),
        ] {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), &name, &mut text);
            write(&out.join(dir).join(file), &text)?;
        }
    }
    let seven = root().join("docs/fdset-shim.7");
    let page = std::fs::read(&seven).map_err(|e| format!("{}: {e}", seven.display()))?;
    write(&out.join("man7/fdset-shim.7"), &page)?;
    println!("xtask: man pages and completions in {}", out.display());
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

fn deb() -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(&cargo).current_dir(root()).args([
        "build",
        "--release",
        "--package",
        "fdset-shim",
        "--lib",
        "--bins",
    ]))?;
    dist()?;
    let have_cargo_deb = Command::new(&cargo)
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_cargo_deb {
        return Err("cargo-deb is not installed: cargo install cargo-deb --locked".to_string());
    }
    run(Command::new(&cargo).current_dir(root()).args([
        "deb",
        "--package",
        "fdset-shim",
        "--no-build",
        "--strip",
    ]))
}
