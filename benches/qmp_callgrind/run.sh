#!/bin/bash
# User-space instructions of the shim's control thread per add-fd+remove-fd
# pair (docs/PERFORMANCE.md, "The control thread's instructions per
# command"): a program under the release shim runs in callgrind, pairs.py
# drives 100 and then 1,100 pairs, and (I(1100) - I(100)) / 1000 is printed
# (start-up and exit cancel out). Needs valgrind and python3; run
# `cargo build --release --lib --bins` first. Usage: run.sh [REPO]
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
export FDSET_SHIM_LIB=$repo/target/release/libfdset_shim.so

total() { # PAIRS -> instructions of the whole program
    local d run vg
    d=$(mktemp -d)
    "$repo/target/release/fdset-run" --qmp "$d/sock" -- \
        valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" sleep 1000 2>"$d/vg.log" &
    run=$!
    for _ in $(seq 300); do [ -S "$d/sock" ] && break; sleep 0.1; done
    python3 "$here/pairs.py" "$d/sock" "$1" >/dev/null
    vg=$(pgrep -P "$run")
    kill -TERM "$vg"
    wait "$run" || true
    awk '/^(summary|totals):/ {print $2; exit}' "$d/cg.out"
    rm -rf "$d"
}

small=$(total 100)
large=$(total 1100)
echo "instructions per add-fd+remove-fd pair: $(( (large - small) / 1000 )) (100 pairs: $small, 1100 pairs: $large)"
