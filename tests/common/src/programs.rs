//! The real-program suite: one table of unmodified programs, each run twice
//! in the same place (this host, or the Debian 13 chroot of
//! `tests/real_programs_trixie.rs`):
//!
//! - on `/dev/fdset/N`, with the shim preloaded and each file handed over as
//!   an inherited descriptor named in `FDSET_ADD_FD` (the files themselves lie
//!   in a folder the program is never told about, outside the chroot there);
//! - on the file's ordinary path, without the shim.
//!
//! The two runs must agree: exit status (and the status the case expects),
//! stdout and stderr (the ordinary path written as the set path), every file
//! the case names as an output, and the content of every set the program
//! may write to.

use crate::TempDir;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The members a set gets, as `fdset-run --file` makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One `O_RDONLY` member.
    Ro,
    /// One `O_WRONLY` member.
    Wo,
    /// An `O_RDWR` and an `O_RDONLY` member.
    Rw,
    /// An `O_RDONLY` and an `O_WRONLY` member (`--file mode=ro` and
    /// `--file mode=wo` of one file): read it, then rewrite it with `>`.
    RoWo,
}

/// Set `set` is a copy of fixture `fixture`.
pub struct SetArg {
    pub set: u32,
    pub fixture: &'static str,
    pub mode: Mode,
}

/// One program run. In `argv`, `{setN}` is `/dev/fdset/N` (or the ordinary
/// path of the same fixture) and `{dir}` a scratch folder of the run's own.
pub struct Case {
    pub name: &'static str,
    pub argv: &'static [&'static str],
    pub sets: &'static [SetArg],
    /// Fixtures copied into `{dir}` before the run.
    pub work: &'static [&'static str],
    /// Files in `{dir}` compared after the run.
    pub outputs: &'static [&'static str],
    /// A fixture given on stdin.
    pub stdin: Option<&'static str>,
    /// The exit status the run on the ordinary path must have (the run on the
    /// set path must have the same): a case whose program is missing or
    /// failed on both paths alike does not pass.
    pub status: i32,
}

const fn ro(set: u32, fixture: &'static str) -> SetArg {
    SetArg {
        set,
        fixture,
        mode: Mode::Ro,
    }
}
const fn wo(set: u32, fixture: &'static str) -> SetArg {
    SetArg {
        set,
        fixture,
        mode: Mode::Wo,
    }
}
const fn ro_wo(set: u32, fixture: &'static str) -> SetArg {
    SetArg {
        set,
        fixture,
        mode: Mode::RoWo,
    }
}
const fn rw(set: u32, fixture: &'static str) -> SetArg {
    SetArg {
        set,
        fixture,
        mode: Mode::Rw,
    }
}

