//! End to end with the `qemu.qmp` package from PyPI (spec sections 2
//! and 3): tests/py/qmp_e2e.py starts c-tests/qmp_step.c under the shim with
//! a listening control socket and drives it with qemu.qmp's QMPClient,
//! checking /proc/PID/fd after each step. `.ci/setup` installs qemu.qmp.
use fdset_testkit::*;
use std::process::Command;

#[test]
fn qemu_qmp_client_drives_the_shim() {
    let dir = TempDir::new("qmp-python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/qmp_e2e.py");
    let out = Command::new(python())
        .arg(script)
        .arg(c_test("qmp_step"))
        .arg(shim_lib())
        .arg(dir.path())
        .output()
        .expect("run python");
    let stdout = stdout_of(&out);
    assert!(
        out.status.success(),
        "qmp_e2e.py failed (is qemu.qmp installed? run .ci/setup)\nstdout:\n{stdout}\nstderr:\n{}",
        stderr_of(&out)
    );
    // Every step of the scenario reported, the last one included.
    for step in [
        "ok: greeting version",
        "ok: add-fd result",
        "ok: program reads the file",
        "ok: query-fdsets",
        "ok: removed member closed with the last dup",
        "ok: remove-fd error",
        "ok: disconnect closed the members without dups",
        "ok: no shim socket but the listener left",
    ] {
        assert!(
            stdout.lines().any(|l| l == step),
            "missing {step:?} in:\n{stdout}"
        );
    }
}
