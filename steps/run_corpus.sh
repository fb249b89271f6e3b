#!/usr/bin/env bash
# A whole corpus recipe, stages 0-5: what every egs/<corpus>/run.sh runs (with its own defaults
# in front of the user's options, as ESPnet's run.sh calls asr.sh).
#
#   0 data           steps/prepare_corpus.sh: data/all and the corpus's folds  -> data/{all,folds}
#   1-5              steps/recipe.sh: features, CMVN, graph, training, scoring -> exp/, RESULTS.md
#
# Usage: steps/run_corpus.sh --corpus <name> --db-root <dir> [options]   (from the recipe directory)
set -euo pipefail

corpus=
db_root=
stage=0
stop_stage=5
nj=2
classes=all                 # all | four (angry/happy/neutral/sad, conf/emotions.yaml) | a,b,c
fold_opts=                  # overrides the corpus's fold protocol, e.g. "--protocol groups --num-groups 5"
seeds="0"
folds=                      # e.g. "1 2" for a quick run; empty: every fold
epochs=
gpu=auto
train_nj=2                  # trainings at once on the CPU, one thread each
variants="single_task multi_task emotion_gcn"
train_config_prefix=conf/train_ecapa_   # conf/train_ for the 2-D CNN
train_tag=ecapa                         # experiments: exp/<variant>_<tag>_seed<s>
feat_config=conf/fbank.yaml     # a face config (conf/face*.yaml) for image corpora
speed_perturb=                  # e.g. "0.9 1.1": train on fold<k>/train_sp (Kaldi's speed perturbation)
feat_tag=                       # e.g. compare: features in data/compare, beside other front-ends'
normalize=true                  # stage 2 CMVN (false for images)
cmvn=                           # speaker | global | none: overrides the training configs' normalisation
graph_config=conf/graph.yaml
graph_tag=auto
word_vectors=
help_message="Usage: $0 --corpus <name> --db-root <dir> [--stage 0] [--stop-stage 5] [--classes all|four]
       [--seeds '0 1 2'] [--folds '1 2'] [--epochs N] [--train-nj 2] [--variants '...'] [--gpu auto|-1|N]"

. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

[ -n "$corpus" ] || { echo "$help_message" >&2; exit 1; }
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run_corpus.sh:${BASH_LINENO[0]}) $*" >&2; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -f data/all/.done ]; then
    log "stage 0: data/all already prepared"
  else
    [ -n "$db_root" ] || [ "$corpus" = mini ] || { echo "$0: stage 0 needs --db-root <$corpus-dir>" >&2; exit 1; }
    log "stage 0: preparing $corpus from ${db_root:-(synthesized)} (classes: $classes)"
    steps/prepare_corpus.sh --classes "$classes" --fold-opts "$fold_opts" "$corpus" "${db_root:-db/$corpus}" data
  fi
fi

steps/recipe.sh --stage "$stage" --stop-stage "$stop_stage" --nj "$nj" --cmd "$train_cmd" \
  --feat-config "$feat_config" --feat-tag "$feat_tag" --speed-perturb "$speed_perturb" --normalize "$normalize" \
  --seeds "$seeds" --folds "$folds" --epochs "$epochs" --cmvn "$cmvn" --gpu "$gpu" --train-nj "$train_nj" --variants "$variants" \
  --train-config-prefix "$train_config_prefix" --train-tag "$train_tag" --word-vectors "$word_vectors" \
  --graph-config "$graph_config" --graph-tag "$graph_tag" --results RESULTS.md
