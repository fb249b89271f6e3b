# Sourced by every recipe (egs/*/path.sh links here): the Python environment, PATH, PYTHONPATH.
# The environment is created on first use by tools/setup_env.sh and shared by all clones.
EMOGCN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
export EMOGCN_ROOT
if [ -z "${EMOGCN_VENV:-}" ]; then
  EMOGCN_VENV=$("$EMOGCN_ROOT/tools/setup_env.sh")
  export EMOGCN_VENV
fi
export PATH=$EMOGCN_VENV/bin:$EMOGCN_ROOT/utils:$PATH
export PYTHONPATH=$EMOGCN_ROOT${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
export LC_ALL=C
