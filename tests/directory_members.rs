//! A set whose member is a directory (spec section 2, Open item 7: an
//! `O_DIRECTORY` open needs a directory member): programs list it as they
//! list the directory itself. glibc's `opendir` opens through an internal
//! call no preload sees, so the shim answers `opendir` of a set path, and
//! `closedir`, which closes inside libc too, forgets the dup behind it;
//! `chdir` of a set path enters the member.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::json;
use std::fs::File;
use std::path::PathBuf;
use std::process::Command;

/// A folder with two files in it.
fn folder(d: &TempDir) -> PathBuf {
    let dir = d.path().join("folder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a"), b"a").unwrap();
    std::fs::write(dir.join("b"), b"b").unwrap();
    dir
}

#[test]
fn ls_and_python_list_a_directory_member_as_its_directory() {
    let d = TempDir::new("dir-member");
    let dir = folder(&d);
    let list = "import os, sys; print(sorted(os.listdir(sys.argv[1])))";
    for (program, args) in [("ls", vec!["-1"]), ("python3", vec!["-c", list])] {
        let run = |path: &str, with_set: bool| {
            let mut cmd = if with_set {
                let mut c = preloaded(program);
                members_of_set_one(&mut c, &[(&dir, false, true)]);
                c
            } else {
                Command::new(program)
            };
            cmd.args(&args).arg(path);
            stdout_if_ok(&cmd.output().expect("run"))
        };
        let listed = run("/dev/fdset/1", true);
        assert_eq!(listed, run(dir.to_str().unwrap(), false), "{program}");
        assert!(
            listed.contains('a') && listed.contains('b'),
            "{program}: {listed}"
        );
    }
    // A member that is not a directory: opendir says ENOTDIR, as for a file.
    let f = d.file("file", b"x");
    let mut cmd = preloaded("python3");
    cmd.args([
        "-c",
        "import os\ntry: os.listdir('/dev/fdset/1')\nexcept NotADirectoryError: print('ENOTDIR')",
    ]);
    members_of_set_one(&mut cmd, &[(&f, false, true)]);
    assert_eq!(stdout_if_ok(&cmd.output().expect("run")), "ENOTDIR\n");
}

/// Spec section 2, Close: a dup closed inside libc is no longer counted.
/// After `opendir` + `closedir` of the set, removing the set closes its
/// member at once (no dup left), as it does after `open` + `close`.
#[test]
fn closedir_forgets_the_dup_so_removing_the_set_closes_its_member() {
    let d = TempDir::new("dir-member-closedir");
    let dir = folder(&d);
    let (mut p, mut q) = ready_socketpair(|_| {});
    let member = ret_fd(&q.add_fd(&File::open(&dir).unwrap(), json!({"fdset-id": 1})));
    assert_eq!(p.step("listdir /dev/fdset/1"), "entries 4", ". .. a b");
    assert_eq!(p.step("listdir /dev/fdset/1"), "entries 4", "and again");
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1})),
        json!({"return": {}})
    );
    assert!(
        !p.fds().contains_key(&member),
        "the member stayed open: a closedir left its dup counted"
    );
}

/// A listing of a directory member starts from its first entry every time
/// (spec section 2, Open step 4: a fresh open starts at the beginning),
/// whoever read the shared description before: `find` (open(O_DIRECTORY)
/// and fdopendir, which no opendir hook sees) twice, and in seccomp mode,
/// where no hook runs at all, `ls` and Python after an `ls`. open(2)'s
/// `EISDIR` for `O_CREAT` or `O_TRUNC` of a directory holds for the set
/// too. Before, the second listing came out empty.
#[test]
fn every_listing_of_a_directory_member_starts_from_its_first_entry() {
    let d = TempDir::new("dir-member-again");
    let dir = folder(&d);
    let script = "find /dev/fdset/1 | sort | wc -l; find /dev/fdset/1 | sort | wc -l; \
                  ls /dev/fdset/1; ls /dev/fdset/1; \
                  python3 -c 'import os; print(sorted(os.listdir(\"/dev/fdset/1\")))'; \
                  python3 -c 'import os\nfor f in (os.O_TRUNC, os.O_CREAT):\n  try: os.open(\"/dev/fdset/1\", os.O_RDONLY | f); print(\"opened\")\n  except OSError as e: print(e.strerror)'";
    for seccomp in [false, true] {
        let mut cmd = fdset_run();
        if seccomp {
            cmd.arg("--seccomp");
        }
        cmd.arg("--add-fd")
            .arg("fd=5,set=1")
            .args(["--", "sh", "-c", script]);
        inherit_fds(&mut cmd, vec![(File::open(&dir).unwrap(), 5)]);
        let out = output_within(cmd, std::time::Duration::from_secs(60));
        assert!(
            out.status.success(),
            "seccomp {seccomp}: {}",
            stderr_of(&out)
        );
        assert_eq!(
            stdout_of(&out),
            "3\n3\na\nb\na\nb\n['a', 'b']\nIs a directory\nIs a directory\n",
            "seccomp {seccomp}"
        );
    }
}

/// `cd /dev/fdset/N` enters a directory member as its own path would:
/// the working directory is the member's directory (`/bin/pwd` prints its
/// path, files are found by relative names); a file member is `ENOTDIR`
/// and a missing set `ENOENT`, as `chdir` of such paths says (spec section
/// 8: calls on a set path answer through its member; the spec does not
/// name `chdir`). Python's `os.chdir` alike.
#[test]
fn cd_into_a_directory_member_enters_its_directory() {
    let d = TempDir::new("dir-member-cd");
    let dir = folder(&d);
    let f = d.file("plain", b"x");
    let script = "cd /dev/fdset/1 && /bin/pwd && cat a b && echo; \
                  cd /dev/fdset/2 2>/dev/null || echo file-refused; \
                  cd /dev/fdset/3 2>/dev/null || echo missing-refused; \
                  python3 -c 'import os\nos.chdir(\"/dev/fdset/1\"); print(sorted(os.listdir(\".\")))\ntry: os.chdir(\"/dev/fdset/2\")\nexcept OSError as e: print(e.strerror)'";
    let mut cmd = fdset_run();
    cmd.args(["--add-fd", "fd=5,set=1", "--add-fd", "fd=6,set=2"])
        .args(["--", "sh", "-c", script]);
    inherit_fds(
        &mut cmd,
        vec![(File::open(&dir).unwrap(), 5), (File::open(&f).unwrap(), 6)],
    );
    let out = output_within(cmd, std::time::Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stdout_of(&out),
        format!(
            "{}\nab\nfile-refused\nmissing-refused\n['a', 'b']\nNot a directory\n",
            dir.display()
        )
    );
}
