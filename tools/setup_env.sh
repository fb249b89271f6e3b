#!/usr/bin/env bash
# Creates (on first use) and prints the path of the Python environment emogcn runs in.
#
# The environment lives under ${EMOGCN_ENV_CACHE:-~/.cache/emogcn}, keyed by a hash of the
# dependency list in pyproject.toml and the Python version, so every clone of the project on this
# machine shares one install (torch alone is ~5.5 GB) and a change of dependencies makes a new one.
# The emogcn sources are NOT installed into it: path.sh puts the clone itself on PYTHONPATH.
#
# Optional extras (openSMILE; silero-vad for emogcn-predict --segment; onnx and onnxruntime for
# exports) are installed on top of that environment, each recorded by a marker
# keyed by its own requirement list, so adding an extra does not reinstall torch.
#
# Set EMOGCN_PYTHON=/path/to/python to use an environment you manage yourself instead.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
if [ -n "${EMOGCN_PYTHON:-}" ]; then
  echo "$(dirname "$EMOGCN_PYTHON")/.."
  exit 0
fi
base_python=${EMOGCN_BASE_PYTHON:-python3}
cache=${EMOGCN_ENV_CACHE:-$HOME/.cache/emogcn}

deps=$("$base_python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
deps = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
print("\n".join(sorted(deps)))
PY
)
key=$( (printf '%s\n' "$deps"; "$base_python" -c 'import sys; print(sys.version)') | sha1sum | cut -c1-12)
venv=$cache/venv-$key
mkdir -p "$cache"

# One creator at a time; a venv without its .complete marker is a broken earlier attempt.
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  echo "emogcn: creating the Python environment $venv (first use; torch is several GB)" >&2
  "$base_python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  mapfile -t dep_list <<<"$deps"
  "$venv/bin/python" -m pip install --quiet "${dep_list[@]}" >&2
  "$venv/bin/python" -c 'import torch, torchaudio, torchvision, kaldiio, soundfile, yaml' >&2
  touch "$venv/.complete"
  echo "emogcn: environment ready" >&2
fi

# The optional extras installed on top: each one's requirements, and a module that must import after.
EXTRAS="opensmile:opensmile vad:silero_vad export:onnx,onnxruntime"
extras=$("$base_python" - "$root/pyproject.toml" $EXTRAS <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    optional = tomllib.load(f)["project"]["optional-dependencies"]
print("\n".join(sorted(r for extra in sys.argv[2:] for r in optional[extra.split(":")[0]])))
PY
)
extras_marker=$venv/.extras-$(printf '%s\n' "$extras" | sha1sum | cut -c1-12)
if [ ! -f "$extras_marker" ]; then
  echo "emogcn: installing the optional packages: $(echo $extras)" >&2
  mapfile -t extra_list <<<"$extras"
  "$venv/bin/python" -m pip install --quiet "${extra_list[@]}" >&2
  for extra in $EXTRAS; do "$venv/bin/python" -c "import ${extra#*:}" >&2; done
  touch "$extras_marker"
fi
echo "$venv"
