#!/usr/bin/env bash
# Combines data directories: combine_data.sh <dest> <src1> <src2> ...
# Usage: see `utils/combine_data.sh --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir combine "$@"
