#!/bin/bash
# User-space instructions of the shim's control thread per set of a
# query-fdsets (docs/PERFORMANCE.md, "QMP against QEMU 7.2"): for 100, 1,000
# and 10,000 sets, a program under the release shim runs in callgrind,
# queries.py fills the sets and sends 0 and then 20 query-fdsets, and
# (I(20) - I(0)) / 20 / sets is printed (start-up, filling and exit cancel
# out). Instruction counts do not depend on the machine's caches or load,
# so this shows whether the work per set is flat. Needs valgrind and
# python3; run `cargo build --release --lib --bins` first.
# Usage: queries.sh [REPO]
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=under_callgrind.sh
. "$here/under_callgrind.sh"

for sets in 100 1000 10000; do
    none=$(instructions queries.py "$sets" 0)
    twenty=$(instructions queries.py "$sets" 20)
    per_query=$(( (twenty - none) / 20 ))
    echo "$sets sets: $per_query instructions per query-fdsets, $(( per_query / sets )) per set"
done
