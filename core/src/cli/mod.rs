//! The command lines of `fdset-run` and `fdset-ctl`, as `clap` derive
//! definitions. [`run::command`] and [`ctl::command`] return the
//! `clap::Command` of each, for a man-page or completion generator
//! (`clap_mangen`, `clap_complete`) to read; the binaries parse with the same
//! definitions ([`crate::launch::options::parse`] for fdset-run).
//!
//! Only option names, values and `--` are clap's business here: the values of
//! fdset-run's `--file`, `--add-fd`, `--data`, `--alias` and `--prefix` keep
//! QEMU's `key=value,...` syntax and are read by `launch::options`, whose
//! messages name the option as written and the fix.

pub mod ctl;
pub mod run;

use std::io::Write;

/// A line on stderr that never panics (`eprintln!` does when the write
/// fails): a full or closed stderr (`2>/dev/full`, a reader gone) must
/// neither stop a launch nor turn an exit status into Rust's 101.
pub fn warn(args: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// `text` on stdout, flushed; the error instead of `print!`'s panic.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A clap error (not `--help`/`--version`) as one block of text without
/// clap's `error: `, so that the tool can begin it with its own name like
/// its other messages; clap's hint and usage line follow the first line.
pub fn error_text(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text).trim_end();
    // clap's "to pass '-1' as a value, use '-- -1'" is wrong for both
    // programs: after fdset-run's `--` comes the program, and fdset-ctl
    // takes no such value. A block of tips left empty goes with it.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            !(l.trim_start().starts_with("tip: to pass '") && l.contains("as a value, use '-- "))
        })
        .collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if l.is_empty() && i > 0 && lines[i - 1].is_empty() {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_consistent() {
        // clap checks a definition's internal consistency (conflicting
        // names, bad groups) only in debug builds, through this call.
        run::command().debug_assert();
        ctl::command().debug_assert();
    }

    #[test]
    fn no_tip_sends_a_value_after_the_double_dash() {
        for args in [
            &["fdset-run", "--bogus", "--", "true"][..],
            &["fdset-run", "-x"],
        ] {
            let e = run::command()
                .try_get_matches_from(args)
                .expect_err("unknown");
            let text = error_text(&e);
            assert!(!text.contains("as a value, use '--"), "{text}");
            assert!(!text.contains("\n\n\n"), "{text}");
            assert!(
                text.starts_with(&format!("unexpected argument '{}' found\n", args[1])),
                "{text}"
            );
            assert!(
                text.ends_with("For more information, try '--help'."),
                "{text}"
            );
        }
    }

    #[test]
    fn errors_begin_with_the_program_name() {
        let e = ctl::command()
            .try_get_matches_from(["fdset-ctl", "--socket", "/s", "frobnicate"])
            .expect_err("unknown subcommand");
        let text = error_text(&e);
        assert!(
            text.starts_with("unrecognized subcommand 'frobnicate'"),
            "{text}"
        );
        assert!(text.contains("Usage: fdset-ctl"), "{text}");
    }
}
