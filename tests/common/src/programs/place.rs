//! Where the real-program suite runs its programs: this host, or (in
//! `crate::trixie`) the Debian 13 chroot.

use crate::TempDir;
use std::path::PathBuf;
use std::process::Command;

/// Where the programs run.
pub trait Place: Sync {
    /// A new empty folder the programs can reach.
    fn scratch(&self, tag: &str) -> Scratch;
    /// `argv` with exactly `env` (and a fixed `PATH` and `LC_ALL=C`), no
    /// preload unless `env` names one.
    fn command(&self, argv: &[String], env: &[(String, String)]) -> Command;
    /// The shim library as the programs see it.
    fn shim(&self) -> String;
}

/// A scratch folder: where the test writes it, and the path the programs
/// use for it. Removed when dropped.
pub struct Scratch {
    pub host: PathBuf,
    pub inside: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.host);
    }
}

/// This machine, with the shim cargo built.
pub struct Host;

impl Place for Host {
    fn scratch(&self, tag: &str) -> Scratch {
        let t = TempDir::new(tag);
        let host = t.0.clone();
        std::mem::forget(t);
        Scratch {
            inside: host.display().to_string(),
            host,
        }
    }
    fn command(&self, argv: &[String], env: &[(String, String)]) -> Command {
        // The interpreter itself, not a wrapper script (see crate::python).
        let mut cmd = if argv[0] == "python3" {
            Command::new(crate::python())
        } else {
            Command::new(&argv[0])
        };
        cmd.args(&argv[1..]).env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("LC_ALL", "C");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    }
    fn shim(&self) -> String {
        crate::shim_lib().display().to_string()
    }
}
