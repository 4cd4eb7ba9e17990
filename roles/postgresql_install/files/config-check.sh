#!/bin/sh
# PostgreSQL's own parser, asked about a configuration before a server runs with it. As root
# it calls `postgres` as the postgres user (the server refuses root); `files` needs root.
# `postgres -C` reads the files as a starting server does and exits on the first bad value; it
# works while the server runs because it is pointed at a throwaway data directory holding
# only what it reads.
#
#   config-check.sh settings BINDIR NAME=VALUE...
#       each setting alone against the built-in defaults (input checks: no file is touched);
#       prints "NAME: PostgreSQL's message" per bad one.
#   config-check.sh files BINDIR CONFIG_DIR DATA_DIR
#       the files on disk; prints "error: message" lines, "shared_memory_mb: N" (what the
#       configuration needs: shared_memory_size on 15+, shared_buffers before) and
#       "memory_limit_mb: N" (the host's memory or the server's cgroup limit, the lower).
set -u
mode=$1 bindir=$2
shift 2
[ -x "$bindir/postgres" ] || exit 0  # not installed yet: nothing to ask
# The server refuses to run as root: as root, run it as postgres; as anyone else (the input
# checks, which run as the connecting user unless the play becomes root), run it as is.
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
probe=$(as_postgres mktemp -d) || exit 1
trap 'rm -rf "$probe"' EXIT

postgres() {
    as_postgres "$bindir/postgres" -c log_line_prefix= "$@" 2>&1
}
# PostgreSQL's messages on one line, without the noise of a data directory that is a probe.
messages() {
    sed -n -e '/skipping missing configuration file/d' -e 's/^\(FATAL\|ERROR\|LOG\|HINT\|DETAIL\): *//p' | paste -sd ' ' -
}

if [ "$mode" = settings ]; then
    for setting in "$@"; do
        name=${setting%%=*}
        out=$(postgres -D "$probe" -c config_file=/dev/null -c "$setting" -C "$name") \
            || printf '%s: %s\n' "$name" "$(printf '%s\n' "$out" | messages)"
    done
    exit 0
fi

configdir=$1 datadir=$2
# What -C needs of a data directory: the version, the control file (runtime-computed values)
# and ALTER SYSTEM's settings, which count as much as ours.
mkdir "$probe/global"
cp "$datadir/PG_VERSION" "$probe/" && cp "$datadir/global/pg_control" "$probe/global/" || exit 1
[ ! -f "$datadir/postgresql.auto.conf" ] || cp "$datadir/postgresql.auto.conf" "$probe/"
chown -R postgres: "$probe"

run() { postgres -D "$configdir" -c data_directory="$probe" -c external_pid_file= "$@"; }
if out=$(run -C shared_memory_size); then
    echo "shared_memory_mb: $out"
elif printf '%s' "$out" | grep -q 'unrecognized configuration parameter "shared_memory_size"'; then
    # PostgreSQL 13 and 14 cannot say; shared_buffers is most of it.
    if out=$(run -C shared_buffers); then
        echo "shared_memory_mb: $((out * 8 / 1024))"
    else
        echo "error: $(printf '%s\n' "$out" | messages)"
    fi
else
    echo "error: $(printf '%s\n' "$out" | messages)"
fi

limit=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
# The server's cgroup (a container's or systemd's memory limit), walked up to the root.
pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null)
[ -n "$pid" ] && [ -r "/proc/$pid/cgroup" ] || pid=$$
for dir in $(awk -F: '$2 == "" { print "/sys/fs/cgroup" $3 } $2 ~ /(^|,)memory(,|$)/ { print "/sys/fs/cgroup/memory" $3 }' "/proc/$pid/cgroup"); do
    while [ "${#dir}" -gt 14 ]; do
        for file in "$dir/memory.max" "$dir/memory.limit_in_bytes"; do
            value=$(cat "$file" 2>/dev/null) || continue
            case $value in
                *[!0-9]*|'') ;;
                *) [ $((value / 1048576)) -ge "$limit" ] || limit=$((value / 1048576)) ;;
            esac
        done
        dir=${dir%/*}
    done
done
echo "memory_limit_mb: $limit"
