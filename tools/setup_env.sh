#!/usr/bin/env bash
# Creates (on first use) and prints the path of the Python environment emogcn runs in.
#
# The environment lives under ${EMOGCN_ENV_CACHE:-~/.cache/emogcn}, keyed by a hash of what it
# resolves to: the dependency list in pyproject.toml with each requirement that tools/constraints.txt
# pins replaced by its pin (plus pins of packages not in the list), and the Python version. Every
# clone of the project on this machine shares one install (torch alone is ~5.5 GB); a change of
# dependencies or pins makes a new one, a range widened around an unchanged pin does not.
# Every install (the base set and the extras) runs under the constraints (pip install -c), so an
# extra cannot move torch.
# The emogcn sources are NOT installed into it: path.sh puts the clone itself on PYTHONPATH.
#
# Optional extras (openSMILE; scikit-learn for the SVM baseline; silero-vad for emogcn-predict
# --segment; onnx and onnxruntime for exports) are installed on top of that environment, each
# recorded by a marker keyed by its own requirement list, so adding an extra does not reinstall torch.
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

constraints=$root/tools/constraints.txt
deps=$("$base_python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
deps = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
print("\n".join(sorted(deps)))
PY
)
# What the key hashes: each dependency as the constraints resolve it (its pin where there is one),
# then the pins of packages outside the list.
resolved=$("$base_python" - "$constraints" "$deps" <<'PY'
import re, sys
def name(req):
    return re.sub(r"[-_.]+", "-", re.match(r"\s*([A-Za-z0-9._-]+)", req).group(1)).lower()
pins = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if line:
        pins[name(line)] = line
deps = sys.argv[2].splitlines()
used = {name(d) for d in deps}
print("\n".join(sorted(pins.get(name(d), d) for d in deps)))
for n in sorted(set(pins) - used):
    print(pins[n])
PY
)
key=$( (printf '%s\n' "$resolved"; "$base_python" -c 'import sys; print(sys.version)') | sha1sum | cut -c1-12)
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
  "$venv/bin/python" -m pip install --quiet -c "$constraints" "${dep_list[@]}" >&2
  "$venv/bin/python" -c 'import torch, torchaudio, torchvision, kaldiio, soundfile, yaml' >&2
  touch "$venv/.complete"
  echo "emogcn: environment ready" >&2
fi

# Every optional extra of pyproject.toml but `test` (already in the base set): opensmile (eGeMAPS and
# ComParE functionals), classic (scikit-learn, the SVM baseline), ... One marker per extra, keyed by
# its name and requirement list, so a new or changed extra installs only itself. After the install,
# the module named for the extra in [tool.emogcn.extra-imports] must import.
extras=$("$base_python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    pyproject = tomllib.load(f)
imports = pyproject.get("tool", {}).get("emogcn", {}).get("extra-imports", {})
for name, reqs in sorted(pyproject["project"]["optional-dependencies"].items()):
    if name != "test":  # one line per extra: name, import check, requirements
        print(name, imports.get(name, "-"), " ".join(sorted(reqs)))
PY
)
while read -r extra module reqs; do
  [ -n "$extra" ] || continue
  marker=$venv/.extra-$extra-$(printf '%s\n' "$reqs" | sha1sum | cut -c1-12)
  [ ! -f "$marker" ] || continue
  echo "emogcn: installing the optional extra '$extra': $reqs" >&2
  read -r -a req_list <<<"$reqs"
  "$venv/bin/python" -m pip install --quiet -c "$constraints" "${req_list[@]}" >&2
  [ "$module" = - ] || "$venv/bin/python" -c "import $module" >&2
  touch "$marker"
done <<<"$extras"
echo "$venv"