/// A case with one read-only set, no work files, status 0.
const fn read(name: &'static str, argv: &'static [&'static str], sets: &'static [SetArg]) -> Case {
    Case {
        name,
        argv,
        sets,
        work: &[],
        outputs: &[],
        stdin: None,
        status: 0,
    }
}

const PY_READ: &str = "import sys, hashlib\n\
    d = open(sys.argv[1], 'rb').read()\n\
    print(len(d), hashlib.sha256(d).hexdigest())";
const PY_LOOK: &str = "import os, sys, pathlib\n\
    p = sys.argv[1]\n\
    print(os.path.exists(p), os.path.isfile(p), os.path.getsize(p), os.access(p, os.R_OK))\n\
    q = pathlib.Path(p)\n\
    print(q.is_file(), len(q.read_text().splitlines()))";
const PY_SQLITE: &str = "import sqlite3, sys\n\
    c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n\
    print(c.execute('select count(*), sum(a), max(b) from t').fetchone())";
const PY_WRITE: &str = "import sys\nopen(sys.argv[1], 'w').write('written by python\\n')";
const PY_UPDATE: &str = "import sys\n\
    f = open(sys.argv[1], 'r+b')\n\
    head = f.read(6)\n\
    f.seek(0)\n\
    f.write(head.upper() + b'!')\n\
    print(head)";

/// The suite. Every program here works through a set today; the README's
/// "Real programs" section lists the ones that do not, and why.
pub const CASES: &[Case] = &[
    read("cat", &["cat", "{set1}"], &[ro(1, "random.bin")]),
    read(
        "head -c",
        &["head", "-c", "1000", "{set1}"],
        &[ro(1, "random.bin")],
    ),
    read(
        "head -n",
        &["head", "-n", "5", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "tail -n",
        &["tail", "-n", "5", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "tail -c",
        &["tail", "-c", "100", "{set1}"],
        &[ro(1, "random.bin")],
    ),
    read("wc", &["wc", "{set1}"], &[ro(1, "text.txt")]),
    read(
        "sha256sum twice",
        &["sha256sum", "{set1}", "{set1}"],
        &[ro(1, "random.bin")],
    ),
    read("md5sum", &["md5sum", "{set1}"], &[ro(1, "random.bin")]),
    read("b2sum", &["b2sum", "{set1}"], &[ro(1, "random.bin")]),
    read("cksum", &["cksum", "{set1}"], &[ro(1, "random.bin")]),
    read("base64", &["base64", "{set1}"], &[ro(1, "text.txt.gz")]),
    read(
        "od",
        &["od", "-A", "d", "-t", "x1", "-N", "4096", "{set1}"],
        &[ro(1, "random.bin")],
    ),
    Case {
        name: "cp from a set",
        argv: &["cp", "{set1}", "{dir}/copy.bin"],
        outputs: &["copy.bin"],
        ..read("", &[], &[ro(1, "random.bin")])
    },
    Case {
        name: "cp -p from a set",
        argv: &["cp", "--preserve=mode", "{set1}", "{dir}/copy.bin"],
        outputs: &["copy.bin"],
        ..read("", &[], &[ro(1, "random.bin")])
    },
    Case {
        name: "dd if=",
        argv: &[
            "dd",
            "if={set1}",
            "of={dir}/copy.bin",
            "bs=65536",
            "status=none",
        ],
        outputs: &["copy.bin"],
        ..read("", &[], &[ro(1, "random.bin")])
    },
    Case {
        name: "split",
        argv: &["split", "-n", "3", "{set1}", "{dir}/part-"],
        outputs: &["part-aa", "part-ab", "part-ac"],
        ..read("", &[], &[ro(1, "random.bin")])
    },
    read(
        "cmp, same content",
        &["cmp", "{set1}", "{set2}"],
        &[ro(1, "text.txt"), ro(2, "text.txt")],
    ),
    Case {
        status: 1,
        ..read(
            "cmp, different content",
            &["cmp", "{set1}", "{set2}"],
            &[ro(1, "text.txt"), ro(2, "other.txt")],
        )
    },
    Case {
        status: 1,
        ..read(
            "diff",
            &["diff", "{set1}", "{set2}"],
            &[ro(1, "text.txt"), ro(2, "other.txt")],
        )
    },
    Case {
        status: 1,
        ..read(
            "diff against a file",
            &["diff", "{set1}", "{dir}/text.txt"],
            &[ro(1, "other.txt")],
        )
    }
    .with_work(&["text.txt"]),
    read(
        "comm",
        &["comm", "-3", "{set1}", "{set2}"],
        &[ro(1, "text.txt"), ro(2, "other.txt")],
    ),
    read(
        "paste of two sets",
        &["paste", "-d", "|", "{set1}", "{set2}"],
        &[ro(1, "text.txt"), ro(2, "other.txt")],
    ),
    read(
        "stat -c",
        &["stat", "-c", "%n %s %F %a %h %U %G", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "stat -L -c",
        &["stat", "-L", "-c", "%n %s %F %a", "{set1}"],
        &[ro(1, "random.bin")],
    ),
    read("ls", &["ls", "{set1}"], &[ro(1, "text.txt")]),
    read("du -b", &["du", "-b", "{set1}"], &[ro(1, "random.bin")]),
    read("file (text)", &["file", "{set1}"], &[ro(1, "text.txt")]),
    read("file (gzip)", &["file", "{set1}"], &[ro(1, "text.txt.gz")]),
    read(
        "file (sqlite)",
        &["file", "-b", "{set1}"],
        &[ro(1, "db.sqlite")],
    ),
    read(
        "grep -n",
        &["grep", "-n", "gamma 1", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "grep -c",
        &["grep", "-c", "beta", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "grep -f (patterns from a set)",
        &["grep", "-c", "-F", "-x", "-f", "{set1}", "{set2}"],
        &[ro(1, "other.txt"), ro(2, "text.txt")],
    ),
    read("sort -r", &["sort", "-r", "{set1}"], &[ro(1, "text.txt")]),
    read("tac", &["tac", "{set1}"], &[ro(1, "text.txt")]),
    read("nl", &["nl", "{set1}"], &[ro(1, "text.txt")]),
    read(
        "cut",
        &["cut", "-d", " ", "-f", "2", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "awk",
        &["awk", "{ s += $3 } END { print s, NR }", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "sed -n",
        &["sed", "-n", "100,105p", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "perl",
        &["perl", "-ne", "print if /delta/", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "xargs -a",
        &["xargs", "-a", "{set1}", "-n", "500", "echo"],
        &[ro(1, "text.txt")],
    ),
    read(
        "shuf --random-source",
        &["shuf", "-n", "5", "--random-source={set1}", "{set2}"],
        &[ro(1, "random.bin"), ro(2, "text.txt")],
    ),
    read("sh script", &["sh", "{set1}", "arg"], &[ro(1, "script.sh")]),
    read(
        "sh < set",
        &[
            "sh",
            "-c",
            "wc -l < {set1}; read first < {set1}; echo \"$first\"",
        ],
        &[ro(1, "text.txt")],
    ),
    read(
        "jq",
        &["jq", "-c", ".items[1]", "{set1}"],
        &[ro(1, "data.json")],
    ),
    read(
        "python3 open().read()",
        &["python3", "-c", PY_READ, "{set1}"],
        &[ro(1, "random.bin")],
    ),
    read(
        "python3 os.path / pathlib",
        &["python3", "-c", PY_LOOK, "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "python3 script",
        &["python3", "{set1}", "x", "y"],
        &[ro(1, "script.py")],
    ),
    read(
        "python3 -m json.tool",
        &["python3", "-m", "json.tool", "{set1}"],
        &[ro(1, "data.json")],
    ),
    read(
        "python3 sqlite3 (mode=ro)",
        &["python3", "-c", PY_SQLITE, "{set1}"],
        &[ro(1, "db.sqlite")],
    ),
    read(
        "python3 -m tarfile -l",
        &["python3", "-m", "tarfile", "-l", "{set1}"],
        &[ro(1, "files.tar")],
    ),
    read(
        "python3 -m zipfile -l",
        &["python3", "-m", "zipfile", "-l", "{set1}"],
        &[ro(1, "files.zip")],
    ),
    read(
        "sqlite3 -readonly",
        &[
            "sqlite3",
            "-readonly",
            "{set1}",
            "select count(*), sum(a), max(b) from t",
        ],
        &[ro(1, "db.sqlite")],
    ),
    read(
        "sqlite3 -readonly .schema",
        &["sqlite3", "-readonly", "{set1}", ".schema"],
        &[ro(1, "db.sqlite")],
    ),
    read(
        "sqlite3 file:...?immutable=1",
        &[
            "sqlite3",
            "file:{set1}?immutable=1",
            "select count(*) from t",
        ],
        &[ro(1, "db.sqlite")],
    ),
    read(
        "gzip -dc",
        &["gzip", "-dc", "{set1}"],
        &[ro(1, "text.txt.gz")],
    ),
    read(
        "gzip -t",
        &["gzip", "-t", "{set1}"],
        &[ro(1, "text.txt.gz")],
    ),
    read("zcat", &["zcat", "{set1}"], &[ro(1, "text.txt.gz")]),
    read("xz -dc", &["xz", "-dc", "{set1}"], &[ro(1, "text.txt.xz")]),
    read(
        "bzip2 -dc",
        &["bzip2", "-dc", "{set1}"],
        &[ro(1, "text.txt.bz2")],
    ),
    read(
        "zstd -dc",
        &["zstd", "-q", "-dc", "{set1}"],
        &[ro(1, "text.txt.zst")],
    ),
    read(
        "tar -tvf",
        &["tar", "-tvf", "{set1}"],
        &[ro(1, "files.tar")],
    ),
    read(
        "tar -xOf",
        &["tar", "-xOf", "{set1}", "other.txt"],
        &[ro(1, "files.tar")],
    ),
    Case {
        name: "tar -xf -C",
        argv: &["tar", "-xf", "{set1}", "-C", "{dir}"],
        outputs: &["text.txt", "other.txt"],
        ..read("", &[], &[ro(1, "files.tar")])
    },
    read(
        "cpio -it",
        &["cpio", "-it", "--quiet", "-F", "{set1}"],
        &[ro(1, "files.cpio")],
    ),
    read(
        "unzip -l",
        &["unzip", "-l", "{set1}"],
        &[ro(1, "files.zip")],
    ),
    read(
        "unzip -p",
        &["unzip", "-p", "{set1}", "text.txt"],
        &[ro(1, "files.zip")],
    ),
    Case {
        name: "sha256sum -c (list in a set)",
        argv: &["sh", "-c", "cd {dir} && sha256sum -c {set1}"],
        work: &["text.txt", "other.txt"],
        ..read("", &[], &[ro(1, "sums.txt")])
    },
    // Writing into a set.
    Case {
        name: "tee",
        argv: &["tee", "{set2}"],
        stdin: Some("text.txt"),
        ..read("", &[], &[wo(2, "random.bin")])
    },
    read(
        "sh >",
        &["sh", "-c", "cat {set1} > {set2}"],
        &[ro(1, "text.txt"), wo(2, "random.bin")],
    ),
    read(
        "sh >>",
        &["sh", "-c", "echo appended >> {set2}"],
        &[wo(2, "text.txt")],
    ),
    read(
        "dd of=",
        &["dd", "if={set1}", "of={set2}", "bs=4096", "status=none"],
        &[ro(1, "text.txt"), wo(2, "random.bin")],
    ),
    read(
        "dd of= conv=notrunc",
        &[
            "dd",
            "if={set1}",
            "of={set2}",
            "bs=4096",
            "conv=notrunc",
            "status=none",
        ],
        &[ro(1, "text.txt"), wo(2, "random.bin")],
    ),
    read(
        "sort -o",
        &["sort", "-r", "-o", "{set2}", "{set1}"],
        &[ro(1, "text.txt"), wo(2, "random.bin")],
    ),
    Case {
        name: "tar -cf",
        argv: &[
            "tar",
            "--mtime=@1000000000",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-C",
            "{dir}",
            "-cf",
            "{set2}",
            "text.txt",
            "other.txt",
        ],
        work: &["text.txt", "other.txt"],
        ..read("", &[], &[wo(2, "random.bin")])
    },
    read(
        "gzip -c >",
        &["sh", "-c", "gzip -n -c < {set1} > {set2}"],
        &[ro(1, "text.txt"), wo(2, "random.bin")],
    ),
    Case {
        name: "zip - >",
        argv: &[
            "sh",
            "-c",
            "cd {dir} && touch -d @1000000000 text.txt && zip -q -X - text.txt > {set2}",
        ],
        work: &["text.txt"],
        ..read("", &[], &[wo(2, "random.bin")])
    },
    Case {
        name: "cp to a set (write-only member)",
        argv: &["cp", "{dir}/text.txt", "{set2}"],
        work: &["text.txt"],
        ..read("", &[], &[wo(2, "random.bin")])
    },
    Case {
        name: "sed to a file, then cat > set (for sed -i)",
        argv: &[
            "sh",
            "-c",
            "sed s/beta/BETA/ {set1} > {dir}/new && cat {dir}/new > {set1}",
        ],
        outputs: &["new"],
        ..read("", &[], &[ro_wo(1, "text.txt")])
    },
    read(
        "python3 open('w')",
        &["python3", "-c", PY_WRITE, "{set2}"],
        &[wo(2, "text.txt")],
    ),
    read(
        "python3 open('r+b')",
        &["python3", "-c", PY_UPDATE, "{set2}"],
        &[rw(2, "text.txt")],
    ),
    read(
        "truncate -s (write-only member)",
        &["truncate", "-s", "1000", "{set2}"],
        &[wo(2, "random.bin")],
    ),
    read(
        "touch -d (write-only member)",
        &[
            "sh",
            "-c",
            "touch -d @1000000000 {set2} && stat -c %Y {set2}",
        ],
        &[wo(2, "text.txt")],
    ),
    read(
        "sqlite3 write, journal_mode=memory",
        &[
            "sqlite3",
            "{set2}",
            "pragma journal_mode=memory; insert into t(a, b) values (501, 'row 501'); select count(*) from t",
        ],
        &[rw(2, "db.sqlite")],
    ),
    // Spec section 8: the calls around an open (xattrs, readlink, realpath,
    // utimensat, truncate through a member).
    read(
        "ls -l",
        &["ls", "-l", "--time-style=+", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read("realpath", &["realpath", "{set1}"], &[ro(1, "text.txt")]),
    read(
        "readlink -f",
        &["readlink", "-f", "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "python Path.resolve(strict=True)",
        &["python3", "-c", PY_RESOLVE, "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "touch -d (read-only member: utimensat)",
        &[
            "sh",
            "-c",
            "touch -d @1000000000 {set1} && stat -c %Y {set1}",
        ],
        &[ro(1, "text.txt")],
    ),
    read(
        "python os.truncate (truncate through a member)",
        &["python3", "-c", PY_TRUNCATE, "{set2}"],
        &[rw(2, "random.bin")],
    ),
];

const PY_RESOLVE: &str = "import sys, pathlib\n\
    print(pathlib.Path(sys.argv[1]).resolve(strict=True))";
const PY_TRUNCATE: &str = "import os, sys\nos.truncate(sys.argv[1], 1000)";

impl Case {
    const fn with_work(self, work: &'static [&'static str]) -> Case {
        Case { work, ..self }
    }
}

/// Where the programs run.
pub trait Place: Sync {
    /// A new empty folder the programs can reach.
    fn scratch(&self, tag: &str) -> Scratch;
    /// `argv` with exactly `env` (and a fixed `PATH` and `LC_ALL=C`), no
    /// preload unless `env` names one.
    fn command(&self, argv: &[String], env: &[(String, String)]) -> Command;
    /// The shim library as the programs see it.
    fn shim(&self) -> String;
}

/// A scratch folder: where the test writes it, and the path the programs
/// use for it. Removed when dropped.
pub struct Scratch {
    pub host: PathBuf,
    pub inside: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.host);
    }
}

/// This machine, with the shim cargo built.
pub struct Host;

impl Place for Host {
    fn scratch(&self, tag: &str) -> Scratch {
        let t = TempDir::new(tag);
        let host = t.0.clone();
        std::mem::forget(t);
        Scratch {
            inside: host.display().to_string(),
            host,
        }
    }
    fn command(&self, argv: &[String], env: &[(String, String)]) -> Command {
        // The interpreter itself, not a wrapper script (see crate::python).
        let mut cmd = if argv[0] == "python3" {
            Command::new(crate::python())
        } else {
            Command::new(&argv[0])
        };
        cmd.args(&argv[1..]).env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("LC_ALL", "C");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    }
    fn shim(&self) -> String {
        crate::shim_lib().display().to_string()
    }
}

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

    fn path(&self, name: &str) -> PathBuf {
        let p = self.dir.host.join(name);
        assert!(p.exists(), "no fixture {name}");
        p
    }
}

/// `cmd`'s output, read while it runs (outputs larger than a pipe's buffer
/// are fine); a program still running after `limit` is killed and reported.
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for the program") {
            break st;
        }
        if !killed && start.elapsed() > limit {
            // Not reaped yet: the pid is still this child's.
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert!(
        !killed,
        "{cmd:?} still running after {limit:?}: killed; stderr {}",
        short(&out.stderr)
    );
    out
}

/// What one case came to.
pub struct CaseResult {
    pub name: &'static str,
    /// `Ok(what was compared)` or `Err(how the runs differ)`.
    pub outcome: Result<String, String>,
}

fn substitute(arg: &str, sets: &[(u32, String)], dir: &str) -> String {
    let mut s = arg.replace("{dir}", dir);
    for (set, path) in sets {
        s = s.replace(&format!("{{set{set}}}"), path);
    }
    s
}

fn open_member(path: &Path, mode: Mode) -> Vec<File> {
    let open = |read: bool, write: bool| {
        OpenOptions::new()
            .read(read)
            .write(write)
            .open(path)
            .expect("open a member")
    };
    match mode {
        Mode::Ro => vec![open(true, false)],
        Mode::Wo => vec![open(false, true)],
        Mode::Rw => vec![open(true, true), open(true, false)],
        Mode::RoWo => vec![open(true, false), open(false, true)],
    }
}

fn short(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s: String = s.chars().take(160).collect();
    format!("{s:?}")
}

/// The two runs of one program, set up: the set run's files (a host folder
/// the program is never told about) and descriptors, the ordinary run's
/// copies of the same fixtures, a `{dir}` for each.
struct Runs {
    _set_files: TempDir,
    _plain_sets: Scratch,
    work_set: Scratch,
    work_plain: Scratch,
    set_paths: Vec<(u32, String)>,
    plain_paths: Vec<(u32, String)>,
    /// Per set argument: its file behind the set, and the ordinary copy.
    files: Vec<(PathBuf, PathBuf)>,
    members: Vec<(File, i32)>,
    add_fd: Vec<String>,
}

impl Runs {
    fn prepare(place: &dyn Place, fx: &Fixtures, sets: &[SetArg], work: &[&str]) -> Runs {
        let set_files = TempDir::new("suite-set-files");
        let plain_sets = place.scratch("suite-plain-sets");
        let work_set = place.scratch("suite-work-set");
        let work_plain = place.scratch("suite-work-plain");
        for w in work {
            for d in [&work_set, &work_plain] {
                std::fs::copy(fx.path(w), d.host.join(w)).expect("copy a work file");
            }
        }
        let mut runs = Runs {
            set_paths: Vec::new(),
            plain_paths: Vec::new(),
            files: Vec::new(),
            members: Vec::new(),
            add_fd: Vec::new(),
            _set_files: set_files,
            _plain_sets: plain_sets,
            work_set,
            work_plain,
        };
        let mut fd = 3;
        for s in sets {
            let sub = format!("{}", s.set);
            let set_dir = runs._set_files.path().join(&sub);
            let plain_dir = runs._plain_sets.host.join(&sub);
            std::fs::create_dir_all(&set_dir).unwrap();
            std::fs::create_dir_all(&plain_dir).unwrap();
            let in_set = set_dir.join(s.fixture);
            std::fs::copy(fx.path(s.fixture), &in_set).expect("copy a set file");
            let plain = plain_dir.join(s.fixture);
            std::fs::copy(fx.path(s.fixture), &plain).expect("copy a set file");
            for f in open_member(&in_set, s.mode) {
                runs.members.push((f, fd));
                runs.add_fd.push(format!("fd={fd},set={}", s.set));
                fd += 1;
            }
            runs.set_paths
                .push((s.set, format!("/dev/fdset/{}", s.set)));
            runs.plain_paths.push((
                s.set,
                format!("{}/{sub}/{}", runs._plain_sets.inside, s.fixture),
            ));
            runs.files.push((in_set, plain));
        }
        runs
    }

    /// Run `argv` on the sets (preloaded) and on the ordinary paths.
    fn run(
        &mut self,
        place: &dyn Place,
        argv: &[&str],
        stdin: &dyn Fn() -> Stdio,
    ) -> (Output, Output) {
        let argv_set: Vec<String> = argv
            .iter()
            .map(|a| substitute(a, &self.set_paths, &self.work_set.inside))
            .collect();
        let argv_plain: Vec<String> = argv
            .iter()
            .map(|a| substitute(a, &self.plain_paths, &self.work_plain.inside))
            .collect();
        let env_set = vec![
            ("LD_PRELOAD".to_string(), place.shim()),
            ("FDSET_ADD_FD".to_string(), self.add_fd.join(";")),
            ("HOME".to_string(), self.work_set.inside.clone()),
        ];
        let env_plain = vec![("HOME".to_string(), self.work_plain.inside.clone())];
        let limit = Duration::from_secs(60);
        let mut cmd = place.command(&argv_set, &env_set);
        cmd.stdin(stdin());
        crate::inherit_fds(&mut cmd, std::mem::take(&mut self.members));
        let on_set = output_within(cmd, limit);
        let mut cmd = place.command(&argv_plain, &env_plain);
        cmd.stdin(stdin());
        let on_path = output_within(cmd, limit);
        (on_set, on_path)
    }
}

/// Run one case in `place`; `Ok` says what agreed.
pub fn run_case(place: &dyn Place, fx: &Fixtures, case: &Case) -> Result<String, String> {
    let mut runs = Runs::prepare(place, fx, case.sets, case.work);
    let stdin = || match case.stdin {
        Some(f) => Stdio::from(File::open(fx.path(f)).expect("open stdin fixture")),
        None => Stdio::null(),
    };
    let (on_set, on_path) = runs.run(place, case.argv, &stdin);
    let Runs {
        work_set,
        work_plain,
        set_paths,
        plain_paths,
        files: plain_host,
        ..
    } = &runs;

    // The ordinary run's paths written as the set run's.
    let norm = |out: &[u8], dir: &str, paths: &[(u32, String)], to_set: bool| {
        let mut s = String::from_utf8_lossy(out).into_owned();
        if to_set {
            for ((_, plain), (_, set)) in paths.iter().zip(set_paths.iter()) {
                s = s.replace(plain.as_str(), set);
            }
        }
        s.replace(dir, "{dir}")
    };
    let view = |o: &Output, dir: &str, to_set: bool| {
        (
            norm(&o.stdout, dir, plain_paths, to_set),
            norm(&o.stderr, dir, plain_paths, to_set),
        )
    };
    let (out_set, err_set) = view(&on_set, &work_set.inside, false);
    let (out_path, err_path) = view(&on_path, &work_plain.inside, true);
    let mut problems = Vec::new();
    if on_path.status.code() != Some(case.status) {
        problems.push(format!(
            "on the ordinary path: {} (expected exit {}), stderr {}",
            on_path.status,
            case.status,
            short(&on_path.stderr)
        ));
    }
    if on_set.status.code() != on_path.status.code() {
        problems.push(format!(
            "exit: {} on the set, {} on the path",
            on_set.status, on_path.status
        ));
    }
    if out_set != out_path {
        problems.push(format!(
            "stdout differs: set {} path {}",
            short(out_set.as_bytes()),
            short(out_path.as_bytes())
        ));
    }
    if err_set != err_path {
        problems.push(format!(
            "stderr differs: set {} path {}",
            short(err_set.as_bytes()),
            short(err_path.as_bytes())
        ));
    }
    let mut compared = vec![format!("stdout {} B", on_set.stdout.len())];
    for o in case.outputs {
        let a = std::fs::read(work_set.host.join(o));
        let b = std::fs::read(work_plain.host.join(o));
        match (a, b) {
            (Ok(a), Ok(b)) if a == b => compared.push(format!("{o} {} B", a.len())),
            (a, b) => problems.push(format!(
                "output {o} differs: set {:?} B, path {:?} B",
                a.map(|v| v.len()).map_err(|e| e.to_string()),
                b.map(|v| v.len()).map_err(|e| e.to_string())
            )),
        }
    }
    for (s, (in_set, plain)) in case.sets.iter().zip(plain_host.iter()) {
        if s.mode == Mode::Ro {
            continue;
        }
        let a = std::fs::read(in_set).unwrap();
        let b = std::fs::read(plain).unwrap();
        if a == b {
            compared.push(format!("set {} {} B", s.set, a.len()));
        } else {
            problems.push(format!(
                "set {}'s file differs after the run: {} B vs {} B on the path",
                s.set,
                a.len(),
                b.len()
            ));
        }
    }
    if problems.is_empty() {
        Ok(compared.join(", "))
    } else {
        Err(problems.join("; "))
    }
}

/// Run every case (two at a time), in table order.
pub fn run_suite(place: &dyn Place) -> Vec<CaseResult> {
    let fx = Fixtures::make(place);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = CASES.get(i) else { break };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_case(place, &fx, case)
                    }))
                    .unwrap_or_else(|p| {
                        Err(p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".into()))
                    });
                    results.lock().unwrap().push((
                        i,
                        CaseResult {
                            name: case.name,
                            outcome,
                        },
                    ));
                }
            });
        }
    });
    let mut v = results.into_inner().unwrap();
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

/// The results as a table, one program a line.
pub fn report(title: &str, results: &[CaseResult]) -> String {
    let passed = results.iter().filter(|r| r.outcome.is_ok()).count();
    let mut s = format!(
        "{title}: {passed} of {} programs agree with the ordinary path\n",
        results.len()
    );
    for r in results {
        match &r.outcome {
            Ok(what) => s += &format!("  ok    {:<44} {what}\n", r.name),
            Err(why) => s += &format!("  FAIL  {:<44} {why}\n", r.name),
        }
    }
    s
}

/// A program that cannot work on a set path (the README's "Known not to
/// work"): it creates or renames a file next to the path, and a set has no
/// folder to put one in. On the ordinary path it does its job; on the set it
/// must fail with a message and leave the file behind the set untouched.
pub struct Limit {
    pub name: &'static str,
    pub argv: &'static [&'static str],
    pub sets: &'static [SetArg],
    pub work: &'static [&'static str],
    /// Text the set run's message contains (the sibling it wanted), or "".
    pub says: &'static str,
}

pub const LIMITS: &[Limit] = &[
    Limit {
        name: "sed -i (temporary file beside the path)",
        argv: &["sed", "-i", "s/beta/BETA/", "{set1}"],
        sets: &[rw(1, "text.txt")],
        work: &[],
        says: "couldn't open temporary file /dev/fdset/sed",
    },
    Limit {
        name: "perl -i (temporary file beside the path)",
        argv: &["perl", "-i", "-pe", "s/beta/BETA/", "{set1}"],
        sets: &[rw(1, "text.txt")],
        work: &[],
        says: "Can't do inplace edit on /dev/fdset/1",
    },
    Limit {
        name: "sqlite3 write with its rollback journal (db-journal beside it)",
        argv: &[
            "sqlite3",
            "{set1}",
            "insert into t(a, b) values (501, 'row 501')",
        ],
        sets: &[rw(1, "db.sqlite")],
        work: &[],
        says: "unable to open database file",
    },
    Limit {
        name: "zip update (new archive beside the path)",
        argv: &["zip", "-q", "{set1}", "{dir}/text.txt"],
        sets: &[rw(1, "files.zip")],
        work: &["text.txt"],
        says: "/dev/fdset/1.zip",
    },
    Limit {
        name: "gzip FILE (FILE.gz beside it, FILE removed)",
        argv: &["gzip", "{set1}"],
        sets: &[rw(1, "text.txt")],
        work: &[],
        says: "/dev/fdset/1.gz",
    },
    Limit {
        name: "mv onto a set (a rename of a folder entry)",
        argv: &["mv", "{dir}/text.txt", "{set1}"],
        sets: &[rw(1, "other.txt")],
        work: &["text.txt"],
        says: "",
    },
];

/// Run one limit in `place`; `Ok` says how it failed on the set.
pub fn run_limit(place: &dyn Place, fx: &Fixtures, limit: &Limit) -> Result<String, String> {
    let mut runs = Runs::prepare(place, fx, limit.sets, limit.work);
    let (on_set, on_path) = runs.run(place, limit.argv, &Stdio::null);
    let mut problems = Vec::new();
    if !on_path.status.success() {
        problems.push(format!(
            "on the ordinary path it failed too: {}, stderr {}",
            on_path.status,
            short(&on_path.stderr)
        ));
    }
    for (s, (in_set, plain)) in limit.sets.iter().zip(&runs.files) {
        let original = std::fs::read(fx.path(s.fixture)).unwrap();
        if std::fs::read(plain).ok().as_ref() == Some(&original) {
            problems.push(format!(
                "on the ordinary path set {}'s file did not change",
                s.set
            ));
        }
        if std::fs::read(in_set).ok().as_ref() != Some(&original) {
            problems.push(format!("set {}'s file changed or went away", s.set));
        }
    }
    for w in limit.work {
        if !runs.work_set.host.join(w).exists() {
            problems.push(format!("{{dir}}/{w} went away on the set run"));
        }
    }
    // zip writes its errors on stdout.
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&on_set.stderr),
        String::from_utf8_lossy(&on_set.stdout)
    );
    if err.trim().is_empty() {
        problems.push(format!("no message on the set ({})", on_set.status));
    } else if !err.contains(limit.says) {
        problems.push(format!(
            "the message does not say {:?}: {}",
            limit.says,
            short(err.as_bytes())
        ));
    }
    if problems.is_empty() {
        let first = err.lines().next().unwrap_or_default();
        Ok(format!("{}: {first}", on_set.status))
    } else {
        Err(problems.join("; "))
    }
}

/// Every limit, in table order.
pub fn run_limits(place: &dyn Place) -> Vec<CaseResult> {
    let fx = Fixtures::make(place);
    LIMITS
        .iter()
        .map(|l| CaseResult {
            name: l.name,
            outcome: run_limit(place, &fx, l),
        })
        .collect()
}
