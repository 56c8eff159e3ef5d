//! "Every bad option is refused ... with a message that names the
//! option and the fix"; and the syntax of each option.
use super::*;

fn run(args: &[&str]) -> Result<LaunchOptions, String> {
    match parse(args.iter().map(OsString::from))? {
        Parsed::Run(o) => Ok(*o),
        Parsed::Info(_) => Err("help".into()),
    }
}

fn err(args: &[&str]) -> String {
    run(args).expect_err("must be refused")
}

#[test]
fn every_option_parses() {
    let o = run(&[
        "-v",
        "--add-fd",
        "fd=3,set=1,opaque=a,,b",
        "--file=set=2,path=/x,mode=rw,opaque=disk",
        "--file",
        "set=2,path=rel.txt",
        "--data",
        "set=4,path=-",
        "--data",
        "set=5,path=/etc/hostname",
        "--alias",
        "/srv/disk.img=2",
        "--prefix",
        "/run/fdset",
        "--qmp",
        "/tmp/q.sock",
        "--",
        "cat",
        "--",
        "-v",
    ])
    .unwrap();
    assert!(o.verbose);
    assert_eq!(o.add_fds[0].spec.fd, Some(3));
    assert_eq!(o.add_fds[0].spec.opaque.as_deref(), Some("a,b"));
    assert_eq!(o.files[0].mode, FileMode::ReadWrite);
    assert_eq!(o.files[0].opaque.as_deref(), Some("disk"));
    assert_eq!(o.files[1].mode, FileMode::ReadOnly);
    assert_eq!(o.files[1].path, PathBuf::from("rel.txt"));
    assert_eq!(o.data[0].source, DataSource::Stdin);
    assert_eq!(o.data[1].source, DataSource::File("/etc/hostname".into()));
    assert_eq!(o.aliases, vec![("/srv/disk.img".to_string(), 2)]);
    assert_eq!(o.prefixes, vec!["/run/fdset/".to_string()]);
    assert_eq!(o.qmp, Some(PathBuf::from("/tmp/q.sock")));
    // Everything after the first `--` belongs to the program.
    assert_eq!(o.program, ["cat", "--", "-v"].map(OsString::from));
}

