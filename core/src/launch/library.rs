//! Where fdset-run finds `libfdset_shim.so`: `FDSET_SHIM_LIB`, then beside
//! the fdset-run executable (a cargo build), then `../lib/fdset-shim/` and
//! `../lib/<multiarch>/fdset-shim/` relative to it (an install under a
//! prefix, and the Debian package's `/usr/lib/x86_64-linux-gnu/fdset-shim/`).

use std::path::{Path, PathBuf};

/// The library's file name.
pub const FILE_NAME: &str = "libfdset_shim.so";

/// Debian's multiarch name of the machine fdset-run was built for
/// (`x86_64-linux-gnu`).
pub fn multiarch() -> String {
    format!("{}-linux-gnu", std::env::consts::ARCH)
}

/// The places looked at, in order, for an fdset-run at `exe` (without
/// `FDSET_SHIM_LIB`, which wins when set).
pub fn candidates(exe: &Path) -> Vec<PathBuf> {
    let Some(bin) = exe.parent() else {
        return Vec::new();
    };
    let mut out = vec![bin.join(FILE_NAME)];
    if let Some(prefix) = bin.parent() {
        out.push(prefix.join("lib/fdset-shim").join(FILE_NAME));
        out.push(
            prefix
                .join("lib")
                .join(multiarch())
                .join("fdset-shim")
                .join(FILE_NAME),
        );
    }
    out
}

/// The message when none of `looked` holds the library: every place, and
/// the two ways out.
pub fn not_found_text(looked: &[PathBuf]) -> String {
    let places: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    format!(
        "cannot find {FILE_NAME}; looked in: {} (install the package, build it with `cargo build --release`, or set FDSET_SHIM_LIB=/path/to/{FILE_NAME})",
        places.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn beside_then_lib_then_multiarch_lib() {
        let c = candidates(Path::new("/usr/bin/fdset-run"));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/usr/bin/libfdset_shim.so"),
                PathBuf::from("/usr/lib/fdset-shim/libfdset_shim.so"),
                PathBuf::from("/usr/lib/x86_64-linux-gnu/fdset-shim/libfdset_shim.so"),
            ]
        );
        let text = not_found_text(&c);
        for p in &c {
            assert!(text.contains(&p.display().to_string()), "{text}");
        }
        assert!(text.contains("FDSET_SHIM_LIB"), "{text}");
    }
}
