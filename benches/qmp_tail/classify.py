#!/usr/bin/env python3
"""Sorts the slow round trips of a traced qmp_vs_qemu run by their cause.

Input: the text of /sys/kernel/tracing/trace as trace.sh records it. A
round trip, seen from the trace, is the time the bench's client (its
thread is named qmp_vs_qemu-...) spends asleep between its command and
the server's wake-up that comes with the reply. Only small replies count
(sendto under 200 bytes: add-fd, remove-fd, query-version), and, as in the
bench, not the warm-ups after the client turned from another server (five
`query-version`s and three runs of the block's own command, up to six
commands: the first eleven are left out). A round trip over three times
its server's median is slow, and is put in the first of these classes
that it fits:

  another task ran      a thread of neither side ran on either vCPU
  crossed vCPUs         the server ran on the other vCPU than the client,
                        so each wake-up is an interrupt between vCPUs
  timer interrupt       the tick arrived on the server's vCPU meanwhile
  page fault            the server touched a page it had not mapped yet
  nothing seen          none of those: the time is missing between two
                        of the server's own events (printed: where)

Usage: classify.py TRACE
"""

import collections
import re
import statistics
import sys

LINE = re.compile(
    r"^\s*(?P<comm>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+"
    r"(?P<ts>[\d.]+): (?P<ev>\w+): (?P<rest>.*)$"
)
SERVERS = {"fdset-qmp": "shim", "qmp_floor": "floor"}
WARMUP = 5 + 3 * 2
SMALL = 200
SYSCALLS = {0: "read", 1: "write", 3: "close", 7: "poll", 44: "sendto",
            46: "sendmsg", 47: "recvmsg", 72: "fcntl", 271: "ppoll"}


def role_of(comm):
    if comm.startswith("qmp_vs_qemu"):
        return "client"
    if comm.startswith("qemu-system"):
        return "qemu"
    return SERVERS.get(comm)


def parse(path):
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                events.append((m["comm"], int(m["pid"]), int(m["cpu"]),
                               float(m["ts"]), m["ev"], m["rest"]))
    return events


def field(rest, name):
    m = re.search(r"\b" + name + r"=(\S+)", rest)
    return m.group(1) if m else None


def round_trips(events):
    """(role, server pid, client cpu, first index, last index, µs)."""
    names = {}
    for comm, pid, _, _, ev, rest in events:
        names[pid] = comm
        if ev == "sched_switch":
            names[int(field(rest, "next_pid"))] = field(rest, "next_comm")
    asleep = None  # (index, ts, cpu) of the client's last sleep
    waker = None
    last_send = {}
    turn = (None, 0)  # (role answering, commands since the client turned)
    trips = []
    for i, (comm, pid, cpu, ts, ev, rest) in enumerate(events):
        if ev == "sys_exit" and rest.startswith("NR 44 "):
            last_send[pid] = int(rest.split("= ")[1])
        elif ev == "sched_switch":
            prev, nxt = int(field(rest, "prev_pid")), int(field(rest, "next_pid"))
            if role_of(names.get(prev, "")) == "client" and "prev_state=S" in rest:
                asleep, waker = (i, ts, cpu), None
            elif role_of(names.get(nxt, "")) == "client" and asleep:
                role = role_of(names.get(waker, "")) if waker else None
                if role in ("shim", "floor", "qemu"):
                    turn = (role, turn[1] + 1 if turn[0] == role else 1)
                    size = last_send.pop(waker, None)
                    if (role != "qemu" and turn[1] > WARMUP
                            and size is not None and size < SMALL):
                        trips.append((role, waker, asleep[2], asleep[0], i,
                                      (ts - asleep[1]) * 1e6))
                asleep = None
        elif ev == "sched_waking" and asleep:
            if role_of(names.get(int(field(rest, "pid")), "")) == "client":
                waker = pid
    return trips, names


