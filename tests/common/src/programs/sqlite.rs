//! The real-program cases of the `sqlite3` shell: read-only and immutable
//! opens of a database in a set, and a write with its journal in memory.

use super::{Case, read, ro, rw};

/// The cases, in the order they run.
pub const CASES: &[Case] = &[
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
    // Writing into a set.
    read(
        "sqlite3 write, journal_mode=memory",
        &[
            "sqlite3",
            "{set2}",
            "pragma journal_mode=memory; insert into t(a, b) values (501, 'row 501'); select count(*) from t",
        ],
        &[rw(2, "db.sqlite")],
    ),
];
