#!/usr/bin/env bash
# Sorts, de-duplicates and keeps the utterances present in every file; reports what it removed.
# Usage: see `utils/fix_data_dir.sh --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir fix "$@"
