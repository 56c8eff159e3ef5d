//! The real-program cases of GNU coreutils (and findutils' `xargs`):
//! reading a set (`cat`, `head`, `tail`, the checksums, `cp`, `dd`, `cmp`,
//! `diff`, `stat`, `ls`, `sort`, ...), writing one (`tee`, `dd of=`,
//! `sort -o`, `cp`, `truncate`, `touch`), and the path calls around an open
//! (`ls -l`, `realpath`, `readlink -f`, `touch` on a read-only member).

use super::{Case, read, ro, wo};

/// The cases, in the order they run.
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
    read("sort -r", &["sort", "-r", "{set1}"], &[ro(1, "text.txt")]),
    read("tac", &["tac", "{set1}"], &[ro(1, "text.txt")]),
    read("nl", &["nl", "{set1}"], &[ro(1, "text.txt")]),
    read(
        "cut",
        &["cut", "-d", " ", "-f", "2", "{set1}"],
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
        name: "cp to a set (write-only member)",
        argv: &["cp", "{dir}/text.txt", "{set2}"],
        work: &["text.txt"],
        ..read("", &[], &[wo(2, "random.bin")])
    },
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
        "touch -d (read-only member: utimensat)",
        &[
            "sh",
            "-c",
            "touch -d @1000000000 {set1} && stat -c %Y {set1}",
        ],
        &[ro(1, "text.txt")],
    ),
];
