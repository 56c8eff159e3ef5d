//! The `FDSET_ADD_FD`, `FDSET_PREFIX` and `FDSET_ALIAS` fdset-run was
//! started with, joined in front of its own options as if given first.
//! Checked together before anything is opened: the shim in the program
//! would refuse a bad one only after fdset-run had made files (spec section
//! 4: a program never runs with part of its fds missing). In seccomp mode
//! no shim reads them, so fdset-run serves them itself.

use super::add_fd as launch_spec;
use super::options::{AddFd, LaunchOptions};
use crate::paths::{PathConfig, alias_conflict};

/// The variables as fdset-run found them (`None`: unset).
#[derive(Clone, Copy, Debug, Default)]
pub struct Inherited<'a> {
    pub add_fd: Option<&'a str>,
    pub prefix: Option<&'a str>,
    pub alias: Option<&'a str>,
}

/// What [`LaunchOptions::with_inherited`] takes in; in seccomp mode they
/// are taken out of the program's environment, as the shim takes them
/// out of its own (spec section 5).
pub const JOINED_VARIABLES: [&str; 3] = ["FDSET_ADD_FD", "FDSET_PREFIX", "FDSET_ALIAS"];

/// Inherited variables that only a shim in the program can act on, what
/// seccomp mode refuses with the fix rather than ignore (`waits`: the
/// parsed `FDSET_WAIT` asks for a wait).
pub fn unserved_in_seccomp_mode(control_fd: Option<&str>, waits: bool) -> Option<String> {
    if control_fd.is_some_and(|v| !v.trim().is_empty()) {
        return Some(
            "FDSET_CONTROL_FD is set, but in seccomp mode no shim in the program serves a \
             control socket (give fdset-run --qmp PATH instead, or unset it)"
                .to_string(),
        );
    }
    waits.then(|| {
        "FDSET_WAIT=1 is set, but in seccomp mode nothing holds the program before main \
         (unset it)"
            .to_string()
    })
}

