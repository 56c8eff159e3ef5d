//! One meaning of access modes in fdset-run's `mode=` and fdset-ctl's
//! `--mode`: `ro` one O_RDONLY member, `wo` one O_WRONLY member, `rw` one of
//! each (O_RDWR, O_RDONLY, O_WRONLY). An open is served only by a member of
//! exactly its access mode (spec section 2, "Open" step 3). Each mode is
//! served to cat, a shell `>`, `>>`, `dd conv=notrunc` and Python's
//! `open(p, 'r+')`, through fdset-run and through fdset-ctl, and every
//! result is compared with the same program on the ordinary path.
use fdset_testkit::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const CONTENT: &[u8] = b"0123456789\n";

/// A program that opens PATH the way real writers and readers do.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// `cat PATH`: O_RDONLY.
    Cat,
    /// `echo new > PATH`: O_WRONLY|O_CREAT|O_TRUNC.
    Truncate,
    /// `echo more >> PATH`: O_WRONLY|O_CREAT|O_APPEND.
    Append,
    /// `printf ZZ | dd of=PATH bs=1 seek=2 conv=notrunc`: O_WRONLY|O_CREAT.
    DdNotrunc,
    /// Python `open(PATH, 'r+')`, read, then overwrite the start: O_RDWR.
    ReadPlus,
}

const OPS: [Op; 5] = [
    Op::Cat,
    Op::Truncate,
    Op::Append,
    Op::DdNotrunc,
    Op::ReadPlus,
];

impl Op {
    /// The program and its arguments for `path`.
    fn argv(self, path: &str) -> Vec<String> {
        let sh = |s: String| vec!["sh".to_string(), "-c".to_string(), s];
        match self {
            Op::Cat => vec!["cat".into(), path.into()],
            Op::Truncate => sh(format!("echo new > {path}")),
            Op::Append => sh(format!("echo more >> {path}")),
            Op::DdNotrunc => sh(format!(
                "printf ZZ | dd of={path} bs=1 seek=2 conv=notrunc status=none"
            )),
            Op::ReadPlus => vec![
                python().display().to_string(),
                "-c".into(),
                format!(
                    "f = open('{path}', 'r+'); print(f.read(), end=''); f.seek(0); f.write('AB'); f.close()"
                ),
            ],
        }
    }

    /// The access mode of the open.
    fn needs(self) -> &'static str {
        match self {
            Op::Cat => "ro",
            Op::Truncate | Op::Append | Op::DdNotrunc => "wo",
            Op::ReadPlus => "rw",
        }
    }

    /// Whether a set of `mode` holds a member this open can use.
    fn served_by(self, mode: &str) -> bool {
        mode == "rw" || mode == self.needs()
    }
}

/// What a run left: its status, its stdout, and the file.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    success: bool,
    stdout: String,
    file: Vec<u8>,
}

fn outcome(out: &Output, file: &Path) -> Outcome {
    Outcome {
        success: out.status.success(),
        stdout: stdout_of(out),
        file: std::fs::read(file).unwrap(),
    }
}

/// The operation on the ordinary path, without the shim.
fn on_the_path(d: &TempDir, op: Op) -> Outcome {
    let f = d.file(&format!("plain-{op:?}"), CONTENT);
    let argv = op.argv(&f.display().to_string());
    let mut cmd = Command::new(&argv[0]);
    without_shim_env(&mut cmd);
    let out = cmd.args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{op:?} on the path: {}",
        stderr_of(&out)
    );
    outcome(&out, &f)
}

/// Served, the result is the ordinary path's; refused, the open fails with
/// EACCES ("Permission denied") and the file is untouched.
fn check(op: Op, mode: &str, via: &str, got: Outcome, stderr: &str, d: &TempDir) {
    if op.served_by(mode) {
        assert_eq!(
            got,
            on_the_path(d, op),
            "{op:?} on a mode={mode} set through {via}: {stderr}"
        );
    } else {
        assert!(
            !got.success,
            "{op:?} on a mode={mode} set through {via} must fail"
        );
        assert!(
            stderr.contains("Permission denied"),
            "{op:?}, mode={mode}, {via}: {stderr}"
        );
        assert_eq!(got.file, CONTENT, "{op:?}, mode={mode}, {via}: untouched");
    }
}

