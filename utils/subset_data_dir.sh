#!/usr/bin/env bash
# Copies a subset of a data directory with every emotion file: --utt-list/--spk-list/--first/--last.
# Usage: see `utils/subset_data_dir.sh --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir subset "$@"
