#!/usr/bin/env bash
# Kaldi's perturb_data_dir_speed.sh: a copy of <src> at speed <factor> (ids prefixed sp<factor>-,
# wav.scp entries piped through the resampler); combine 0.9, 1.0 and 1.1 with utils/combine_data.sh.
# Usage: utils/perturb_data_dir_speed.sh <factor> <src-data-dir> <dest-data-dir>
[ -n "${EMOGCN_ROOT:-}" ] || . "$(dirname "$(readlink -f "$0")")/../path.sh"
exec python -m emogcn.bin.perturb_data_dir copy --speed-only "$@"
