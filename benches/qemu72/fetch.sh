#!/usr/bin/env bash
# Debian 12's QEMU 7.2 system emulator, unpacked for the QMP comparison bench
# (`cargo bench --bench qmp_vs_qemu`), never installed: `apt-get install
# qemu-system-*` would replace the QEMU 10 tools the tests use.
#
# Usage: benches/qemu72/fetch.sh [CACHE_DIR]   (default: target/qemu72)
# Idempotent: the .debs are downloaded once into CACHE_DIR/debs, unpacked
# into CACHE_DIR/root with `dpkg -x`; only the shared libraries the binary
# lacks (by ldd) are installed with apt. Prints the binary's path last, on
# a line of its own; exits non-zero when it cannot be made to start.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/../../target/qemu72}"
mkdir -p "$cache/debs"
cache="$(cd "$cache" && pwd)"
root="$cache/root"
qemu="$root/usr/bin/qemu-system-x86_64"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
pkgs=(qemu-system-x86 qemu-system-common qemu-system-data)
# What the 7.2 binary links that a machine with only qemu-utils 10 lacks.
libs=(libcapstone4 libfdt1 libpmem1 librdmacm1 libibverbs1 libslirp0 libvdeplug2)

updated=0
apt_update() {
  if [ "$updated" = 0 ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
}

log() { echo "qemu72: $*" >&2; }

if [ ! -x "$qemu" ]; then
  for p in "${pkgs[@]}"; do
    if ! ls "$cache/debs/${p}_"*.deb >/dev/null 2>&1; then
      # Debian 12's own 7.2 (not a backport), by explicit version.
      ver="$(apt-cache madison "$p" 2>/dev/null | awk -F'|' '$2 ~ /7\.2/ {gsub(/ /,"",$2); print $2; exit}')"
      if [ -z "$ver" ]; then
        apt_update
        ver="$(apt-cache madison "$p" | awk -F'|' '$2 ~ /7\.2/ {gsub(/ /,"",$2); print $2; exit}')"
      fi
      [ -n "$ver" ] || { log "no 7.2 version of $p in apt"; exit 1; }
      log "downloading $p=$ver"
      # (As root apt warns that it cannot drop to _apt for this folder.)
      (cd "$cache/debs" && apt-get download -qq "$p=$ver" 2>&1 | grep -v "unsandboxed as root" >&2 || true)
      ls "$cache/debs/${p}_"*.deb >/dev/null 2>&1 || { log "apt-get download $p failed"; exit 1; }
    fi
  done
  rm -rf "$root.tmp"
  mkdir -p "$root.tmp"
  for d in "$cache/debs/"*.deb; do
    dpkg -x "$d" "$root.tmp"
  done
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi

missing_libs() {
  ldd "$qemu" | awk '/not found/ {print $1}'
}
install_libs() {
  if [ $# -gt 0 ]; then
    apt_update
    log "installing libraries: $*"
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}
need=()
for l in "${libs[@]}"; do
  dpkg -s "$l" >/dev/null 2>&1 || need+=("$l")
done
install_libs "${need[@]}"
# Any other library ldd names: Debian's package for that soname (libfoo.so.N
# is in libfooN, or libfoo-N when the name ends in a digit).
need=()
for so in $(missing_libs); do
  base="${so%%.so*}"; num="${so##*.so.}"
  apt_update
  for pkg in "$base$num" "$base-$num"; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then
      need+=("$pkg")
      break
    fi
  done
done
install_libs "${need[@]}"
if [ -n "$(missing_libs)" ]; then
  log "still missing: $(missing_libs | tr '\n' ' ')"
  exit 1
fi

# It must start and speak QMP with the bench's arguments.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$qemu" -L "$root/usr/share/qemu" -M none -nodefaults -display none \
  -qmp "unix:$tmp/q.sock,server=on,wait=off" >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [ -S "$tmp/q.sock" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
ok=0
if [ -S "$tmp/q.sock" ]; then ok=1; fi
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [ "$ok" != 1 ]; then
  log "qemu-system-x86_64 7.2 did not start:"
  cat "$tmp/out" >&2
  exit 1
fi
echo "$qemu"