fn info(args: &[&str]) -> String {
    match parse(args.iter().map(OsString::from)) {
        Ok(Parsed::Info(text)) => text,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn help_and_version() {
    let help = info(&["--help"]);
    assert!(
        help.contains("Usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...]"),
        "{help}"
    );
    // Help names each option, its defaults and the exit statuses.
    for text in [
        "--file <set=S,path=P[,mode=ro|wo|rw][,opaque=TEXT]>",
        "[mode default: ro]",
        "--user <USER>",
        "--groups <LIST|none>",
        "rw three members (O_RDWR, O_RDONLY, O_WRONLY)",
        "125 when",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
    assert_eq!(info(&["-h"]), info(&["-h"]));
    assert_eq!(
        info(&["--version"]),
        format!("fdset-run {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(info(&["-V"]), info(&["--version"]));
}

#[test]
fn missing_separator_and_program() {
    let no_program = "no program given: write it after `--` \
                      (usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...])";
    assert_eq!(err(&["--file", "set=1,path=/x"]), no_program);
    // A program named without `--` is not taken for an option value.
    assert_eq!(
        err(&["cat", "/dev/fdset/1"]),
        "'cat' is not an option: put `--` before the program \
         (usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...])"
    );
    assert_eq!(err(&["--prefix", "/run/x", "--"]), no_program);
    let e = err(&["--file"]);
    assert!(
        e.starts_with("a value is required for '--file <set=S,path=P"),
        "{e}"
    );
}

#[test]
fn unknown_option() {
    let e = err(&["--fiel", "x", "--", "true"]);
    assert!(e.starts_with("unexpected argument '--fiel' found"), "{e}");
    assert!(
        e.contains("tip: a similar argument exists: '--file'"),
        "{e}"
    );
    assert!(
        e.contains("Usage: fdset-run [OPTIONS] -- PROGRAM [ARGS...]"),
        "{e}"
    );
}

#[test]
fn values_after_equals_and_in_the_next_argument_agree() {
    let a = run(&[
        "--file=set=1,path=/x",
        "--add-fd=fd=3,set=2",
        "--data=set=4,path=-",
        "--alias=/a=1",
        "--prefix=/p",
        "--qmp=/q",
        "--user=nobody",
        "--group=nogroup",
        "--groups=none",
        "--",
        "true",
    ])
    .unwrap();
    let b = run(&[
        "--file",
        "set=1,path=/x",
        "--add-fd",
        "fd=3,set=2",
        "--data",
        "set=4,path=-",
        "--alias",
        "/a=1",
        "--prefix",
        "/p",
        "--qmp",
        "/q",
        "--user",
        "nobody",
        "--group",
        "nogroup",
        "--groups",
        "none",
        "--",
        "true",
    ])
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.identity.user.as_deref(), Some("nobody"));
    assert_eq!(a.identity.groups, Some(GroupsRequest::None));
}

#[test]
fn non_utf8_paths_and_arguments() {
    use std::os::unix::ffi::OsStrExt;
    let bad = OsStr::from_bytes(b"/tmp/caf\xe9.img");
    let mut file = OsString::from("set=1,path=");
    file.push(bad);
    file.push(",mode=rw");
    let mut data = OsString::from("set=2,path=");
    data.push(bad);
    let args = vec![
        OsString::from("--file"),
        file,
        OsString::from("--data"),
        data,
        OsString::from("--qmp"),
        bad.to_os_string(),
        OsString::from("--"),
        OsString::from("cat"),
        bad.to_os_string(),
    ];
    let Ok(Parsed::Run(o)) = parse(args) else {
        panic!("non-UTF-8 paths are accepted")
    };
    assert_eq!(o.files[0].path.as_os_str(), bad);
    assert_eq!(o.files[0].mode, FileMode::ReadWrite);
    assert_eq!(o.data[0].source, DataSource::File(PathBuf::from(bad)));
    assert_eq!(o.qmp.as_deref(), Some(std::path::Path::new(bad)));
    assert_eq!(o.program[1], bad);
    // What the shim reads from its environment must be text.
    let refused = |opt: &str, value: &OsStr| {
        let args = vec![
            OsString::from(opt),
            value.to_os_string(),
            "--".into(),
            "true".into(),
        ];
        parse(args).expect_err("refused")
    };
    let mut alias = bad.to_os_string();
    alias.push("=1");
    assert!(
        refused("--alias", &alias).contains("not valid UTF-8 (the shim reads FDSET_ALIAS as text")
    );
    assert!(refused("--prefix", bad).contains("not valid UTF-8"));
    assert!(refused("--user", bad).contains("not valid UTF-8 (give a user name or number)"));
    let mut mode = OsString::from("set=1,path=/x,mode=");
    mode.push(OsStr::from_bytes(b"r\xff"));
    assert!(refused("--file", &mode).contains("mode= is not valid UTF-8"));
}

#[test]
fn split_on_bytes_agrees_with_the_text_splitter() {
    for s in [
        "",
        "=",
        "a=1",
        "a=1,",
        "a=1,,b",
        "a=1,b=",
        "a",
        "a,b=1",
        ",",
        "a=,,",
        "x=1,,,y=2",
        "set=1,path=/a,,b,mode=rw",
    ] {
        let text = super::launch_spec::split_opts(s);
        let bytes = split_opts_bytes(s.as_bytes());
        match (text, bytes) {
            (Ok(t), Ok(b)) => {
                let b: Vec<(String, String)> = b
                    .into_iter()
                    .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
                    .collect();
                assert_eq!(t, b, "{s:?}");
            }
            (Err(t), Err(b)) => assert_eq!(t, b, "{s:?}"),
            (t, b) => panic!("{s:?}: {t:?} vs {b:?}"),
        }
    }
}

#[test]
fn identity_options() {
    let o = run(&[
        "--user", "1000", "--group", "staff", "--groups", "disk,44", "--", "id",
    ])
    .unwrap();
    assert_eq!(
        o.identity,
        IdentityRequest {
            user: Some("1000".into()),
            group: Some("staff".into()),
            groups: Some(GroupsRequest::List(vec!["disk".into(), "44".into()])),
        }
    );
    assert!(run(&["--", "id"]).unwrap().identity.is_empty());
    assert_eq!(
        err(&["--user", "", "--", "id"]),
        "--user : '' is not a user name or number"
    );
    assert_eq!(
        err(&["--group", "a:b", "--", "id"]),
        "--group a:b: 'a:b' is not a group name or number"
    );
    assert_eq!(
        err(&["--groups", "disk,,kvm", "--", "id"]),
        "--groups disk,,kvm: '' is not a group name or number (write e.g. --groups disk,kvm, or --groups none)"
    );
    assert!(
        err(&["--user", "a", "--user", "b", "--", "id"]).contains("cannot be used multiple times")
    );
}

#[test]
fn modes_give_their_members() {
    assert_eq!(FileMode::ReadOnly.member_modes(), [libc::O_RDONLY]);
    assert_eq!(FileMode::WriteOnly.member_modes(), [libc::O_WRONLY]);
    assert_eq!(
        FileMode::ReadWrite.member_modes(),
        [libc::O_RDWR, libc::O_RDONLY, libc::O_WRONLY]
    );
    assert_eq!(FileMode::parse("rx"), None);
    assert_eq!(
        access_mode_name(libc::O_WRONLY | libc::O_APPEND),
        "O_WRONLY"
    );
    assert_eq!(access_mode_name(libc::O_RDWR), "O_RDWR");
    assert_eq!(access_mode_name(libc::O_RDONLY), "O_RDONLY");
}

#[test]
fn bad_file_options() {
    assert_eq!(
        err(&["--file", "set=1,path=/x,mode=rx", "--", "true"]),
        "--file set=1,path=/x,mode=rx: mode 'rx' is not one of ro, wo, rw"
    );
    assert!(err(&["--file", "set=1", "--", "true"]).starts_with("--file set=1: path= is required"));
    assert!(
        err(&["--file", "path=/x", "--", "true"]).starts_with("--file path=/x: set= is required")
    );
    assert!(err(&["--file", "set=1,path=/x,size=3", "--", "true"]).contains("unknown key 'size'"));
    assert_eq!(
        err(&["--add-fd", "fd=3,set=1,opaque=a;b", "--", "true"]),
        "--add-fd fd=3,set=1,opaque=a;b: Invalid parameter 'b' (write fd=N,set=S[,opaque=TEXT]; a ';' separates specs, so an opaque text cannot contain one)"
    );
    // A path with a comma: the fix is named.
    assert_eq!(
        err(&["--file", "set=1,path=a,b.txt", "--", "true"]),
        "--file set=1,path=a,b.txt: unknown key 'b.txt' (the keys are set, path, mode, opaque; a comma inside a value is written ,,)"
    );
    assert_eq!(
        err(&["--file", "set=1,path=a,b.txt,mode=rw", "--", "true"]),
        "--file set=1,path=a,b.txt,mode=rw: Invalid parameter 'b.txt' (expected key=value) (write set, path, mode, opaque as key=value pairs; a comma inside a value is written ,,)"
    );
    assert_eq!(
        err(&["--file", "size=3,set=1", "--", "true"]),
        "--file size=3,set=1: unknown key 'size' (the keys are set, path, mode, opaque)"
    );
    assert!(err(&["--file", "set=1,set=2,path=/x", "--", "true"]).contains("'set' given twice"));
    assert!(
        err(&["--file", "set=1,path=/x,opaque=a;b", "--", "true"]).contains("cannot contain ';'")
    );
}

#[test]
fn set_id_out_of_range() {
    let e = err(&["--file", "set=2147483648,path=/x", "--", "true"]);
    assert_eq!(
        e,
        "--file set=2147483648,path=/x: set id 2147483648 is out of range \
         (use a set id from 0 to 2147483647, the numbers /dev/fdset/N can name)"
    );
    assert!(err(&["--data", "set=-1,path=-", "--", "true"]).contains("set id -1 is out of range"));
    assert!(
        err(&["--add-fd", "fd=3,set=9999999999", "--", "true"])
            .contains("set id 9999999999 is out of range")
    );
    assert!(err(&["--alias", "/a=x", "--", "true"]).contains("set id 'x' is not a number"));
    assert!(
        err(&["--file", "set=one,path=/x", "--", "true"]).contains("set id 'one' is not a number")
    );
    assert_eq!(
        run(&["--file", "set=2147483647,path=/x", "--", "true"])
            .unwrap()
            .files[0]
            .set,
        2147483647
    );
}

#[test]
fn a_prefix_ends_in_one_slash() {
    for given in ["/run/x", "/run/x/", "/run/x//"] {
        let o = run(&["--prefix", given, "--", "true"]).unwrap();
        assert_eq!(o.prefixes, vec!["/run/x/".to_string()], "{given}");
    }
    assert!(err(&["--prefix", "//", "--", "true"]).contains("would capture every path"));
}

#[test]
fn bad_alias_and_prefix() {
    assert!(err(&["--alias", "disk.img=1", "--", "true"]).contains("not an absolute path"));
    assert!(err(&["--alias", "/disk.img", "--", "true"]).contains("not PATH=S"));
    assert!(err(&["--prefix", "run/fdset", "--", "true"]).contains("not an absolute directory"));
    assert!(err(&["--prefix", "/", "--", "true"]).contains("would capture every path"));
    assert!(err(&["--prefix", "/a:b", "--", "true"]).contains("cannot contain ':'"));
    // One path names one set; a path under /dev/fdset/ names its own.
    let twice = err(&["--alias", "/srv/x=1", "--alias", "/srv/x=2", "--", "true"]);
    assert!(
        twice.contains("--alias /srv/x=2: '/srv/x' is already an alias of set 1"),
        "{twice}"
    );
    assert!(ok_alias(&["--alias", "/srv/x=1", "--alias", "/srv/x=1"]));
    let under = err(&["--alias", "/dev/fdset/2=1", "--", "true"]);
    assert!(
        under.contains("an alias there would never be used"),
        "{under}"
    );
}

fn ok_alias(args: &[&str]) -> bool {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--", "true"]);
    run(&all).is_ok()
}

#[test]
fn bad_add_fd_syntax() {
    assert!(
        err(&["--add-fd", "fd=x,set=1", "--", "true"])
            .starts_with("--add-fd fd=x,set=1: Parameter 'fd' expects a number")
    );
    assert!(err(&["--add-fd", "fd=3,sett=1", "--", "true"]).contains("Invalid parameter 'sett'"));
}

#[test]
fn stdin_only_once_and_one_qmp() {
    assert!(
        err(&[
            "--data",
            "set=1,path=-",
            "--data",
            "set=2,path=-",
            "--",
            "true"
        ])
        .contains("stdin can be read only once")
    );
    assert!(
        err(&["--qmp", "/a", "--qmp", "/b", "--", "true"])
            .contains("the argument '--qmp <PATH>' cannot be used multiple times")
    );
}

#[test]
fn environment_values() {
    let os = |s: &str| std::ffi::OsString::from(s);
    assert_eq!(
        preload_with(None, &os("/l/libfdset_shim.so")),
        os("/l/libfdset_shim.so")
    );
    assert_eq!(
        preload_with(Some(&os("/x.so")), &os("/l/s.so")),
        os("/x.so:/l/s.so")
    );
    assert_eq!(
        preload_with(Some(&os("/x.so /l/s.so")), &os("/l/s.so")),
        os("/x.so /l/s.so")
    );
    // A preload whose name is not UTF-8 keeps its place, byte for byte.
    use std::os::unix::ffi::OsStrExt;
    let odd = OsStr::from_bytes(b"/x\xff.so");
    assert_eq!(
        preload_with(Some(odd), &os("/l/s.so")).as_bytes(),
        b"/x\xff.so:/l/s.so"
    );
    assert_eq!(join_env(Some(""), ";", "a"), "a");
    assert_eq!(add_fd_spec(5, 2, Some("a,b")), "fd=5,set=2,opaque=a,,b");
    assert_eq!(add_fd_spec(5, 2, None), "fd=5,set=2");
    // The spec round-trips through the shim's own parser.
    let back = launch_spec::parse_add_fd(&add_fd_spec(5, 2, Some("a,b"))).unwrap();
    assert_eq!(back[0].opaque.as_deref(), Some("a,b"));
}
