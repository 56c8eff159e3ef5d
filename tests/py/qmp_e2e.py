"""End to end with the `qemu.qmp` client from PyPI: a C program
under the shim serves a listening control socket; this client connects,
negotiates, sends an fd with send_fd_scm, runs add-fd; the program opens
/dev/fdset/N and reads the file; query-fdsets, remove-fd and the disconnect
behave as fdset-spec.md sections 2 and 3 say, checked in /proc/PID/fd.

usage: qmp_e2e.py QMP_STEP_PROGRAM LIBFDSET_SHIM_SO SCRATCH_DIR
Prints one line per checked step; exits non-zero on the first failure.
"""
import asyncio
import os
import socket
import subprocess
import sys
import time

from qemu.qmp import ExecuteError, QMPClient


def fd_table(pid):
    d = f"/proc/{pid}/fd"
    out = {}
    for name in os.listdir(d):
        try:
            out[int(name)] = os.readlink(os.path.join(d, name))
        except OSError:
            pass
    return out


def fds_to(pid, path):
    return sorted(fd for fd, t in fd_table(pid).items() if t == path)


def wait_for(what, cond, timeout=10.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.01)


class Program:
    """c-tests/qmp_step.c: one command a line on stdin, one reply line."""

    def __init__(self, exe, shim, control_fd):
        env = {"LD_PRELOAD": shim, "FDSET_CONTROL_FD": str(control_fd)}
        self.p = subprocess.Popen([exe], env=env, pass_fds=[control_fd],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.line() == "main"

    def line(self):
        return self.p.stdout.readline().rstrip("\n")

    def step(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.line()

    def open(self, path, mode):
        r = self.step(f"open {path} {mode}")
        assert r.startswith("fd "), r
        return int(r[3:])


def check(label, got, want):
    if got != want:
        raise AssertionError(f"{label}: got {got!r}, want {want!r}")
    print(f"ok: {label}")


async def scenario(exe, shim, scratch):
    data = os.path.join(scratch, "data.txt")
    with open(data, "w") as f:
        f.write("hello from qemu.qmp\n")
    sock_path = os.path.join(scratch, "qmp.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen()
    prog = Program(exe, shim, listener.fileno())
    listener.close()
    pid = prog.p.pid
    try:
        qmp = QMPClient("fdset-e2e")
        await qmp.connect(sock_path)  # greeting + qmp_capabilities
        check("greeting version", qmp.greeting.QMP.version["qemu"], {"major": 7, "minor": 2, "micro": 0})
        check("greeting capabilities", list(qmp.greeting.QMP.capabilities), [])

        fd = os.open(data, os.O_RDONLY)
        qmp.send_fd_scm(fd)
        res = await qmp.execute("add-fd", {"fdset-id": 1, "opaque": "data"})
        os.close(fd)
        member = res["fd"]
        check("add-fd result", res, {"fdset-id": 1, "fd": member})
        check("member is the only fd on the file", fds_to(pid, data), [member])

        dup = prog.open("/dev/fdset/1", "r")
        check("program reads the file", prog.step(f"read {dup}"), "data hello from qemu.qmp|")

        fd = os.open(data, os.O_RDONLY)
        qmp.send_fd_scm(fd)
        second = (await qmp.execute("add-fd", {"fdset-id": 1}))["fd"]
        qmp.send_fd_scm(fd)
        res0 = await qmp.execute("add-fd")
        os.close(fd)
        check("add-fd without id takes the lowest free id", res0["fdset-id"], 0)
        check("query-fdsets", await qmp.execute("query-fdsets"), [
            {"fdset-id": 1, "fds": [{"fd": member, "opaque": "data"}, {"fd": second}]},
            {"fdset-id": 0, "fds": [{"fd": res0["fd"]}]},
        ])

        check("remove-fd", await qmp.execute("remove-fd", {"fdset-id": 1, "fd": member}), {})
        check("removed member kept while its set has a dup", member in fd_table(pid), True)
        check("removed member hidden", (await qmp.execute("query-fdsets"))[0],
              {"fdset-id": 1, "fds": [{"fd": second}]})
        check("close the dup", prog.step(f"close {dup}"), "ok")
        check("removed member closed with the last dup", member in fd_table(pid), False)
        try:
            await qmp.execute("remove-fd", {"fdset-id": 1, "fd": member})
            raise AssertionError("remove-fd of a removed member succeeded")
        except ExecuteError as e:
            check("remove-fd error", (e.error_class, str(e)),
                  ("GenericError", f"File descriptor named 'fdset-id:1, fd:{member}' not found"))

        await qmp.disconnect()
        wait_for("members closed after the last monitor left", lambda: fds_to(pid, data) == [])
        print("ok: disconnect closed the members without dups")
        check("no shim socket but the listener left",
              sum(1 for fd, t in fd_table(pid).items() if fd >= 100 and t.startswith("socket:")), 1)
    finally:
        prog.p.kill()
        prog.p.wait()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(scenario(*sys.argv[1:]))


if __name__ == "__main__":
    main()
