//! The real-program cases of the text tools and the shell: `file`, `grep`,
//! `awk`, `sed`, `perl`, `jq`, a script run from a set, and the shell's `<`,
//! `>` and `>>` on set paths.

use super::{Case, read, ro, ro_wo, wo};

/// The cases, in the order they run.
pub const CASES: &[Case] = &[
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
    // Writing into a set.
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
];
