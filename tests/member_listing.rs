//! Seeing inside a running program: the `x-query-fdset-members` extension
//! (each member's access mode, file type, size, st_dev/st_ino, each set's
//! open dups) next to `query-fdsets`, which stays exactly QEMU's (spec
//! section 3); fdset-ctl's table from it, and its fallback for a QEMU
//! monitor; `fdset-run -v` naming every member's access mode, `--add-fd`
//! ones too; and the EACCES log line naming the modes a set has.
use fdset_testkit::qmp::Qmp;
use fdset_testkit::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};

/// A program under fdset-run --qmp that holds one dup of set 1 open until
/// its stdin closes.
fn holding_program(
    d: &TempDir,
    file: &std::path::Path,
) -> (std::process::Child, std::path::PathBuf) {
    let sock = d.path().join("q");
    let mut child = fdset_run()
        .arg("--qmp")
        .arg(&sock)
        .arg("--file")
        .arg(file_arg(1, file, "rw"))
        .args(["--", python().to_str().unwrap(), "-c"])
        .arg(
            "import sys\nf = open('/dev/fdset/1', 'rb')\nprint('ready', flush=True)\nsys.stdin.read()\n",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    (child, sock)
}

#[test]
fn members_are_listed_with_their_mode_and_file() {
    let d = TempDir::new("members");
    let f = d.file("disk.img", b"twelve bytes");
    let meta = std::fs::metadata(&f).unwrap();
    let (mut child, sock) = holding_program(&d, &f);
    let mut q = Qmp::ready(&sock);
    let fds = members_with_their_modes(&mut q, &meta);
    // The O_RDONLY member is removed while the program's dup of it is open:
    // hidden from query-fdsets, listed here as removed.
    let ro = fds[1]["fd"].clone();
    assert_eq!(
        q.exec("remove-fd", json!({"fdset-id": 1, "fd": ro})),
        json!({"return": {}})
    );
    let r = q.exec("x-query-fdset-members", json!({}));
    assert_eq!(r["return"][0]["fds"][1]["removed"], true, "{r}");
    let plain = q.exec("query-fdsets", json!({}));
    assert_eq!(plain["return"][0]["fds"].as_array().unwrap().len(), 2);
    fdset_ctl_lists_the_removed_member(&sock, &meta, &ro);
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

/// `x-query-fdset-members` lists set 1's three members (file `meta`) with
/// their modes, beside `query-fdsets`, which stays exactly QEMU's; the
/// members.
fn members_with_their_modes(q: &mut Qmp, meta: &std::fs::Metadata) -> Vec<Value> {
    let r = q.exec("x-query-fdset-members", json!({}));
    let sets = r["return"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(sets.len(), 1, "{r}");
    assert_eq!(sets[0]["fdset-id"], 1);
    assert_eq!(sets[0]["open-dups"], 1, "the program holds one dup");
    let fds = sets[0]["fds"].as_array().unwrap();
    let modes: Vec<&str> = fds
        .iter()
        .map(|m| m["access-mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["O_RDWR", "O_RDONLY", "O_WRONLY"]);
    for m in fds {
        assert_eq!(m["type"], "regular");
        assert_eq!(m["size"], 12);
        assert_eq!(m["dev"], meta.dev());
        assert_eq!(m["ino"], meta.ino());
        assert_eq!(m["removed"], false);
        assert!(m.get("opaque").is_none(), "never given: left out");
    }
    // query-fdsets stays exactly QEMU's: fd (and opaque) only.
    let plain = q.exec("query-fdsets", json!({}));
    let members: Vec<Value> = fds.iter().map(|m| json!({"fd": m["fd"]})).collect();
    assert_eq!(plain, json!({"return": [{"fdset-id": 1, "fds": members}]}));
    assert!(
        q.exec("query-commands", json!({}))["return"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "x-query-fdset-members"}))
    );
    fds.clone()
}

/// fdset-ctl's table shows the removed member `ro` (of file `meta`) as
/// x-query-fdset-members does.
fn fdset_ctl_lists_the_removed_member(
    sock: &std::path::Path,
    meta: &std::fs::Metadata,
    ro: &Value,
) {
    let out = Command::new(bin("fdset-ctl"))
        .arg("--socket")
        .arg(sock)
        .arg("query-fdsets")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let table = stdout_of(&out);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let di = format!("{}:{}", meta.dev(), meta.ino());
    assert_eq!(
        rows[0],
        [
            "SET", "DUPS", "FD", "MODE", "TYPE", "SIZE", "DEV:INO", "OPAQUE"
        ]
    );
    assert_eq!(
        rows[2],
        [
            "1",
            "1",
            &ro.to_string(),
            "O_RDONLY",
            "regular",
            "12",
            &di,
            "(removed;",
            "closed",
            "with",
            "the",
            "last",
            "dup)"
        ]
    );
    assert_eq!(rows.len(), 4, "{table}");
}

/// A QEMU-like monitor with no x-query-fdset-members: fdset-ctl falls back
/// to query-fdsets and QEMU's columns, and skips asynchronous events.
#[test]
fn fdset_ctl_falls_back_for_a_monitor_without_the_extension() {
    let d = TempDir::new("members-qemu");
    let path = d.path().join("qemu.qmp");
    let l = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        let mut w = c.try_clone().unwrap();
        let mut r = BufReader::new(c);
        w.write_all(
            b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n",
        )
        .unwrap();
        let mut asked = Vec::new();
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 0 {
            let v: Value = serde_json::from_str(&line).unwrap();
            let name = v["execute"].as_str().unwrap().to_string();
            let reply = match name.as_str() {
                "qmp_capabilities" => json!({"return": {}}),
                "query-fdsets" => {
                    w.write_all(b"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n")
                        .unwrap();
                    json!({"return": [{"fdset-id": 0, "fds": [{"fd": 25, "opaque": "disk"}]}]})
                }
                other => {
                    json!({"error": {"class": "CommandNotFound", "desc": format!("The command {other} has not been found")}})
                }
            };
            w.write_all(format!("{reply}\r\n").as_bytes()).unwrap();
            asked.push(name);
            line.clear();
        }
        asked
    });
    let out = Command::new(bin("fdset-ctl"))
        .arg("--socket")
        .arg(&path)
        .arg("query-fdsets")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "SET  FD  OPAQUE\n0    25  disk\n");
    assert_eq!(
        server.join().unwrap(),
        ["qmp_capabilities", "x-query-fdset-members", "query-fdsets"]
    );
}

