#!/usr/bin/env bash
# Regenerates requirements.lock from requirements.txt: every runtime package, transitive ones
# included, pinned to one version with the hashes of its files, so that CI tests and the
# deployment ships exactly the same packages (docs/deployment.md, "Publish the code").
#
# pip-tools runs in a throwaway virtualenv: it is a tool of this script only, and the project's
# .venv must not change under the tests. Run it after changing requirements.txt and commit both;
# tests/unit/test_requirements_lock.py fails while the two disagree.
#
#   scripts/lock-requirements.sh            # with python3.11 (the oldest Python the app supports)
#   PYTHON=python3.12 scripts/lock-requirements.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
PIP_TOOLS_VERSION="7.6.2"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "pip-tools==$PIP_TOOLS_VERSION"
# No index or find-links lines in the output: the lock names packages and hashes, never a machine's
# package sources. --allow-unsafe pins setuptools/pip too when anything needs them.
CUSTOM_COMPILE_COMMAND="scripts/lock-requirements.sh" \
  "$work/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --newline LF \
  --output-file requirements.lock requirements.txt
echo "requirements.lock written from requirements.txt ($("$PYTHON" --version))"
