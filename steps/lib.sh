# Sourced by every steps/*.sh after its option defaults (and by the recipes' drivers): the
# environment (path.sh), log/die helpers, stage markers with their provenance, and the recipe lock.
#   . "$(dirname "$0")/lib.sh"   (or `. steps/lib.sh` from a recipe directory)

# The environment of the checkout this file is in, wherever the caller runs.
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../path.sh"

# log MESSAGE: time, script and line, as icefall's recipes print them.
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*" >&2; }
# die MESSAGE: one line on stderr, exit 1.
die() { echo "${0##*/}: error: $*" >&2; exit 1; }
# config_input TRAIN_CONFIG: the model's input (frames, image or waveform; frames when unset or
# unreadable, the training itself then says what is wrong with the file).
config_input() {
  python -c 'import sys, yaml
try:
    raw = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
except Exception:
    raw = None
print(raw.get("input", "frames") if isinstance(raw, dict) else "frames")' "$1"
}

# stage_done MARKER WHAT ARGS...: 0 when MARKER records the same configs, options and inputs (the
# stage is skipped, and says so), 1 when the stage must run (absent, or its inputs were remade);
# a marker with other settings ends the script with one line naming what differs and how on.
# ARGS are those of `python -m emogcn.bin.stage check` (--config NAME=PATH, --option K=V,
# --input NAME=MARKER, --data NAME=DIR, --ways TEXT, --refuse-new-inputs).
stage_done() {
  local marker=$1 what=$2 rc=0
  shift 2
  python -m emogcn.bin.stage check --what "$what" "$@" "$marker" || rc=$?
  case $rc in
    0) return 0 ;;
    3) return 1 ;;
    *) exit 1 ;;
  esac
}

# lock_recipe_dir: one writer per recipe directory. A second run started there while one is
# running exits at once, naming it; nested drivers of the same run (run_corpus.sh inside the
# multilingual recipe, background trainings) inherit the lock.
lock_recipe_dir() {
  local here lockfile
  here=$(pwd -P)
  [ "${EMOGCN_LOCKED_DIR:-}" != "$here" ] || return 0
  lockfile=$here/.emogcn.lock
  exec 201>>"$lockfile"
  if ! flock -n 201; then
    echo "${0##*/}: another run is writing in $here ($(cat "$lockfile" 2>/dev/null || echo '?')):" \
      "wait for it to end, or run in another recipe directory" >&2
    exit 1
  fi
  echo "pid $$, started $(date '+%Y-%m-%d %H:%M:%S'), ${0##*/}" > "$lockfile"
  export EMOGCN_LOCKED_DIR=$here
}

# A bounded pool of background jobs (train_splits.sh, score_splits.sh):
#   some_job ... &
#   pool_throttle N     # after each start: waits for one job when N run
#   pool_drain          # at the end: waits for the rest
# Each job that ends non-zero adds one to pool_failed.
pool_running=0
pool_failed=0
pool_throttle() {
  pool_running=$((pool_running + 1))
  if [ "$pool_running" -ge "$1" ]; then
    wait -n || pool_failed=$((pool_failed + 1))
    pool_running=$((pool_running - 1))
  fi
}
pool_drain() {
  while [ "$pool_running" -gt 0 ]; do
    wait -n || pool_failed=$((pool_failed + 1))
    pool_running=$((pool_running - 1))
  done
}

# functionals <feature-config>: is it utterance-level openSMILE functionals (what an SVM takes)?
image_features() {  # <feature config>: a face front-end (images, not audio)
  grep -Eq '^type:[[:space:]]*face([[:space:]]|#|$)' "$1" 2>/dev/null
}
functionals() {
  grep -Eq '^type:[[:space:]]*opensmile([[:space:]]|#|$)' "$1" 2>/dev/null && ! grep -Eq '^feature_level:[[:space:]]*lld' "$1"
}
