#!/usr/bin/env bash
# Run ansible-test sanity (and units) on this collection without Galaxy or the
# pip bootstrap host: the checkout's files (tracked and untracked-not-ignored) are
# copied to ansible_collections/djangodeploy/postgresql in a temp dir (ansible-test
# resolves symlinks, so a symlink is not enough), and ansible-test's
# get-pip download is replaced by a stand-in that uses ensurepip + PyPI.
# Usage: tests/sanity.sh [sanity|units] [extra ansible-test args]
# With JUNIT_DIR set, ansible-test's JUnit reports are copied there (sanity-*.xml / units-*.xml).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-$here/.venv}"
what="${1:-sanity}"; shift || true
pipver="$("$venv/bin/python" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
cache="$HOME/.ansible/test/cache/get_pip_${pipver//./_}.py"
if [ ! -s "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cat > "$cache" <<'PY'
# Stand-in for get-pip.py: bootstrap pip with ensurepip, then install the requested packages.
import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if not a.startswith("--") or a in ("--disable-pip-version-check",)]
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
fi
tmp="$(mktemp -d)"
collect_junit() {
  if [ -n "${JUNIT_DIR:-}" ] && [ -d "$dest/tests/output/junit" ]; then
    mkdir -p "$JUNIT_DIR"
    for f in "$dest"/tests/output/junit/*.xml; do
      [ -e "$f" ] && cp "$f" "$JUNIT_DIR/$what-$(basename "$f")"
    done
  fi
  return 0
}
trap 'collect_junit; rm -rf "$tmp"' EXIT
dest="$tmp/ansible_collections/djangodeploy/postgresql"
mkdir -p "$dest"
(cd "$here" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$dest" -xf -
cd "$tmp/ansible_collections/djangodeploy/postgresql"
junit=(); [ -n "${JUNIT_DIR:-}" ] && junit=(--junit)
if [ "$what" = units ]; then
  "$venv/bin/ansible-test" units --venv --python 3.11 "${junit[@]}" "$@"
else
  "$venv/bin/ansible-test" sanity --venv --python 3.11 "${junit[@]}" "$@" plugins/ tests/unit/ tests/integration/ tests/galaxy/
fi
