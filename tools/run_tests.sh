#!/usr/bin/env bash
# Runs the test suite, creating the Python environment on first use (see tools/setup_env.sh).
# Extra arguments go to pytest, e.g. tools/run_tests.sh -k graph -x
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. ./path.sh
exec python -m pytest "$@"