/// `-v` names each member fdset-run passes with its access mode, for
/// `--add-fd` members as well as `--file` and `--data` ones.
#[test]
fn verbose_lists_every_member_with_its_mode() {
    let d = TempDir::new("members-v");
    let f = d.file("f.txt", b"x");
    let g = d.file("g.txt", b"y");
    let mut cmd = fdset_run();
    cmd.args(["-v", "--add-fd", "fd=7,set=5", "--file"])
        .arg(file_arg(1, &f, "rw"))
        .args(["--data", &format!("set=2,path={}", g.display())])
        .args(["--", "true"]);
    inherit_fds(&mut cmd, vec![(open_for_child(&g, true, false), 7)]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("fdset-run:"))
        .collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert_eq!(
        lines[0],
        format!(
            "fdset-run: set 5: fd 7 = inherited, {} (O_WRONLY)",
            g.display()
        )
    );
    for (line, mode) in lines[1..4].iter().zip(["O_RDWR", "O_RDONLY", "O_WRONLY"]) {
        assert!(line.starts_with("fdset-run: set 1: fd "), "{line}");
        assert!(
            line.ends_with(&format!(" = {} ({mode})", f.display())),
            "{line}"
        );
    }
    assert!(
        lines[4].starts_with("fdset-run: set 2: fd ")
            && lines[4].ends_with(&format!(
                " = data from {}, 1 bytes (O_RDONLY, sealed)",
                g.display()
            )),
        "{}",
        lines[4]
    );
}

/// An open no member can serve logs which modes the set does have.
#[test]
fn eacces_names_the_modes_the_set_has() {
    let d = TempDir::new("members-eacces");
    let f = d.file("f.txt", b"x");
    let mut cmd = fdset_run();
    cmd.args(["-v", "--add-fd", "fd=7,set=2", "--add-fd", "fd=8,set=2"])
        .args(["--", "sh", "-c", "echo > /dev/fdset/2"]);
    inherit_fds(
        &mut cmd,
        vec![
            (open_for_child(&f, true, true), 7),
            (open_for_child(&f, false, true), 8),
        ],
    );
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.lines().any(|l| l.starts_with("fdset-shim: [")
            && l.ends_with(
                " sh] open /dev/fdset/2 flags=O_WRONLY|O_CREAT|O_TRUNC: EACCES: set 2 has \
                 O_RDWR and O_RDONLY members, no O_WRONLY"
            )),
        "{err}"
    );
}

/// A member added at run time is logged with its access mode.
#[test]
fn runtime_add_fd_is_logged_with_its_mode() {
    let d = TempDir::new("members-log");
    let f = d.file("f.txt", b"x");
    let sock = d.path().join("q");
    // The program ends once fdset-ctl has added all three members (a file
    // made then): ending at the first would close the socket under the
    // others.
    let ready = d.path().join("ready");
    let mut child = fdset_run()
        .args(["-v", "--qmp"])
        .arg(&sock)
        .args([
            "--",
            "sh",
            "-c",
            "while [ ! -e \"$0\" ]; do sleep 0.02; done",
        ])
        .arg(&ready)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_path(&sock, &mut child);
    let add = Command::new(bin("fdset-ctl"))
        .arg("--socket")
        .arg(&sock)
        .args(["add-fd", "--set", "6", "--mode", "rw", "--path"])
        .arg(&f)
        .output()
        .unwrap();
    std::fs::write(&ready, b"").unwrap();
    assert!(add.status.success(), "{}", stderr_of(&add));
    let out = child.wait_with_output().unwrap();
    let err = stderr_of(&out);
    let added: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split_once("] monitor: add-fd: fd ").map(|(_, rest)| rest))
        .collect();
    let modes: Vec<&str> = added
        .iter()
        .map(|r| r.split(['(', ')']).nth(1).unwrap_or(""))
        .collect();
    assert_eq!(modes, ["O_RDWR", "O_RDONLY", "O_WRONLY"], "{err}");
    assert!(added.iter().all(|r| r.ends_with(") into set 6")), "{err}");
}
