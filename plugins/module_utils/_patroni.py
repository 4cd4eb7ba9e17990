# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patroni's dynamic configuration from our conf.d files, and what differs from the live one.

Patroni passes some settings to postgres on the command line, taking them from its dynamic
configuration in the DCS, so a value in conf.d is silently overridden (max_connections becomes
100 again). The values our roles wrote are read back from the conf.d files and put where
Patroni reads them."""

from __future__ import annotations

import re

# Patroni 3 and 4 (postgresql/config.py, CMDLINE_OPTIONS): set by the DCS, never by a file.
# listen_addresses and port come from Patroni's local `postgresql.listen` instead.
COMMAND_LINE_SETTINGS = frozenset(
    (
        "wal_level",
        "hot_standby",
        "max_connections",
        "max_wal_senders",
        "wal_keep_size",
        "max_prepared_transactions",
        "max_locks_per_transaction",
        "track_commit_timestamp",
        "max_replication_slots",
        "max_worker_processes",
        "wal_log_hints",
    )
)

_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*?)\s*$")


def _unquote(value):
    value = re.sub(r"\s+#.*$", "", value) if not value.startswith("'") else value
    if value.startswith("'"):
        end = 1
        out = []
        while end < len(value):
            char = value[end]
            if char == "'" and value[end + 1 : end + 2] == "'":
                out.append("'")
                end += 2
                continue
            if char == "'":
                break
            if char == "\\" and end + 1 < len(value):
                out.append(value[end + 1])
                end += 2
                continue
            out.append(char)
            end += 1
        return "".join(out)
    return value


def parse_postgresql_conf(text):
    """name -> value of a postgresql.conf-style text; the last line of a name wins, as in PostgreSQL."""
    settings = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if not match:
            continue
        name, value = match.group(1).lower(), _unquote(match.group(2))
        if name in ("include", "include_dir", "include_if_exists"):
            continue
        settings[name] = value
    return settings


def dynamic_parameters(texts):
    """The command-line settings of the given conf.d texts (in the order PostgreSQL reads them)."""
    merged = {}
    for text in texts:
        merged.update(parse_postgresql_conf(text))
    return {name: value for name, value in merged.items() if name in COMMAND_LINE_SETTINGS}


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        items = {}
        for key in sorted(value):
            items.update(_flatten(value[key], "%s%s." % (prefix, key)))
        return items
    return {prefix[:-1]: value}


def _same(live, wanted):
    if isinstance(wanted, bool) or isinstance(live, bool):
        return str(live).lower() in ("true", "on", "1") if str(wanted).lower() in ("true", "on", "1") \
            else str(live).lower() in ("false", "off", "0", "none")
    return str(live) == str(wanted)


def config_changes(live, wanted):
    """`patronictl edit-config --set` arguments (path=value) that make `live` hold `wanted`.

    Keys of `live` that `wanted` does not name are left alone: an operator's own edits stay."""
    live_flat = _flatten(live or {})
    changes = []
    for path, value in _flatten(wanted).items():
        if path in live_flat and _same(live_flat[path], value):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        changes.append("%s=%s" % (path, value))
    return changes
