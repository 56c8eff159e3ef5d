#!/usr/bin/env bash
# The README's main command. Builds fdset-shim, then lets unmodified programs
# (qemu-img, cat) open files that fdset-run opened on their behalf: the
# programs see only /dev/fdset/N or an alias path, never the real file name.
set -euo pipefail
cd "$(dirname "$0")"
# Install the tools first on a fresh machine (.ci/setup is idempotent).
command -v qemu-img >/dev/null || bash .ci/setup
# FDSET_RUN=/usr/bin/fdset-run runs the demo with the installed package.
if [ -n "${FDSET_RUN:-}" ]; then
  run=$FDSET_RUN
else
  cargo build --release --quiet
  run="${CARGO_TARGET_DIR:-target}/release/fdset-run"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
qemu-img create -q -f qcow2 "$work/disk.qcow2" 64M
echo "hello from a file this program never opened" > "$work/note.txt"

echo "== qemu-img info on an alias path, backed by a set fdset-run opened read-write"
"$run" --file "set=1,path=$work/disk.qcow2,mode=rw" --alias /srv/vm/disk.qcow2=1 \
  -- qemu-img info /srv/vm/disk.qcow2
echo "== cat /dev/fdset/2"
"$run" --file "set=2,path=$work/note.txt" -- cat /dev/fdset/2

cat <<'NEXT'

== Where to go next
- README.md, "Quick start" and "Recipes": a root-only file for another
  user, a secret that never touches disk, bubblewrap, QEMU's tools and
  system emulator, runtime hotplug with fdset-ctl; "Reference" for every
  option, variable and rule.
- fdset-run --help; man fdset-run, man fdset-ctl, man 7 fdset-shim (after
  installing the package, see "Install").
- bash .ci/run: every test (docs/TESTING.md).
NEXT
