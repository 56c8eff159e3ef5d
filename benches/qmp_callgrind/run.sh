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
# shellcheck source=under_callgrind.sh
. "$here/under_callgrind.sh"

small=$(instructions pairs.py 100)
large=$(instructions pairs.py 1100)
echo "instructions per add-fd+remove-fd pair: $(( (large - small) / 1000 )) (100 pairs: $small, 1100 pairs: $large)"
