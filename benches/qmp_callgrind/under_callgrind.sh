# Sourced by run.sh and queries.sh. instructions CLIENT ARGS...: a program
# under the release shim (fdset-run --qmp, `sleep` in callgrind) is driven
# by the Python client CLIENT (in this folder) given the socket and ARGS;
# prints the instructions callgrind counted in the whole program. Needs
# $repo and $here.
instructions() {
    local client=$1 d run vg
    shift
    d=$(mktemp -d)
    FDSET_SHIM_LIB=$repo/target/release/libfdset_shim.so \
        "$repo/target/release/fdset-run" --qmp "$d/sock" -- \
        valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" sleep 1000 2>"$d/vg.log" &
    run=$!
    for _ in $(seq 300); do [ -S "$d/sock" ] && break; sleep 0.1; done
    python3 "$here/$client" "$d/sock" "$@" >/dev/null
    vg=$(pgrep -P "$run")
    kill -TERM "$vg"
    wait "$run" || true
    awk '/^(summary|totals):/ {print $2; exit}' "$d/cg.out"
    rm -rf "$d"
}
