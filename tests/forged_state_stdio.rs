//! Spec section 7: the state an exec carries is checked like any input. A
//! forged `FDSET_STATE` that names fd 0, 1 or 2 as a member or a control
//! socket would hand the program's standard I/O to the shim (no longer
//! closable, close-on-exec): refused before `main`, saying why.
use fdset_testkit::*;

/// A forged state's (exit code, stderr, stdout).
fn with_state(json: &str) -> (Option<i32>, String, String) {
    let out = run_with_forged_state(json);
    (out.status.code(), stderr_of(&out), stdout_of(&out))
}

#[test]
fn a_member_at_fd_0_1_or_2_is_refused() {
    for fd in 0..=2 {
        let (code, err, out) = with_state(&format!(
            r#"{{"version":1,"sets":[{{"id":1,"members":[{{"fd":{fd}}}]}}]}}"#
        ));
        assert_eq!(code, Some(1), "member fd {fd}: {err}");
        assert!(
            err.contains(&format!(
                "FDSET_STATE: a member fd {fd} is a standard I/O stream"
            )),
            "member fd {fd}: {err}"
        );
        assert!(out.is_empty(), "main ran");
    }
}

#[test]
fn a_control_socket_at_fd_0_1_or_2_is_refused() {
    for fd in 0..=2 {
        for control in [
            format!(r#"{{"listeners":[{fd}]}}"#),
            format!(r#"{{"monitors":[{{"fd":{fd},"conn":{{}},"out":""}}]}}"#),
        ] {
            let (code, err, out) = with_state(&format!(r#"{{"version":1,"control":{control}}}"#));
            assert_eq!(code, Some(1), "{control}: {err}");
            assert!(
                err.contains(&format!(
                    "FDSET_STATE: control fd {fd} is a standard I/O stream"
                )),
                "{control}: {err}"
            );
            assert!(out.is_empty(), "main ran");
        }
    }
}

/// A dup may be at 0-2 (the program closed stdin and opened a set there):
/// that one is carried, and still refused nothing.
#[test]
fn a_dup_at_fd_0_is_accepted() {
    let (code, err, _) = with_state(r#"{"version":1,"sets":[{"id":1,"members":[],"dups":[0]}]}"#);
    assert_eq!(code, Some(0), "{err}");
}
