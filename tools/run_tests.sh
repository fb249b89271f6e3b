#!/usr/bin/env bash
# Runs the test suite, creating the Python environment on first use (see tools/setup_env.sh).
# Extra arguments go to pytest, e.g. tools/run_tests.sh -k graph -x
#
#   tools/run_tests.sh          every tier: unit, recipe and corpus tests (what CI runs, .ci/run)
#   tools/run_tests.sh --fast   the unit tier only (pytest -m unit): under 2 minutes on 2 cores
#
# Tiers are pytest markers (pyproject.toml); tests/conftest.py gives every test one, by its file.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
args=()
fast=
for a in "$@"; do
  if [ "$a" = --fast ]; then fast=1; else args+=("$a"); fi
done
. ./path.sh
exec python -m pytest ${fast:+-m unit} "${args[@]}"
