#!/usr/bin/env bash
# Checks a data directory: sorted unique keys, consistent files, valid values.
# Usage: see `utils/validate_data_dir.sh --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir validate "$@"
