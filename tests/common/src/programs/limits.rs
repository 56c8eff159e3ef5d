//! The programs that cannot work on a set path (the README's "Known not to
//! work"), and how each must fail there: cleanly, losing nothing.

use super::fixtures::Fixtures;
use super::place::Place;
use super::runner::{CaseResult, Runs, short};
use super::{SetArg, rw};
use std::process::Stdio;

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
