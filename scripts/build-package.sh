#!/usr/bin/env bash
# Builds the app's dependencies exactly as requirements.lock pins them (each file's hash checked)
# into .python_packages/lib/site-packages, where the Functions host looks for them, for
#   func azure functionapp publish <app> --python --no-build
# so that Azure runs the very versions CI tested (a remote build would resolve requirements.txt's
# ranges again, on the day of the publish).
#
#   scripts/build-package.sh                  # for the app's python_version 3.11 (terraform's default)
#   PYTHON_VERSION=3.12 scripts/build-package.sh
#
# Wheels only, for the Linux x86-64 workers of the Consumption plan (glibc 2.31 or newer), whatever
# machine runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_VERSION="${PYTHON_VERSION:-3.11}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
TARGET=".python_packages/lib/site-packages"

case "$PYTHON_VERSION" in
  3.11|3.12) ;;
  *) echo "PYTHON_VERSION must be 3.11 or 3.12 (the function app's python_version), got '$PYTHON_VERSION'" >&2; exit 2 ;;
esac

rm -rf .python_packages
"$PYTHON" -m pip install --quiet --disable-pip-version-check \
  --require-hashes --no-deps -r requirements.lock \
  --target "$TARGET" \
  --implementation cp --python-version "$PYTHON_VERSION" --only-binary=:all: \
  --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any
echo "built $TARGET for Python $PYTHON_VERSION from requirements.lock ($(ls "$TARGET" | wc -l) entries)"
