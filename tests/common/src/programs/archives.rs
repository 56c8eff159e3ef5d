//! The real-program cases of the compressors and archivers: `gzip`, `zcat`,
//! `xz`, `bzip2`, `zstd`, `tar`, `cpio`, `unzip` and `zip`, reading an
//! archive in a set and writing one into a set.

use super::{Case, read, ro, wo};

/// The cases, in the order they run.
pub const CASES: &[Case] = &[
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
    // Writing into a set.
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
];
