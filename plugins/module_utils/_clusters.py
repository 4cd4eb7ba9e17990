# Copyright: djangodeploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Debian cluster holds the data, and so which major version the roles manage.

After `apt full-upgrade` to the next Debian release the old major keeps running and the
release's default major may have no cluster, or an empty `main` created by its package. Managing
the default major there would configure an empty cluster while the data stays behind (issue 15),
so the cluster is chosen from what `pg_lsclusters` finds, not from the release alone.

A cluster "holds data" when its data directory has a database besides the three initdb makes
(template0, template1, postgres) or a tablespace: read from the files, so a cluster that is down
(the old one after pg_upgradecluster) counts too.
"""

from __future__ import annotations

INITDB_DATABASES = 3


def parse_clusters(lines):
    """Lines "VERSION NAME PORT STATUS OWNER DATADIR LOGFILE DATABASES TABLESPACES" (the role's
    probe: pg_lsclusters' line and two counts read in the data directory) as dicts."""
    clusters = []
    for line in lines:
        fields = line.split()
        if len(fields) != 9:
            raise ValueError("unexpected cluster line %r" % line)
        version, name, port, status, _owner, data, _log, databases, tablespaces = fields
        clusters.append({"version": version, "name": name, "port": int(port), "status": status, "data": data,
                         "holds_data": int(databases) > INITDB_DATABASES or int(tablespaces) > 0})
    return clusters


def _major(version):
    return int(str(version).split(".", maxsplit=1)[0])


def choose_cluster(clusters, name, release_major, wanted=""):
    """The cluster to manage among `clusters` (parse_clusters), for cluster `name`.

    wanted: postgresql_version when the user set it (else ""); release_major: the release's
    default. Returns a dict: `major` (str), `cluster` (its dict, None before it exists), `upgrade_to` (the release's major when the managed
    cluster is older, else ""), `empty_new` (the release's cluster exists beside and holds
    nothing), `old` (the other clusters of that name, as dicts) and `error` ("" or why the run
    must stop before any change).
    """
    ours = sorted((c for c in clusters if c["name"] == name), key=lambda c: _major(c["version"]))
    by_version = {c["version"]: c for c in ours}
    with_data = [c for c in ours if c["holds_data"]]
    wanted, release_major = str(wanted or ""), str(release_major or "")
    result = {"major": "", "cluster": None, "upgrade_to": "", "empty_new": False, "old": [], "error": ""}
    if wanted:
        older = [c for c in with_data if _major(c["version"]) < _major(wanted)]
        if wanted not in by_version and older:
            holder = older[-1]["version"]
            result["error"] = (
                "postgresql_version is %s but cluster %s/%s holds the data and there is no %s/%s: managing %s "
                "would create an empty cluster beside it. Nothing was changed. Move the data first with "
                "playbooks/upgrade.yml -e postgresql_upgrade_to=%s, or set postgresql_version to %s (or leave "
                "it empty) until then." % (wanted, holder, name, wanted, name, wanted, wanted, holder))
        result["major"] = wanted
    elif with_data:
        result["major"] = with_data[-1]["version"]
    elif ours and release_major not in by_version:
        result["major"] = ours[-1]["version"]
    else:
        result["major"] = release_major
    if release_major and result["major"] and _major(result["major"]) < _major(release_major):
        result["upgrade_to"] = release_major
        new = by_version.get(release_major)
        result["empty_new"] = bool(new and not new["holds_data"])
    result["cluster"] = by_version.get(result["major"])
    result["old"] = [c for c in ours if c["version"] != result["major"]]
    return result
