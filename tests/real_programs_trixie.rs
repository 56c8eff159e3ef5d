//! The real-program suite inside a Debian 13 (trixie, glibc 2.41) chroot,
//! with the shim built on this Debian 12 host (glibc 2.36) preloaded: a
//! newer glibc whose programs reach entry points the shim does not answer
//! fails here first. Same table and comparisons as tests/real_programs_suite.rs,
//! each program compared with itself on the ordinary path inside the chroot.
//!
//! The chroot is built by `.ci/trixie-chroot` (as root; `.ci/run` does it
//! before the tests). Without it these tests fail when `CI` is set, and
//! otherwise say on stderr that they did not run and why.
use fdset_testkit::programs::{report, run_suite};
use fdset_testkit::trixie::{Trixie, in_ci};
use fdset_testkit::*;
use std::io::Write;

/// The chroot, or `None` after saying why the test does not run (a panic in CI).
fn chroot(test: &str) -> Option<Trixie> {
    match Trixie::find() {
        Ok(t) => Some(t),
        Err(why) if in_ci() => panic!(
            "{test}: CI is set but the Debian 13 chroot cannot be used: {why}. \
             .ci/run builds it with `bash .ci/trixie-chroot` before the tests."
        ),
        Err(why) => {
            // Past the harness's capture: a passing test's output is not shown.
            // One write, so that tests running at once do not interleave.
            let line = format!(
                "{test}: NOT RUN: {why}. Build the chroot with `sudo bash .ci/trixie-chroot` \
                 (CI does, in .ci/run); with CI set this is a failure.\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

/// The glibc number as (major, minor).
fn version(text: &str) -> (u32, u32) {
    let v = text.trim().trim_start_matches("glibc ").trim();
    let mut it = v
        .split('.')
        .map(|n| n.parse::<u32>().expect("glibc version"));
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn the_chroot_has_a_newer_glibc_than_the_host() {
    let Some(t) = chroot("the_chroot_has_a_newer_glibc_than_the_host") else {
        return;
    };
    let host = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("getconf");
    let host = stdout_of(&host);
    let inside = t.glibc();
    let _ = writeln!(
        std::io::stderr(),
        "trixie chroot at {}: {inside}; host: {}",
        t.root().display(),
        host.trim()
    );
    assert!(
        version(&inside) > version(&host),
        "the chroot's {inside} is not newer than the host's {host}"
    );
    assert!(
        version(&inside) >= (2, 41),
        "Debian 13 has glibc 2.41, got {inside}"
    );
}

#[test]
fn every_program_of_the_suite_agrees_with_the_ordinary_path_in_debian_13() {
    let Some(t) = chroot("every_program_of_the_suite_agrees_with_the_ordinary_path_in_debian_13")
    else {
        return;
    };
    let results = run_suite(&t);
    let table = report(
        &format!("real programs in the Debian 13 chroot ({})", t.glibc()),
        &results,
    );
    let _ = std::fs::write(profile_dir().join("real-programs-trixie.txt"), &table);
    let _ = std::io::stderr().write_all(table.as_bytes());
    assert!(
        results.len() >= 10,
        "the chroot suite must run at least ten programs"
    );
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{table}");
}

/// fdset-run built on the host runs inside the chroot too: it opens a file
/// there with its own rights (`--file`), puts its stdin in a sealed memfd
/// (`--data`), and the program started under the newer glibc reads both.
#[test]
fn fdset_run_launches_a_program_inside_debian_13() {
    let Some(t) = chroot("fdset_run_launches_a_program_inside_debian_13") else {
        return;
    };
    use fdset_testkit::programs::Place;
    let dir = t.scratch("fdset-run");
    std::fs::write(dir.host.join("note.txt"), b"a note inside the chroot\n").unwrap();
    let script = "import os\n\
        print(os.path.exists('/dev/fdset/1'), os.path.exists('/dev/fdset/3'))\n\
        print(open('/dev/fdset/1').read(), end='')\n\
        print(open('/dev/fdset/2').read(), end='')\n";
    let argv: Vec<String> = [
        "/opt/fdset-shim/fdset-run",
        "--file",
        &format!("set=1,path={}/note.txt", dir.inside),
        "--data",
        "set=2,path=-",
        "--",
        "python3",
        "-c",
        script,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = output_with_stdin(t.command_in(&argv, &[]), b"secret=from stdin\n");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        "True False\na note inside the chroot\nsecret=from stdin\n"
    );
}

/// The README's "Known not to work", with Debian 13's versions of the
/// programs: each fails on a set with a message and leaves the file behind
/// the set untouched (see tests/real_programs_suite.rs).
#[test]
fn programs_that_need_a_sibling_file_fail_cleanly_on_a_set_in_debian_13() {
    let Some(t) = chroot("programs_that_need_a_sibling_file_fail_cleanly_on_a_set_in_debian_13")
    else {
        return;
    };
    let results = fdset_testkit::programs::run_limits(&t);
    let table = report("known not to work in the Debian 13 chroot", &results).replace(
        "agree with the ordinary path",
        "fail cleanly on a set, losing nothing",
    );
    let _ = std::io::stderr().write_all(table.as_bytes());
    assert!(results.iter().all(|r| r.outcome.is_ok()), "{table}");
}

/// Entry points newer than the host's glibc that Debian 13's programs and
/// libraries call, each looked at: none takes a path, so none needs a hook.
/// A new one (a package update, a new release) fails the test below until
/// it is looked at and either hooked or added here.
const REVIEWED_NEW_ENTRY_POINTS: &[(&str, &str)] = &[
    ("__isoc23_fscanf", "C23 scanf family: a FILE, no path"),
    ("__isoc23_sscanf", "C23 scanf family: a string"),
    ("__isoc23_vfscanf", "C23 scanf family: a FILE"),
    ("__isoc23_strtoimax", "C23 number parsing"),
    ("__isoc23_strtol", "C23 number parsing"),
    ("__isoc23_strtoll", "C23 number parsing"),
    ("__isoc23_strtoul", "C23 number parsing"),
    ("__isoc23_strtoull", "C23 number parsing"),
    ("__isoc23_strtoumax", "C23 number parsing"),
    ("__isoc23_wcstol", "C23 number parsing"),
    ("exp10", "libm"),
    ("fmod", "libm (new version of an old function)"),
    ("strlcpy", "string copy"),
    ("sched_getattr", "scheduler attributes of a thread"),
    ("sched_setattr", "scheduler attributes of a thread"),
];

/// libc calls that take a path and that the shim does not interpose (yet):
/// listed with the programs that import them, for information (spec section
/// 8 names the ones being added).
const PATH_CALLS: &[&str] = &[
    "statfs",
    "statfs64",
    "statvfs",
    "statvfs64",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "readlink",
    "readlinkat",
    "__readlink_chk",
    "__readlinkat_chk",
    "realpath",
    "__realpath_chk",
    "canonicalize_file_name",
    "truncate",
    "truncate64",
    "utimensat",
    "utimes",
    "utime",
    "lutimes",
    "futimesat",
    "chdir",
    "opendir",
    "chmod",
    "fchmodat",
    "chown",
    "lchown",
    "fchownat",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "mknod",
    "mknodat",
    "mkfifo",
    "mkfifoat",
    "setxattr",
    "lsetxattr",
    "removexattr",
    "lremovexattr",
    "pathconf",
    "name_to_handle_at",
    "inotify_add_watch",
];

/// Every ELF file under the chroot's /usr: `(file inside, imported symbol with version)`.
fn imports_in(root: &std::path::Path) -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                walk(&e.path(), out);
            } else if ft.is_file() {
                let mut magic = [0u8; 4];
                use std::io::Read;
                if std::fs::File::open(e.path())
                    .and_then(|mut f| f.read_exact(&mut magic))
                    .is_ok()
                    && magic == *b"\x7fELF"
                {
                    out.push(e.path());
                }
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("usr"), &mut files);
    assert!(
        files.len() > 100,
        "only {} ELF files in the chroot",
        files.len()
    );
    let mut all = Vec::new();
    for chunk in files.chunks(300) {
        let out = std::process::Command::new("nm")
            .args(["-D", "-A", "--undefined-only"])
            .args(chunk)
            .output()
            .expect("run nm (binutils)");
        for line in stdout_of(&out).lines() {
            // "/path/to/file: U name@VERSION"
            let Some((file, rest)) = line.split_once(": ") else {
                continue;
            };
            let Some(sym) = rest.split_whitespace().last() else {
                continue;
            };
            let inside = file
                .strip_prefix(&*root.to_string_lossy())
                .unwrap_or(file)
                .to_string();
            all.push((inside, sym.to_string()));
        }
    }
    all
}

/// "So that newer glibc entry points are caught when they appear": every
/// symbol of a glibc newer than the host's (version node `GLIBC_2.N`, N above
/// the host's) that a program or library in the chroot imports must be one
/// looked at in `REVIEWED_NEW_ENTRY_POINTS`. The path calls the shim does not
/// answer are printed with their importers.
#[test]
fn every_newer_glibc_entry_point_debian_13_uses_was_reviewed() {
    let Some(t) = chroot("every_newer_glibc_entry_point_debian_13_uses_was_reviewed") else {
        return;
    };
    let host = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .expect("getconf");
    let (_, host_minor) = version(&stdout_of(&host));
    let imports = imports_in(t.root());
    let exported: std::collections::BTreeSet<String> = {
        let out = std::process::Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(shim_lib())
            .output()
            .expect("nm the shim");
        stdout_of(&out)
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .map(|s| s.split('@').next().unwrap().to_string())
            .collect()
    };
    let mut new: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut unanswered: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (file, sym) in &imports {
        let (name, ver) = sym.split_once('@').unwrap_or((sym, ""));
        let minor = ver
            .strip_prefix("GLIBC_2.")
            .and_then(|m| m.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        if minor.is_some_and(|m| m > host_minor) {
            new.entry(name.to_string()).or_default().push(file.clone());
        }
        if PATH_CALLS.contains(&name) && !exported.contains(name) {
            unanswered
                .entry(name.to_string())
                .or_default()
                .push(file.clone());
        }
    }
    let mut text = format!(
        "libc entry points newer than the host's glibc 2.{host_minor} imported in the chroot ({} imports read):\n",
        imports.len()
    );
    let mut unreviewed = Vec::new();
    for (name, files) in &new {
        let note = REVIEWED_NEW_ENTRY_POINTS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, why)| *why);
        if note.is_none() {
            unreviewed.push(name.clone());
        }
        text += &format!(
            "  {name:<20} {:<4} files, e.g. {}  [{}]\n",
            files.len(),
            files[0],
            note.unwrap_or("NOT REVIEWED")
        );
    }
    text += "path calls the shim does not answer, imported in the chroot:\n";
    for (name, files) in &unanswered {
        let mut names: Vec<&str> = files
            .iter()
            .map(|f| f.rsplit('/').next().unwrap_or(f))
            .collect();
        names.sort();
        names.dedup();
        let shown: Vec<&str> = names.iter().take(8).copied().collect();
        text += &format!(
            "  {name:<24} {:<4} files: {}{}\n",
            names.len(),
            shown.join(" "),
            if names.len() > 8 { " ..." } else { "" }
        );
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
    assert!(
        unreviewed.is_empty(),
        "new glibc entry points not reviewed (does it take a path? then it needs a hook): {unreviewed:?}\n{text}"
    );
}
