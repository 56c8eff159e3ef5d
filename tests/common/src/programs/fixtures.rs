//! The files the real-program cases read and write, made once per run of
//! the suite.

use super::place::{Place, Scratch};
use super::runner::output_within;
use std::path::PathBuf;
use std::time::Duration;

/// The fixtures, made once in `place` (compressed files and archives with the
/// place's own tools) and kept for the suite's run.
pub struct Fixtures {
    dir: Scratch,
}

fn text(changed_line: usize) -> String {
    const WORDS: [&str; 7] = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
    (1..=3000usize)
        .map(|i| {
            if i == changed_line {
                format!("{i:05} changed {}\n", i * 3)
            } else {
                format!("{i:05} {} {}\n", WORDS[i % 7], i * i % 9973)
            }
        })
        .collect()
}

/// 1 MiB of pseudo-random bytes (every byte value, no text structure).
pub fn random_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const MAKE_FIXTURES: &str = r#"set -e
cd "$1"
touch -d @1000000000 text.txt other.txt
gzip -n -c text.txt > text.txt.gz
xz -c text.txt > text.txt.xz
bzip2 -c text.txt > text.txt.bz2
zstd -q -c text.txt > text.txt.zst
tar --owner=0 --group=0 --numeric-owner -cf files.tar text.txt other.txt
printf 'text.txt\nother.txt\n' | cpio -o -H newc --quiet > files.cpio
zip -q -X files.zip text.txt other.txt
sqlite3 db.sqlite "create table t(a integer primary key, b text); with recursive c(x) as (select 1 union all select x + 1 from c where x < 500) insert into t(a, b) select x, printf('row %d', x) from c;"
sha256sum text.txt other.txt > sums.txt
"#;

impl Fixtures {
    pub fn make(place: &dyn Place) -> Fixtures {
        let dir = place.scratch("suite-fixtures");
        let write = |name: &str, data: &[u8]| {
            std::fs::write(dir.host.join(name), data).expect("write fixture")
        };
        write("text.txt", text(0).as_bytes());
        write("other.txt", text(1234).as_bytes());
        write("random.bin", &random_bytes());
        write(
            "data.json",
            br#"{"name": "fixture", "items": [1, {"b": [true, null]}, "three"]}"#,
        );
        write(
            "script.py",
            b"import sys\nprint('script from a set, args', sys.argv[1:], sum(range(10)))\n",
        );
        write(
            "script.sh",
            b"echo \"script from a set: $1 $((6 * 7))\"\nfor w in a b c; do echo \"$w\"; done\n",
        );
        let argv: Vec<String> = ["sh", "-c", MAKE_FIXTURES, "sh", &dir.inside]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = output_within(place.command(&argv, &[]), Duration::from_secs(120));
        assert!(
            out.status.success(),
            "making the fixtures failed: {}",
            crate::stderr_of(&out)
        );
        Fixtures { dir }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        let p = self.dir.host.join(name);
        assert!(p.exists(), "no fixture {name}");
        p
    }
}
