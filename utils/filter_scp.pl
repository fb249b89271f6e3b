#!/usr/bin/env bash
# Keeps the lines of an scp whose key is in a list: filter_scp.pl [--exclude] <id-list> <scp>.
# Usage: see `utils/filter_scp.pl --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir filter-scp "$@"
