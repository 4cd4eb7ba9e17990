#!/usr/bin/env bash
# The demo as a newcomer meets it: `make demo` in a shell whose PATH does not hold the venv,
# then every command it prints, exactly as printed and in order. The rerun must change nothing
# and the last command must leave no container behind. On its own it costs one converge of the
# default scenario (about 4 minutes here); tests/run gives it the scenario's converged container.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
container=djangodeploy-default
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { printf 'demo_hints: %s\n' "$*" >&2; exit 1; }
plain() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r$//' "$@"; }

make demo 2>&1 | tee "$work/demo.out"
mapfile -t commands < <(plain "$work/demo.out" | sed -n '/^Next, in this folder:$/,$ s/^  [^:]*: *//p')
[ ${#commands[@]} -ge 4 ] || fail "make demo printed ${#commands[@]} commands to run next, not the 4 or more expected"
[ "${commands[-1]}" = "make demo-destroy" ] || fail "the last hint is '${commands[-1]}', not make demo-destroy"

for command in "${commands[@]}"; do
    printf '\n=== %s\n' "$command"
    # script(1) gives the command a terminal (docker exec -it needs one); an interactive
    # shell reads the `exit` typed into it, other commands never read it.
    printf 'exit\n' | timeout 900 script -qec "$command" /dev/null 2>&1 | tee "$work/step.out" \
        || fail "'$command' failed (exit ${PIPESTATUS[1]})"
    if [ "$command" = "make demo-converge" ]; then
        plain "$work/step.out" | grep -Eq "^.*$container +: ok=[0-9]+ +changed=0 " \
            || fail "'$command' changed something on a converged host"
    fi
done
if docker ps -a --format '{{.Names}}' | grep -qx "$container"; then
    fail "make demo-destroy left the container $container"
fi
echo "demo_hints: make demo and its ${#commands[@]} printed commands work as printed"