impl LaunchOptions {
    /// These options with `env`'s entries in front, each checked as the
    /// shim would check it, and checked against the options: an alias
    /// given twice for two sets, or one under a prefix.
    pub fn with_inherited(mut self, env: &Inherited<'_>) -> Result<LaunchOptions, String> {
        let mut add_fds = Vec::new();
        for item in env.add_fd.unwrap_or("").split(';') {
            if item.trim().is_empty() {
                continue;
            }
            let option = format!("FDSET_ADD_FD entry '{item}'");
            let specs = launch_spec::parse_add_fd(item)
                .map_err(|e| format!("{option}: {e} (write fd=N,set=S[,opaque=TEXT])"))?;
            add_fds.extend(specs.into_iter().map(|spec| AddFd {
                option: option.clone(),
                spec,
                inherited: true,
            }));
        }
        add_fds.append(&mut self.add_fds);
        self.add_fds = add_fds;

        let mut prefixes: Vec<String> = PathConfig::parse_prefixes(env.prefix.unwrap_or(""))
            .map_err(|e| format!("the FDSET_PREFIX fdset-run was given: {e}"))?
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        prefixes.append(&mut self.prefixes);
        self.prefixes = prefixes;

        let mut aliases = PathConfig::parse_aliases(env.alias.unwrap_or(""))
            .map_err(|e| format!("the FDSET_ALIAS fdset-run was given: {e}"))?;
        for (path, set) in &self.aliases {
            if let Some(why) = alias_conflict(&aliases, path.as_bytes(), *set) {
                return Err(format!(
                    "--alias {path}={set} with the FDSET_ALIAS fdset-run was given: {why}"
                ));
            }
            aliases.push((path.as_bytes().to_vec(), *set));
        }
        self.aliases = aliases
            .iter()
            .map(|(p, s)| (String::from_utf8_lossy(p).into_owned(), *s))
            .collect();

        if let Some(why) = self.path_config().alias_under_prefix() {
            return Err(format!(
                "the aliases and prefixes together (FDSET_ALIAS and FDSET_PREFIX as \
                 fdset-run was started with them, then --alias and --prefix): {why}"
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(prefixes: &[&str], aliases: &[(&str, u64)]) -> LaunchOptions {
        LaunchOptions {
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            aliases: aliases.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
            ..LaunchOptions::default()
        }
    }

    // Spec section 5: the inherited entries come first, in their order.
    #[test]
    fn inherited_entries_come_before_the_options() {
        let env = Inherited {
            add_fd: Some("fd=3,set=1;;fd=4,set=2,opaque=a,,b"),
            prefix: Some("/run/a:/run/b//"),
            alias: Some("/srv/x=1"),
        };
        let o = opts(&["/run/c/"], &[("/srv/y", 2)])
            .with_inherited(&env)
            .unwrap();
        let fds: Vec<_> = o.add_fds.iter().map(|a| (a.spec.fd, a.spec.set)).collect();
        assert_eq!(fds, [(Some(3), Some(1)), (Some(4), Some(2))]);
        assert_eq!(o.add_fds[1].spec.opaque.as_deref(), Some("a,b"));
        assert_eq!(o.add_fds[0].option, "FDSET_ADD_FD entry 'fd=3,set=1'");
        assert_eq!(o.prefixes, ["/run/a/", "/run/b/", "/run/c/"]);
        assert_eq!(
            o.aliases,
            [("/srv/x".to_string(), 1), ("/srv/y".to_string(), 2)]
        );
    }

    #[test]
    fn nothing_inherited_changes_nothing() {
        let o = opts(&["/run/c/"], &[("/srv/y", 2)]);
        assert_eq!(o.clone().with_inherited(&Inherited::default()).unwrap(), o);
    }

    // Spec section 4 (QEMU's syntax errors) and 5 (the shim's checks of
    // FDSET_PREFIX and FDSET_ALIAS), each naming the variable.
    #[test]
    fn a_bad_inherited_value_is_refused_naming_the_variable() {
        let cases = [
            (
                Inherited {
                    add_fd: Some("garbage"),
                    ..Inherited::default()
                },
                "FDSET_ADD_FD entry 'garbage': Invalid parameter 'garbage' (write fd=N,set=S[,opaque=TEXT])",
            ),
            (
                Inherited {
                    prefix: Some("run/f"),
                    ..Inherited::default()
                },
                "the FDSET_PREFIX fdset-run was given: FDSET_PREFIX entry 'run/f' is not an absolute path (write e.g. /run/fdset/)",
            ),
            (
                Inherited {
                    alias: Some("/srv/x"),
                    ..Inherited::default()
                },
                "the FDSET_ALIAS fdset-run was given: FDSET_ALIAS entry '/srv/x' is not PATH=N (e.g. /var/lib/disk.img=1)",
            ),
        ];
        for (env, want) in cases {
            assert_eq!(opts(&[], &[]).with_inherited(&env).unwrap_err(), want);
        }
    }

    #[test]
    fn an_alias_is_checked_against_the_inherited_ones_and_prefixes() {
        let env = Inherited {
            alias: Some("/srv/x=1"),
            ..Inherited::default()
        };
        let e = opts(&[], &[("/srv/x", 2)])
            .with_inherited(&env)
            .unwrap_err();
        assert_eq!(
            e,
            "--alias /srv/x=2 with the FDSET_ALIAS fdset-run was given: '/srv/x' is already an alias of set 1; a path can name one set"
        );
        // The same alias again is the same meaning.
        assert!(opts(&[], &[("/srv/x", 1)]).with_inherited(&env).is_ok());
        // An --alias under an inherited prefix, and an inherited alias
        // under a --prefix.
        let prefix = Inherited {
            prefix: Some("/run/f"),
            ..Inherited::default()
        };
        let under = Inherited {
            alias: Some("/run/f/3=3"),
            ..Inherited::default()
        };
        for (o, env) in [
            (opts(&[], &[("/run/f/3", 3)]), prefix),
            (opts(&["/run/f/"], &[]), under),
        ] {
            let e = o.with_inherited(&env).unwrap_err();
            assert!(
                e.ends_with("'/run/f/3' is under the prefix /run/f/, where the name itself says the set; an alias there is refused"),
                "{e}"
            );
        }
    }

    #[test]
    fn seccomp_mode_refuses_what_only_a_shim_serves() {
        assert_eq!(unserved_in_seccomp_mode(None, false), None);
        assert_eq!(unserved_in_seccomp_mode(Some(""), false), None);
        assert!(
            unserved_in_seccomp_mode(Some("5"), false)
                .unwrap()
                .starts_with("FDSET_CONTROL_FD is set")
        );
        assert!(
            unserved_in_seccomp_mode(None, true)
                .unwrap()
                .starts_with("FDSET_WAIT=1 is set")
        );
    }
}