def cause(events, names, server, client_cpu, first, last):
    """The class of one slow round trip, and for 'nothing seen' where."""
    others, crossed, timer, fault = set(), False, False, False
    server_cpus = set()
    for comm, pid, cpu, ts, ev, rest in events[first:last + 1]:
        if ev == "sched_switch":
            nxt = int(field(rest, "next_pid"))
            if nxt == server:
                server_cpus.add(cpu)
                crossed |= cpu != client_cpu
            elif nxt != 0 and role_of(names.get(nxt, "")) != "client":
                others.add(field(rest, "next_comm"))
        elif pid == server:
            server_cpus.add(cpu)
            crossed |= cpu != client_cpu
            fault |= ev == "page_fault_user"
    for comm, pid, cpu, ts, ev, rest in events[first:last + 1]:
        timer |= ev == "local_timer_entry" and cpu in server_cpus
    if others:
        return "another task ran (" + ", ".join(sorted(others)) + ")", None
    if crossed:
        return "crossed vCPUs", None
    if timer:
        return "timer interrupt", None
    if fault:
        return "page fault", None
    return "nothing seen", longest_gap(events, server, first, last)


def longest_gap(events, server, first, last):
    """The longest time between two of the server's events, and where."""
    best, where, inside = 0.0, "", None
    prev_ts = None
    for comm, pid, cpu, ts, ev, rest in events[first:last + 1]:
        if pid != server:
            continue
        if prev_ts is not None and ts - prev_ts > best:
            best = ts - prev_ts
            where = (f"in {SYSCALLS.get(inside, inside)}" if inside is not None
                     else "in user space")
        prev_ts = ts
        if ev == "sys_enter":
            inside = int(rest.split()[1])
        elif ev == "sys_exit":
            inside = None
    return best * 1e6, where


def main():
    events = parse(sys.argv[1])
    trips, names = round_trips(events)
    for role in ("shim", "floor"):
        mine = [t for t in trips if t[0] == role]
        if not mine:
            print(f"{role}: no small round trips in the trace")
            continue
        median = statistics.median(t[5] for t in mine)
        slow = [t for t in mine if t[5] > 3 * median]
        print(f"{role}: {len(mine)} small round trips, median {median:.1f} µs; "
              f"{len(slow)} over 3x the median ({100 * len(slow) / len(mine):.2f}%)")
        classes = collections.Counter()
        gaps = collections.defaultdict(list)
        for _, server, cpu, first, last, _ in slow:
            c, gap = cause(events, names, server, cpu, first, last)
            classes[c] += 1
            if gap:
                gaps[gap[1]].append(gap[0])
        for c, n in classes.most_common():
            print(f"  {n:5}  {c}")
        for where, g in sorted(gaps.items(), key=lambda kv: -len(kv[1])):
            print(f"         nothing seen: {len(g)} with the longest gap {where}, "
                  f"median {statistics.median(g):.0f} µs")
        crossing_runs(events, mine)


def crossed(events, server, client_cpu, first, last):
    """Whether the server ran on another vCPU than the client's."""
    return any(pid == server and cpu != client_cpu
               for _, pid, cpu, _, _, _ in events[first:last + 1])


def crossing_runs(events, trips):
    """Every round trip (slow or not) that crossed vCPUs, and how they come:
    in runs of consecutive ones (each thread woken on its own idle vCPU,
    turn after turn) or alone."""
    flags = [crossed(events, server, cpu, first, last)
             for _, server, cpu, first, last, _ in trips]
    times = [t[5] for t, f in zip(trips, flags) if f]
    runs, length = [], 0
    for f in flags + [False]:
        if f:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    if not times:
        print("         crossed vCPUs: none of the round trips")
        return
    print(f"         crossed vCPUs: {len(times)} of all {len(trips)} round trips, "
          f"median {statistics.median(times):.0f} µs, in {len(runs)} runs "
          f"of consecutive ones (longest {max(runs)}, {runs.count(1)} alone)")


if __name__ == "__main__":
    main()
