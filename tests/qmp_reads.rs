//! Spec 3 framing against the control thread's reading: it reads a monitor
//! until a read comes back shorter than its buffer, then waits for the
//! socket to be readable again, and sends the replies of each read before
//! reading on. Whatever the sizes of the pieces the commands arrive in,
//! every command is answered, once, in order, with its fds.
use fdset_testkit::qmp::*;
use fdset_testkit::*;
use serde_json::{Value, json};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

// A burst far larger than one read (64 KiB): full reads, then a short one,
// then the rest as the replies are taken; nothing lost or reordered.
#[test]
fn a_burst_larger_than_a_read_is_answered_in_order() {
    let dir = TempDir::new("qmp-reads-burst");
    let (_p, sock) = with_listener(&dir, |_| {});
    let mut q = Qmp::ready(&sock);
    let n = 5_000;
    let mut burst = Vec::new();
    for i in 0..n {
        write!(burst, "{{\"execute\": \"query-version\", \"id\": {i}}}").unwrap();
    }
    assert!(burst.len() > 2 * 64 * 1024, "{} bytes", burst.len());
    q.send(&burst);
    for i in 0..n {
        let r = q.reply();
        assert_eq!(r["id"], json!(i), "reply {i}: {r}");
        assert_eq!(r["return"]["qemu"]["major"], json!(7), "reply {i}: {r}");
    }
    // Nothing more is waiting: the next command's reply comes next.
    assert_eq!(
        q.cmd(json!({"execute": "query-fdsets", "id": "last"})),
        json!({"return": [], "id": "last"})
    );
}

// One command dribbled in byte by byte (every read short): one reply, and
// the connection goes on.
#[test]
fn a_command_sent_byte_by_byte_is_answered_once() {
    let dir = TempDir::new("qmp-reads-dribble");
    let (_p, sock) = with_listener(&dir, |_| {});
    let mut q = Qmp::ready(&sock);
    let text = b"{\"execute\": \"query-fdsets\", \"id\": 7}";
    for b in text {
        q.send(&[*b]);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(q.reply(), json!({"return": [], "id": 7}));
    assert_eq!(
        q.cmd(json!({"execute": "query-version", "id": 8}))["id"],
        json!(8)
    );
}

// fds in messages of their own, each followed by its add-fd, sent in one
// go with no wait for the replies: each add-fd takes the fd that came
// before it (several reads, some with fds, some short).
#[test]
fn fds_and_commands_sent_in_one_go_pair_up() {
    let dir = TempDir::new("qmp-reads-fds");
    let (_p, sock) = with_listener(&dir, |_| {});
    let mut q = Qmp::ready(&sock);
    let files: Vec<File> = (0..20)
        .map(|i| File::open(dir.file(&format!("f{i}"), format!("{i}").as_bytes())).unwrap())
        .collect();
    for (i, f) in files.iter().enumerate() {
        let cmd = json!({"execute": "add-fd", "arguments": {"fdset-id": i + 1, "opaque": format!("f{i}")}, "id": i});
        q.send_fds(&[f.as_raw_fd()], cmd.to_string().as_bytes());
    }
    for i in 0..files.len() {
        let r = q.reply();
        assert_eq!(r["id"], json!(i), "{r}");
        assert_eq!(r["return"]["fdset-id"], json!(i + 1), "{r}");
    }
    let sets = q.exec("query-fdsets", json!({}));
    let opaques: Vec<Value> = sets["return"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["fds"][0]["opaque"].clone())
        .collect();
    let want: Vec<Value> = (0..files.len())
        .rev()
        .map(|i| json!(format!("f{i}")))
        .collect();
    assert_eq!(opaques, want);
}
