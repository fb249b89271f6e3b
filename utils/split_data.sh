#!/usr/bin/env bash
# Splits a data directory into N parts by speaker (or --per-utt) under <data>/split<N>.
# Usage: see `utils/split_data.sh --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir split "$@"
