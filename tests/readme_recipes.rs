//! The README's recipes, run exactly as README.md writes them: each recipe
//! is the fenced block after a `<!-- recipe: NAME -->` line, read out of
//! README.md here, so the two cannot drift. Each runs with bash in an empty
//! folder (as root, as the README says), with this build's fdset-run and
//! fdset-ctl first on the PATH; its stdout must be the block after
//! `<!-- output: NAME -->`, and its result must agree with the same work
//! done on the ordinary path.
//!
//! The QEMU system emulator recipe needs QEMU 7.2's `qemu-system-x86_64`,
//! which CI does not install (it would replace the QEMU 10 tools): it is
//! `#[ignore]`d and run by hand (`cargo test --test readme_recipes --
//! --ignored`, with such a QEMU on the PATH), as the README says.
use fdset_testkit::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md")
}

/// The fenced block right after the line `<!-- KIND: NAME -->` (which must
/// occur exactly once), without its fences.
fn block(readme: &str, kind: &str, name: &str) -> String {
    let marker = format!("<!-- {kind}: {name} -->");
    let mut parts = readme.split(marker.as_str());
    parts.next();
    let after = parts
        .next()
        .unwrap_or_else(|| panic!("README.md has no {marker}"));
    assert!(parts.next().is_none(), "README.md has {marker} twice");
    let mut lines = after.strip_prefix('\n').unwrap_or(after).lines();
    let fence = lines.next().unwrap_or_default();
    assert!(
        fence.starts_with("```"),
        "{marker} must be followed by a fenced block, found {fence:?}"
    );
    let mut text = String::new();
    for line in lines {
        if line == "```" {
            return text;
        }
        text.push_str(line);
        text.push('\n');
    }
    panic!("the block after {marker} is not closed");
}

/// The directory the tools under test are in: this build's, or the
/// installed package's with `FDSET_TEST_INSTALLED`.
fn tools_dir() -> PathBuf {
    bin("fdset-run")
        .parent()
        .expect("fdset-run is in a directory")
        .to_path_buf()
}

/// Runs recipe `name` with bash in a new empty folder; returns the folder
/// and the output. The recipe must succeed within `limit`.
fn run_recipe(name: &str, limit: Duration) -> (TempDir, Output) {
    let script = block(&readme(), "recipe", name);
    let dir = TempDir::new(&format!("recipe-{name}"));
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-o", "pipefail", "-c", &script])
        .current_dir(dir.path());
    without_shim_env(&mut cmd);
    if std::env::var_os("FDSET_TEST_INSTALLED").is_none() {
        // What the README tells a source build to set (the bwrap recipe
        // binds the library into the sandbox at this path).
        cmd.env("FDSET_SHIM_LIB", shim_lib());
    } else {
        cmd.env_remove("FDSET_SHIM_LIB");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![tools_dir()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).expect("PATH"));
    let out = output_within(cmd, limit);
    assert!(
        out.status.success(),
        "recipe {name}: status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout_of(&out),
        stderr_of(&out)
    );
    (dir, out)
}

/// The README's output block of recipe `name`.
fn shown_output(name: &str) -> String {
    block(&readme(), "output", name)
}

/// `fd 104` -> `fd N`: the members' numbers inside a program depend on what
/// else it has open.
fn without_fd_numbers(text: &str) -> String {
    text.lines()
        .map(|l| {
            let words: Vec<&str> = l.split(' ').collect();
            let mut out = Vec::with_capacity(words.len());
            for (i, w) in words.iter().enumerate() {
                let after_fd = i > 0 && words[i - 1] == "fd";
                if after_fd && !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
                    out.push("N");
                } else {
                    out.push(w);
                }
            }
            out.join(" ") + "\n"
        })
        .collect()
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: status {:?}: {}",
        out.status,
        stderr_of(&out)
    );
    out
}

