#!/usr/bin/env bash
# The README's main command. Builds fdset-shim, then lets unmodified programs
# (qemu-img, cat) open files that fdset-run opened on their behalf: the
# programs see only /dev/fdset/N or an alias path, never the real file name.
set -euo pipefail
cd "$(dirname "$0")"
# Install the tools first on a fresh machine (.ci/setup is idempotent).
command -v qemu-img >/dev/null || bash .ci/setup
cargo build --release --quiet
run="${CARGO_TARGET_DIR:-target}/release/fdset-run"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
qemu-img create -q -f qcow2 "$work/disk.qcow2" 64M
echo "hello from a file this program never opened" > "$work/note.txt"

echo "== qemu-img info on an alias path, backed by a set fdset-run opened read-write"
"$run" --file "set=1,path=$work/disk.qcow2,mode=rw" --alias /srv/vm/disk.qcow2=1 \
  -- qemu-img info /srv/vm/disk.qcow2
echo "== cat /dev/fdset/2"
"$run" --file "set=2,path=$work/note.txt" -- cat /dev/fdset/2
