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
//!
//! The table is one `CASES` list per program family ([`FAMILIES`]);
//! `runner` runs and compares them, `limits` holds the programs that cannot
//! work on a set, `fixtures` the files they use, `place` where they run.

mod archives;
mod coreutils;
mod fixtures;
mod limits;
mod place;
mod python;
mod runner;
mod sqlite;
mod text_tools;

pub use fixtures::{Fixtures, random_bytes};
pub use limits::{LIMITS, Limit, run_limit, run_limits};
pub use place::{Host, Place, Scratch};
pub use runner::{CaseResult, report, run_case, run_suite};

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

impl Case {
    const fn with_work(self, work: &'static [&'static str]) -> Case {
        Case { work, ..self }
    }
}

/// The suite, by program family, in the order it runs. Every program here
/// works through a set today; the README's "Real programs" section lists
/// the ones that do not, and why ([`LIMITS`]).
pub const FAMILIES: &[(&str, &[Case])] = &[
    ("coreutils", coreutils::CASES),
    ("text tools and the shell", text_tools::CASES),
    ("python", python::CASES),
    ("sqlite", sqlite::CASES),
    ("compressors and archivers", archives::CASES),
];

/// Every case of [`FAMILIES`], in order.
pub fn cases() -> Vec<&'static Case> {
    FAMILIES
        .iter()
        .flat_map(|(_, cases)| cases.iter())
        .collect()
}
