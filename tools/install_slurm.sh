#!/usr/bin/env bash
# Installs a single-node Slurm (Debian's slurmctld, slurmd and slurm-client) for the tests of
# utils/slurm.pl, only when it is missing: on a machine that has it, this does nothing, fast.
# Needs root (apt-get). The tests configure and start the daemons themselves (tests/slurm_cluster.py);
# nothing here configures or starts a service.
set -euo pipefail

missing=()
for tool in slurmctld slurmd sbatch squeue scontrol scancel; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "$0: installing Slurm (missing: ${missing[*]})" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "$0: installing Slurm needs root (apt-get install slurmctld slurmd slurm-client)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# The packages' own services are not started here (no init system in CI; policy-rc.d may refuse them).
apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client >&2
for tool in "${missing[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool still missing after the install" >&2; exit 1; }
done
