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
            write(&out.join(dir).join(file), &completion(shell, &cmd, &name))?;
        }
    }
    let seven = root().join("docs/fdset-shim.7");
    let page = std::fs::read(&seven).map_err(|e| format!("{}: {e}", seven.display()))?;
    write(&out.join("man7/fdset-shim.7"), &page)?;
    println!("xtask: man pages and completions in {}", out.display());
    Ok(())
}

/// The completion script of `cmd` for `shell`. clap_complete 4.6's bash
/// script names a hyphenated program's subcommands one way where it sets
/// them (`fdset__ctl__subcmd__add__subcmd__fd`) and another in the arms
/// that complete them (`fdset__subcmd__ctl__subcmd__...`, clap issue
/// 6421): nothing after a subcommand of fdset-ctl completed. The arms are
/// renamed to what is set.
fn completion(shell: clap_complete::Shell, cmd: &clap::Command, name: &str) -> Vec<u8> {
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut cmd.clone(), name, &mut text);
    if shell != clap_complete::Shell::Bash || !name.contains('-') {
        return text;
    }
    let wrong = format!("{}__subcmd__", name.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", name.replace('-', "__"));
    String::from_utf8_lossy(&text)
        .replace(&wrong, &right)
        .into_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What bash completes for `words` (the last one being typed) with
    /// fdset-ctl's generated script.
    fn bash_completes(words: &[&str]) -> String {
        let dir = std::env::temp_dir().join(format!("xtask-comp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("fdset-ctl");
        let cmd = fdset_core::cli::ctl::command();
        std::fs::write(
            &script,
            completion(clap_complete::Shell::Bash, &cmd, "fdset-ctl"),
        )
        .unwrap();
        let driver = r#"source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_fdset__ctl "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
echo "${COMPREPLY[*]}""#;
        let out = Command::new("bash")
            .args(["-c", driver, "bash"])
            .arg(&script)
            .args(words)
            .output()
            .expect("bash");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The packaged bash completion completes fdset-ctl's subcommands and
    /// each one's options (README "Install": bash, zsh and fish completions).
    #[test]
    fn bash_completes_the_options_of_a_subcommand() {
        let top = bash_completes(&["fdset-ctl", ""]);
        assert!(
            top.contains("add-fd") && top.contains("query-fdsets"),
            "{top}"
        );
        let add = bash_completes(&["fdset-ctl", "add-fd", "--"]);
        for opt in ["--set", "--mode", "--path", "--fd", "--opaque"] {
            assert!(
                add.split(' ').any(|w| w == opt),
                "add-fd: no {opt} in '{add}'"
            );
        }
        let remove = bash_completes(&["fdset-ctl", "remove-fd", "--"]);
        assert!(
            remove.split(' ').any(|w| w == "--set"),
            "remove-fd: '{remove}'"
        );
    }
}