#[test]
fn each_mode_through_fdset_run() {
    let d = TempDir::new("modes-run");
    for mode in ["ro", "wo", "rw"] {
        for op in OPS {
            let f = d.file(&format!("run-{mode}-{op:?}"), CONTENT);
            let argv = op.argv("/dev/fdset/1");
            let out = output_within(
                {
                    let mut c = fdset_run();
                    c.arg("--file")
                        .arg(file_arg(1, &f, mode))
                        .arg("--")
                        .args(&argv);
                    c
                },
                Duration::from_secs(30),
            );
            check(
                op,
                mode,
                "fdset-run",
                outcome(&out, &f),
                &stderr_of(&out),
                &d,
            );
        }
    }
}

#[test]
fn each_mode_through_fdset_ctl() {
    let d = TempDir::new("modes-ctl");
    for mode in ["ro", "wo", "rw"] {
        for op in OPS {
            let f = d.file(&format!("ctl-{mode}-{op:?}"), CONTENT);
            let sock = d.path().join(format!("{mode}-{op:?}.qmp"));
            // The program waits for set 1 to exist and for fdset-ctl to
            // have added all of its members (`rw` adds three, one by one:
            // an operation started after the first could find no member of
            // its mode yet), then runs the operation.
            let ready = d.path().join(format!("{mode}-{op:?}.ready"));
            let mut child = fdset_run()
                .arg("--qmp")
                .arg(&sock)
                .env("READY", &ready)
                .args([
                    "--",
                    "sh",
                    "-c",
                    "while [ ! -e /dev/fdset/1 ] || [ ! -e \"$READY\" ]; do sleep 0.02; done; exec \"$@\"",
                    "sh",
                ])
                .args(op.argv("/dev/fdset/1"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            wait_for_path(&sock, &mut child);
            let add = Command::new(bin("fdset-ctl"))
                .arg("--socket")
                .arg(&sock)
                .args(["add-fd", "--set", "1", "--mode", mode, "--path"])
                .arg(&f)
                .output()
                .unwrap();
            assert!(add.status.success(), "{}", stderr_of(&add));
            std::fs::write(&ready, b"").expect("ready file");
            let printed = stdout_of(&add);
            let want_modes: &[&str] = match mode {
                "ro" => &["O_RDONLY"],
                "wo" => &["O_WRONLY"],
                _ => &["O_RDWR", "O_RDONLY", "O_WRONLY"],
            };
            let modes: Vec<&str> = printed
                .lines()
                .map(|l| l.rsplit(' ').next().unwrap())
                .collect();
            assert_eq!(
                modes, want_modes,
                "fdset-ctl prints each member's mode: {printed}"
            );
            let out = child.wait_with_output().unwrap();
            check(
                op,
                mode,
                "fdset-ctl",
                outcome(&out, &f),
                &stderr_of(&out),
                &d,
            );
        }
    }
}

/// fdset-ctl's `--path` is read-only unless told otherwise, like
/// fdset-run's `--file`; `wo` and `rw` create a missing file, never
/// truncate an existing one.
#[test]
fn fdset_ctl_path_defaults_to_read_only_and_creates_for_writing() {
    let d = TempDir::new("modes-ctl-default");
    let f = d.file("existing", CONTENT);
    let missing = d.path().join("created");
    let sock = d.path().join("q");
    let mut child = fdset_run()
        .arg("--qmp")
        .arg(&sock)
        .args(["--", "sleep", "30"])
        .spawn()
        .unwrap();
    wait_for_path(&sock, &mut child);
    let ctl = |args: &[&str], path: &Path| {
        let out = Command::new(bin("fdset-ctl"))
            .arg("--socket")
            .arg(&sock)
            .args(args)
            .arg("--path")
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        stdout_of(&out)
    };
    let out = ctl(&["add-fd"], &f);
    assert!(
        out.ends_with(" O_RDONLY\n") && out.lines().count() == 1,
        "{out}"
    );
    let out = ctl(&["add-fd", "--mode", "rw"], &f);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(std::fs::read(&f).unwrap(), CONTENT, "not truncated");
    let out = ctl(&["add-fd", "--mode", "wo"], &missing);
    assert!(out.ends_with(" O_WRONLY\n"), "{out}");
    assert!(missing.exists(), "wo creates a missing file");
    let refused = Command::new(bin("fdset-ctl"))
        .arg("--socket")
        .arg(&sock)
        .args(["add-fd", "--path"])
        .arg(d.path().join("never"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains("for reading: No such file or directory"),
        "{}",
        stderr_of(&refused)
    );
    assert!(!d.path().join("never").exists(), "ro creates nothing");
    child.kill().unwrap();
    child.wait().unwrap();
}
