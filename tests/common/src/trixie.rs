//! The Debian 13 (trixie) chroot that `.ci/trixie-chroot` builds, as a
//! place to run the real-program suite (`programs`): each program starts in
//! a mount namespace of its own (`unshare --mount`, so nothing stays mounted
//! on the host) with `/proc` mounted and the host's `target/<profile>/` (the
//! shim and `fdset-run` built here, on the older glibc) bind-mounted
//! read-only on `/opt/fdset-shim`, then `chroot`s there and runs with exactly
//! the environment given (`env -i`), so nothing of the host's reaches it.

use crate::programs::{Place, Scratch};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `.ci/trixie-chroot` builds it (`FDSET_TRIXIE_ROOT`, as there).
pub fn root() -> PathBuf {
    std::env::var_os("FDSET_TRIXIE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/fdset-shim/trixie"))
}

/// The file a finished build leaves (its first line names the packages).
pub const MARKER: &str = ".fdset-shim-chroot";

/// Where the shim's folder is mounted inside.
pub const SHIM_DIR: &str = "/opt/fdset-shim";

pub struct Trixie {
    root: PathBuf,
    shim_dir: PathBuf,
}

/// In CI (`CI` set, not `false` or `0`) a suite that cannot run fails.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl Trixie {
    /// The built chroot, or why it cannot be used.
    pub fn find() -> Result<Trixie, String> {
        let root = root();
        if !root.join(MARKER).is_file() {
            return Err(format!(
                "no finished Debian 13 chroot at {} (no {MARKER} in it)",
                root.display()
            ));
        }
        if !root.join(SHIM_DIR.trim_start_matches('/')).is_dir() {
            return Err(format!("{} has no {SHIM_DIR}", root.display()));
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err("running it needs root (unshare --mount, chroot)".into());
        }
        crate::shim_lib();
        Ok(Trixie {
            root,
            shim_dir: crate::profile_dir(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `argv` inside the chroot with exactly `env` (plus `PATH`, `LC_ALL=C`).
    pub fn command_in(&self, argv: &[String], env: &[(String, String)]) -> Command {
        const ENTER: &str = r#"root=$1 shim=$2; shift 2
mount -t proc proc "$root/proc" &&
mount --bind "$shim" "$root/opt/fdset-shim" &&
mount -o remount,bind,ro "$root/opt/fdset-shim" &&
exec chroot "$root" "$@""#;
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
            .arg(ENTER)
            .arg("sh")
            .arg(&self.root)
            .arg(&self.shim_dir)
            .args(["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "LC_ALL=C"])
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .args(argv)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }

    /// `getconf GNU_LIBC_VERSION` inside, e.g. `glibc 2.41`.
    pub fn glibc(&self) -> String {
        let argv = vec!["getconf".to_string(), "GNU_LIBC_VERSION".to_string()];
        let out = self.command_in(&argv, &[]).output().expect("run getconf");
        assert!(out.status.success(), "getconf: {}", crate::stderr_of(&out));
        crate::stdout_of(&out).trim().to_string()
    }
}

impl Place for Trixie {
    fn scratch(&self, tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let inside = format!(
            "/tmp/fdset-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let host = self.root.join(inside.trim_start_matches('/'));
        let _ = std::fs::remove_dir_all(&host);
        std::fs::create_dir_all(&host).expect("create a folder in the chroot");
        Scratch { host, inside }
    }
    fn command(&self, argv: &[String], env: &[(String, String)]) -> Command {
        self.command_in(argv, env)
    }
    fn shim(&self) -> String {
        format!("{SHIM_DIR}/libfdset_shim.so")
    }
}