/// "A root-only file for another user": nobody reads, through the set, the
/// exact bytes of a 0600 root file it cannot open on its ordinary path.
#[test]
fn recipe_a_root_only_file_for_another_user() {
    let (dir, out) = run_recipe("root-file", Duration::from_secs(60));
    let conf = dir.path().join("db.conf");
    let meta = std::fs::metadata(&conf).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), 0, "the tests run as root");
    // The ordinary path: root reads these bytes, nobody is refused.
    let bytes = std::fs::read(&conf).unwrap();
    let denied = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(&conf)
        .output()
        .expect("run setpriv");
    assert!(!denied.status.success());
    assert!(
        stderr_of(&denied).contains("Permission denied"),
        "{}",
        stderr_of(&denied)
    );
    let expected = [b"nobody\n".as_slice(), &bytes].concat();
    assert_eq!(stdout_of(&out).as_bytes(), expected.as_slice());
    assert_eq!(stdout_of(&out), shown_output("root-file"));
}

/// "A secret that never touches disk": openssl takes the passphrase from a
/// `--data` set; what it encrypted decrypts with the same passphrase given
/// on the ordinary path, and no file in the folder holds the passphrase.
#[test]
fn recipe_b_a_secret_that_never_touches_disk() {
    const PASS: &str = "correct horse battery staple";
    let script = block(&readme(), "recipe", "secret-data");
    assert!(
        script.contains(&format!("pass='{PASS}'")),
        "the recipe's passphrase changed:\n{script}"
    );
    let (dir, out) = run_recipe("secret-data", Duration::from_secs(60));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        let content = std::fs::read(&p).unwrap();
        assert!(
            !content.windows(PASS.len()).any(|w| w == PASS.as_bytes()),
            "{} holds the passphrase",
            p.display()
        );
    }
    let pass_file = dir.file("pass.txt", PASS.as_bytes());
    let plain = run_ok(
        Command::new("openssl")
            .args(["enc", "-d", "-aes-256-cbc", "-pbkdf2", "-pass"])
            .arg(format!("file:{}", pass_file.display()))
            .arg("-in")
            .arg(dir.path().join("plans.enc")),
    );
    let original = std::fs::read(dir.path().join("plans.txt")).unwrap();
    assert_eq!(plain.stdout, original, "decrypted on the ordinary path");
    assert_eq!(out.stdout, original, "decrypted through the set");
    assert_eq!(stdout_of(&out), shown_output("secret-data"));
}

/// "Inside bubblewrap": the sandboxed program reads the set's bytes, and
/// the file's own path, which exists outside, does not exist inside.
#[test]
fn recipe_c_inside_bubblewrap() {
    let (dir, out) = run_recipe("bwrap", Duration::from_secs(60));
    let file = dir.path().join("visible.txt");
    assert!(file.exists(), "the file is there outside the sandbox");
    let expected = [
        std::fs::read(&file).unwrap().as_slice(),
        b"no visible.txt in here\n",
    ]
    .concat();
    assert_eq!(out.stdout, expected);
    assert_eq!(stdout_of(&out), shown_output("bwrap"));
}

/// "QEMU's tools": `qemu-img convert` from a read-only set into a writable
/// one gives the bytes the same conversion gives on ordinary paths.
#[test]
fn recipe_d_qemu_img_convert_through_sets() {
    let (dir, out) = run_recipe("qemu-img", Duration::from_secs(120));
    let plain = dir.path().join("plain.raw");
    run_ok(
        Command::new("qemu-img")
            .args(["convert", "-O", "raw"])
            .arg(dir.path().join("disk.qcow2"))
            .arg(&plain),
    );
    let through_sets = std::fs::read(dir.path().join("disk.raw")).unwrap();
    let ordinary = std::fs::read(&plain).unwrap();
    assert_eq!(through_sets.len(), 64 << 20);
    assert!(
        through_sets[..1 << 20].iter().all(|&b| b == 0x5a),
        "the written megabyte"
    );
    assert!(
        through_sets == ordinary,
        "converted through sets differs from the ordinary conversion"
    );
    assert_eq!(stdout_of(&out), shown_output("qemu-img"));
}

