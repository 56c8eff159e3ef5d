#!/bin/bash
# Where the slow round trips of `cargo bench --bench qmp_vs_qemu` come from
# (docs/PERFORMANCE.md, "The tail, traced"). Runs the bench's quick mode
# with the kernel's scheduler, syscall, timer-interrupt and page-fault
# tracepoints on, then classify.py takes every small round trip (reply
# under 200 bytes) the client had with the shim's control thread and with
# the floor, and sorts those over three times their server's median by
# what the trace shows inside them. Tracing slows every round trip a
# little; the figures to quote are the bench's own, this says why.
# Needs root, tracefs at /sys/kernel/tracing and python3.
# Usage: trace.sh [REPO]   (trace kept in target/qmp_tail.trace, the
# bench's own table in target/qmp_tail.bench.txt)
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
t=/sys/kernel/tracing
[ -w "$t/tracing_on" ] || { echo "trace.sh: needs root and tracefs at $t" >&2; exit 2; }
out="$repo/target/qmp_tail.trace"
bench_out="$repo/target/qmp_tail.bench.txt"
was_on=$(cat "$t/tracing_on")
was_size=$(cat "$t/buffer_size_kb")

events="sched/sched_waking sched/sched_wakeup sched/sched_switch
sched/sched_migrate_task raw_syscalls/sys_enter raw_syscalls/sys_exit
exceptions/page_fault_user irq_vectors/local_timer_entry"
# Only the servers' threads: the client's own calls would fill the buffer.
filtered="raw_syscalls/sys_enter raw_syscalls/sys_exit exceptions/page_fault_user"

# Leave tracefs as it was found.
restore() {
    echo 0 >"$t/tracing_on"
    for e in $events; do echo 0 >"$t/events/$e/enable"; done
    for e in $filtered; do echo 0 >"$t/events/$e/filter"; done
    echo "${was_size%% *}" >"$t/buffer_size_kb"
    echo "$was_on" >"$t/tracing_on"
}
trap restore EXIT

(cd "$repo" && cargo bench --bench qmp_vs_qemu --no-run)
echo 0 >"$t/tracing_on"
echo >"$t/trace"
echo 131072 >"$t/buffer_size_kb"
for e in $filtered; do
    echo 'COMM == "fdset-qmp" || COMM == "qmp_floor"' >"$t/events/$e/filter"
done
for e in $events; do echo 1 >"$t/events/$e/enable"; done
echo 1 >"$t/tracing_on"
(cd "$repo" && FDSET_BENCH_QUICK=1 cargo bench --bench qmp_vs_qemu >"$bench_out" 2>&1) ||
    { echo "trace.sh: the bench failed, see $bench_out" >&2; exit 1; }
echo 0 >"$t/tracing_on"
cat "$t/trace" >"$out"
lost=$(cat "$t"/per_cpu/cpu*/stats | awk '/^overrun:/ {n += $2} END {print n + 0}')
[ "$lost" = 0 ] || echo "trace.sh: the trace buffer overran ($lost events lost); figures are partial" >&2
python3 "$here/classify.py" "$out"
