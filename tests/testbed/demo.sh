#!/usr/bin/env bash
# `make demo`: a bookworm container converged by playbooks/site.yml over SSH (the default
# Molecule scenario, left running), then Django asked, as its own user, what it is connected to.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
tests/testbed/setup.sh bookworm
export PATH="$top/.venv/bin:$PATH"
container=djangodeploy-default
# Molecule remembers a container it made; one stopped or gone since (a reboot, `docker rm`)
# would make converge fail to reach it: forget it first, and converge makes a new one.
[ "$(docker container inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ] \
    || molecule destroy -s default >/dev/null
molecule converge -s default
project=geodemo
echo
echo "=== Django, run as the $project user the book's way, connected to:"
docker exec "$container" runuser -u "$project" -- env \
    PYTHONPATH="/etc/opt/$project:/opt/$project" DJANGO_SETTINGS_MODULE=settings \
    "/opt/$project/venv/bin/python" "/opt/$project/manage.py" shell -c '
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT version(), current_user, current_database(), inet_server_addr(), PostGIS_Version()")
    version, user, database, address, postgis = cursor.fetchone()
print(version.split(" on ")[0], "| PostGIS", postgis)
print("user", user, "| database", database, "| via", address or "Unix socket")
'
docker exec "$container" runuser -u "$project" -- env \
    PYTHONPATH="/etc/opt/$project:/opt/$project" DJANGO_SETTINGS_MODULE=settings \
    "/opt/$project/venv/bin/python" "/opt/$project/manage.py" showmigrations places
# tests/testbed/demo_hints.sh runs each command below exactly as printed ("  label: command"),
# in a shell without the venv on PATH.
cat <<HINT

Next, in this folder:
  look around:     docker exec -it $container bash
  its settings:    docker exec $container cat /etc/opt/$project/settings.py
  converge again:  make demo-converge
  remove it:       make demo-destroy
HINT
