//! The README's main command, `./demo.sh`, run exactly as a user would on a
//! fresh clone after setup ("a test runs exactly that command").
//! It builds the release profile (about a minute the first time).
use fdset_testkit::*;

#[test]
fn readme_demo_runs() {
    let out = std::process::Command::new("./demo.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ./demo.sh");
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout_of(&out),
        stderr_of(&out)
    );
    let text = stdout_of(&out);
    // qemu-img read the qcow2 header through the alias path...
    assert!(
        text.contains(
            "image: /srv/vm/disk.qcow2\nfile format: qcow2\nvirtual size: 64 MiB (67108864 bytes)\n"
        ),
        "{text}"
    );
    // ...and cat the note through /dev/fdset/2.
    assert!(
        text.contains("== cat /dev/fdset/2\nhello from a file this program never opened\n"),
        "{text}"
    );
    // ...then says where to go next.
    assert!(
        text.contains("\n== Where to go next\n") && text.contains("man 7 fdset-shim"),
        "{text}"
    );
}
