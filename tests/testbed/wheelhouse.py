"""Build a wheelhouse of the test Django project's requirements for each target suite.

pip evaluates environment markers against the controller, not the target, so each suite's
list names its conditional dependencies explicitly (asgiref below 3.11 needs
typing_extensions on Python 3.9). Wheels are pure Python; a suite's folder is rebuilt only
when its requirement list changes.
"""
import argparse
import hashlib
import pathlib
import subprocess
import sys

SUITES = {
    "bullseye": ("3.9", ["Django>=4.2,<4.3", "typing_extensions>=4"]),
    "bookworm": ("3.11", ["Django>=5.2,<5.3"]),
    "trixie": ("3.13", ["Django>=5.2,<5.3"]),
}


def build(out, suite):
    python_version, requirements = SUITES[suite]
    folder = out / suite
    stamp = folder / ".requirements.sha256"
    want = hashlib.sha256(repr((python_version, requirements)).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
         "--python-version", python_version, "--dest", str(folder), *requirements],
        check=True,
    )
    stamp.write_text(want)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("suites", nargs="+", choices=sorted(SUITES))
    args = parser.parse_args()
    for suite in args.suites:
        build(args.out, suite)


if __name__ == "__main__":
    main()
