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

/// The message when `lib` is no build of the shim (it has no
/// [`super::elf::SHIM_SECTION`]).
pub fn not_the_shim_text(lib: &Path) -> String {
    format!(
        "{} is not the fdset-shim library (it has no {} section); point FDSET_SHIM_LIB at \
         {FILE_NAME}, or unset it to use the one beside fdset-run",
        lib.display(),
        super::elf::SHIM_SECTION
    )
}

/// Why `lib` cannot go into `LD_PRELOAD`, if it cannot: the loader splits
/// that list at spaces and colons, so such a path would be skipped with a
/// warning and the program would run without its sets.
pub fn unusable_in_ld_preload(lib: &Path) -> Option<String> {
    let text = lib.to_string_lossy();
    if text.contains([' ', ':']) {
        return Some(format!(
            "the shim library's path {} has a space or a colon, at which the loader splits LD_PRELOAD; \
             put the library (or a link to it) at a path without them and point FDSET_SHIM_LIB at it",
            lib.display()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_the_loader_would_split_is_refused() {
        assert!(
            unusable_in_ld_preload(Path::new("/usr/lib/fdset-shim/libfdset_shim.so")).is_none()
        );
        for p in ["/opt/a b/libfdset_shim.so", "/opt/c:d/libfdset_shim.so"] {
            let why = unusable_in_ld_preload(Path::new(p)).expect(p);
            assert!(why.contains(p) && why.contains("space or a colon"), "{why}");
        }
    }

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