/// "Runtime hotplug with fdset-ctl": the set added at run time is read and
/// written by the program, which then sees it removed; the file ends as the
/// same read and append leave a copy on its ordinary path.
#[test]
fn recipe_f_runtime_hotplug_with_fdset_ctl() {
    let (dir, out) = run_recipe("hotplug", Duration::from_secs(120));
    let copy = dir.file("ordinary.txt", b"first line\n");
    let ordinary = run_ok(
        Command::new(python())
            .arg("-c")
            .arg(
                "import sys\n\
         with open(sys.argv[1], 'r+') as f:\n\
         \x20   seen = f.read()\n\
         \x20   f.write('appended by the program\\n')\n\
         print('the program read:', seen, end='')",
            )
            .arg(&copy),
    );
    let after = std::fs::read_to_string(dir.path().join("notes.txt")).unwrap();
    assert_eq!(after, std::fs::read_to_string(&copy).unwrap());
    let text = stdout_of(&out);
    assert!(
        text.contains(&stdout_of(&ordinary)),
        "the program read what the ordinary path gives: {text}"
    );
    assert!(text.ends_with(&format!("set 5 is gone\n{after}")), "{text}");
    assert_eq!(
        without_fd_numbers(&text),
        without_fd_numbers(&shown_output("hotplug"))
    );
}

/// A QEMU QMP session on a monitor socket, driven by the same `qmp`
/// function the README's recipe defines, on ordinary paths.
fn reopen_cycle_on_the_ordinary_path(dir: &Path) -> String {
    let script = r#"
qemu-img create -q -f qcow2 plain.qcow2 64M
qemu-system-x86_64 -M none -nodefaults -display none -qmp unix:plain.qmp,server=on,wait=off &
until [ -S plain.qmp ]; do sleep 0.1; done
qmp() {
  printf '%s\n' '{"execute": "qmp_capabilities"}' "$1" | socat -t5 - UNIX-CONNECT:plain.qmp | tail -n +3
}
data() {
  echo "{\"driver\": \"qcow2\", \"node-name\": \"data\", \"read-only\": $1, \"file\": {\"driver\": \"file\",
    \"node-name\": \"data-file\", \"filename\": \"$PWD/plain.qcow2\", \"read-only\": $1, \"locking\": \"auto\"}}"
}
qmp "{\"execute\": \"blockdev-add\", \"arguments\": $(data true)}"
for ro in false true false; do
  qmp "{\"execute\": \"blockdev-reopen\", \"arguments\": {\"options\": [$(data $ro)]}}"
done
qmp '{"execute": "quit"}' > /dev/null
wait
"#;
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-o", "pipefail", "-c", script])
        .current_dir(dir);
    let out = output_within(cmd, Duration::from_secs(120));
    assert!(out.status.success(), "{}", stderr_of(&out));
    stdout_of(&out)
}

/// "QEMU's system emulator", by hand: needs QEMU 7.2's qemu-system-x86_64
/// first on the PATH (and socat, jq). The reopen that fails through the
/// set's two descriptions succeeds on the image's ordinary path.
#[test]
#[ignore = "needs QEMU 7.2's qemu-system-x86_64 on the PATH, which CI does not install"]
fn recipe_e_qemu_system_emulator_by_hand() {
    let version = run_ok(Command::new("qemu-system-x86_64").arg("--version"));
    assert!(
        stdout_of(&version).contains("version 7.2"),
        "the recipe was verified with QEMU 7.2: {}",
        stdout_of(&version)
    );
    let (dir, out) = run_recipe("qemu-system", Duration::from_secs(180));
    assert_eq!(
        without_fd_numbers(&stdout_of(&out)),
        without_fd_numbers(&shown_output("qemu-system"))
    );
    // QEMU ends its replies with \r\n.
    let plain = reopen_cycle_on_the_ordinary_path(dir.path());
    let replies: Vec<&str> = plain.lines().collect();
    assert_eq!(replies, ["{\"return\": {}}"; 4], "{plain}");
}
