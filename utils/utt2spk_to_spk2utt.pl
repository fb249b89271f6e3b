#!/usr/bin/env bash
# Inverts utt2spk into spk2utt: utt2spk_to_spk2utt.pl [utt2spk] > spk2utt.
# Usage: see `utils/utt2spk_to_spk2utt.pl --help`; a thin shell over emogcn.bin.datadir.
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.datadir spk2utt "$@"
