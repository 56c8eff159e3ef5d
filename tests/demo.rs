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
    where_to_go_next_names_what_exists(&text);
}

/// The demo ends by saying where to go next: every README section it names
/// in quotes is a heading of README.md, and every file it names exists.
fn where_to_go_next_names_what_exists(text: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_, next) = text
        .split_once("== Where to go next\n")
        .unwrap_or_else(|| panic!("the demo does not say where to go next:\n{text}"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .collect();
    let named: Vec<&str> = next.split('"').skip(1).step_by(2).collect();
    assert!(named.len() >= 3, "no README sections named: {next}");
    for section in named {
        assert!(
            headings.contains(&section),
            "the demo names README section {section:?}, which README.md does not have"
        );
    }
    for word in next.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        if word.ends_with(".md") {
            assert!(
                root.join(word).exists(),
                "the demo names {word}, which does not exist"
            );
        }
    }
}
