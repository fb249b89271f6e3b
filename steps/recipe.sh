#!/usr/bin/env bash
# Stages 1-5 of a speech emotion recipe, shared by every egs/<corpus>/run.sh (as ESPnet's TEMPLATE
# scripts are): each corpus's run.sh does its own stage 0 (data/all and data/folds), then calls this
# with its options. Every stage is idempotent: finished work is skipped (markers and .done files),
# interrupted work is redone or resumed, and outputs appear only when complete.
#
#   1 features       steps/make_feats.sh over data/all                 -> data/all/feats.scp
#                    (with --feat-tag <t>: over a copy in data/<t>, so front-ends live side by side)
#   2 normalization  steps/compute_cmvn.sh (per speaker), folds re-cut  -> cmvn.scp, folds with feats
#   3 graph          steps/build_graph.sh on each fold's TRAINING set   -> exp/graph_<tag>/fold<k>
#   4 train          steps/train.sh per variant, seed and fold          -> exp/<variant>[_<tag>]_seed<s>/fold<k>
#   5 score          steps/infer.sh + steps/score.sh, pooled over folds -> scores, RESULTS.md, table
#
# Usage: steps/recipe.sh [options]   (run from the recipe directory)
set -euo pipefail

stage=1
stop_stage=5
nj=4
cmd=utils/run.pl
data=data                   # holds all/ and folds/fold<k>/{train,dev,test}
exp=exp
feat_config=conf/fbank.yaml       # or a face config (conf/face*.yaml) for img.scp corpora
feat_tag=                   # non-empty: this front-end's features in data/<tag>/{all,folds} (copied from
                            # stage 0's data/{all,folds}) and logs in exp/*_<tag>; several front-ends coexist
normalize=true              # stage 2 CMVN statistics (false for images: the folds are only re-cut)
speed_perturb=              # e.g. "0.9 1.1": stage 1 also makes data/all_sp<f>, stage 2 fold<k>/train_sp
max_fail_fraction=0.1       # stage 1 fails when more utterances than this cannot be read
graph_config=conf/graph.yaml
graph_tag=default
word_vectors=               # GloVe / word2vec / fastText .vec file for node features (default one-hot)
variants="single_task multi_task emotion_gcn"
train_config_prefix=conf/train_   # config of a variant: <prefix><variant>.yaml
train_tag=                  # names a model family's experiments: exp/<variant>_<tag>_seed<s> (e.g. ecapa)
seeds="0"
folds=                      # the folds to run (e.g. "1 2"); empty: all of them
epochs=                     # overrides the configs' epochs (quick runs)
cmvn=                       # speaker | global | none: overrides the configs' normalisation
gpu=auto
train_nj=1                  # trainings run at once (CPU: up to the core count, each on one thread)
results=RESULTS.md
features_name=              # recorded in RESULTS.md rows (default: the feature config's name)
backbone_name=              # recorded in RESULTS.md rows (default: the backbone of the variant's config)
cmvn_name=                  # recorded in RESULTS.md rows (default: the normalisation training used)
help_message="Usage: $0 [--stage 1] [--stop-stage 5] [--nj 4] [--variants '...'] [--seeds '0'] [--folds '1 2'] ..."

. ./path.sh
. utils/parse_options.sh

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*" >&2; }
name_of() { echo "$1${train_tag:+_$train_tag}"; }  # experiment name of a variant

features_name=${features_name:-${feat_tag:-$(basename "$feat_config" .yaml)}}
if [ -n "$feat_tag" ]; then
  # Stage 0's data directories without any front-end's features: the copy this front-end works in.
  if [ ! -f "$data/$feat_tag/.copied" ]; then
    [ -f "$data/all/utt2spk" ] || { echo "$0: $data/all not found: run stage 0 (data preparation) first" >&2; exit 1; }
    log "copying $data/all and $data/folds to $data/$feat_tag for the $feat_tag features"
    rm -rf "$data/$feat_tag.tmp"
    mkdir -p "$data/$feat_tag.tmp"
    cp -r "$data/all" "$data/folds" "$data/$feat_tag.tmp/"
    find "$data/$feat_tag.tmp" \( -name feats.scp -o -name utt2num_frames -o -name 'cmvn*.scp' -o -name '.*.done' \
      -o -name 'split*' -o -name conf -o -name .backup \) -prune -exec rm -rf {} +
    touch "$data/$feat_tag.tmp/.copied"
    rm -rf "${data:?}/$feat_tag"
    mv "$data/$feat_tag.tmp" "$data/$feat_tag"
  fi
  data=$data/$feat_tag
fi
log_suffix=${feat_tag:+_$feat_tag}
[ "$normalize" = true ] || cmvn_name=${cmvn_name:-none}
all=$data/all
[ -f "$all/utt2spk" ] || { echo "$0: $all not found: run stage 0 (data preparation) first" >&2; exit 1; }
if [ -z "$folds" ]; then
  folds=$(find "$data/folds" -mindepth 1 -maxdepth 1 -name 'fold*' -printf '%f\n' | sed 's/^fold//' | sort -n | xargs)
fi
[ -n "$folds" ] || { echo "$0: no folds under $data/folds: run stage 0 first" >&2; exit 1; }

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  if [ -f "$all/.feats.done" ]; then
    log "stage 1: features of $all already done"
  else
    log "stage 1: features ($feat_config) of $all"
    steps/make_feats.sh --nj "$nj" --cmd "$cmd" --config "$feat_config" --max-fail-fraction "$max_fail_fraction" \
      "$all" "$exp/make_feats$log_suffix/log" "$data/feats"
    touch "$all/.feats.done"
  fi
  for f in $speed_perturb; do  # Kaldi's speed perturbation: copies at other speeds, their own features
    sp=$data/all_sp$f
    if [ -f "$sp/.feats.done" ]; then log "stage 1: features of $sp already done"; continue; fi
    log "stage 1: speed-perturbed copy $sp of $all (factor $f) and its features"
    rm -rf "$sp"
    utils/perturb_data_dir_speed.sh "$f" "$all" "$sp"
    steps/make_feats.sh --nj "$nj" --cmd "$cmd" --config "$feat_config" --max-fail-fraction "$max_fail_fraction" \
      "$sp" "$exp/make_feats$log_suffix/log_sp$f" "$data/feats"
    touch "$sp/.feats.done"
  done
fi
perturbed=()
for f in $speed_perturb; do perturbed+=(--perturbed "$data/all_sp$f"); done
train_set=train
[ -z "$speed_perturb" ] || train_set=train_sp

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  if [ -f "$data/folds/.cmvn.done" ]; then
    done_with=$(cat "$data/folds/.cmvn.done")
    done_with=${done_with:-speed_perturb=}  # an empty marker: written before speed perturbation existed
    if [ "$done_with" != "speed_perturb=$speed_perturb" ]; then
      echo "$0: stage 2 of $data was done with $done_with, not speed_perturb=$speed_perturb:" \
        "use another --feat-tag for the other training data, or remove $data/folds/.cmvn.done to redo it" >&2
      exit 1
    fi
    log "stage 2: normalization already done"
  else
    if [ "$normalize" = true ]; then
      log "stage 2: per-speaker CMVN of $all, then the folds re-cut with features"
      steps/compute_cmvn.sh --cmd "$cmd" "$all" "$exp/compute_cmvn$log_suffix/log" "$data/cmvn"
      for f in $speed_perturb; do
        steps/compute_cmvn.sh --cmd "$cmd" "$data/all_sp$f" "$exp/compute_cmvn$log_suffix/log_sp$f" "$data/cmvn"
      done
    else
      log "stage 2: no normalization statistics (--normalize false); the folds re-cut with features"
    fi
    python -m emogcn.bin.refresh_folds "${perturbed[@]}" "$all" "$data/folds"
    for k in $folds; do
      # Global statistics come from each fold's training set only.
      [ "$normalize" = true ] || continue
      steps/compute_cmvn.sh --cmd "$cmd" "$data/folds/fold$k/$train_set" "$exp/compute_cmvn$log_suffix/log/fold$k" "$data/cmvn/fold$k"
    done
    echo "speed_perturb=$speed_perturb" > "$data/folds/.cmvn.done"
  fi
fi

graph_opts=(--config "$graph_config")
[ -z "$word_vectors" ] || graph_opts+=(--word-vectors "$word_vectors")
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  for k in $folds; do
    g=$exp/graph_$graph_tag/fold$k
    if [ -f "$g/.done" ]; then log "stage 3: $g already built"; continue; fi
    log "stage 3: label graph of fold $k -> $g"
    steps/build_graph.sh --cmd "$cmd" "${graph_opts[@]}" "$data/folds/fold$k/train" "$g"
  done
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  threads=0
  [ "$train_nj" -le 1 ] || threads=1
  running=0
  failed=0
  for seed in $seeds; do
    for variant in $variants; do
      for k in $folds; do
        log "stage 4: $variant, seed $seed, fold $k"
        steps/train.sh --cmd "$cmd" --gpu "$gpu" --seed "$seed" --num-threads "$threads" ${epochs:+--epochs "$epochs"} ${cmvn:+--cmvn "$cmvn"} \
          "$train_config_prefix$variant.yaml" "$data/folds/fold$k/$train_set" "$data/folds/fold$k/dev" \
          "$exp/graph_$graph_tag/fold$k" "$exp/$(name_of "$variant")_seed$seed/fold$k" &
        running=$((running + 1))
        if [ "$running" -ge "$train_nj" ]; then
          wait -n || failed=$((failed + 1))
          running=$((running - 1))
        fi
      done
    done
  done
  while [ "$running" -gt 0 ]; do
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  done
  [ "$failed" -eq 0 ] || { echo "$0: $failed training run(s) failed; see the messages above" >&2; exit 1; }
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  table=()
  for variant in $variants; do
    name=$(name_of "$variant")
    config_info=$(python -c 'import sys; from emogcn.config import load_config
from emogcn.training.config import TrainConfig; c = load_config(TrainConfig, sys.argv[1]); print(c.model.backbone, c.cmvn)' \
      "$train_config_prefix$variant.yaml")
    read -r config_backbone config_cmvn <<< "$config_info"
    backbone=${backbone_name:-$config_backbone}
    normalisation=${cmvn_name:-${cmvn:-$config_cmvn}}
    info=(model="$variant" backbone="$backbone" features="$features_name" graph="$graph_tag" cmvn="$normalisation")
    seed_dirs=()
    for seed in $seeds; do
      e=$exp/${name}_seed$seed
      fold_scores=()
      for k in $folds; do
        log "stage 5: scoring $e/fold$k on its test set"
        steps/infer.sh --cmd "$cmd" --gpu "$gpu" "$e/fold$k" "$data/folds/fold$k/test" test
        steps/score.sh "$e/fold$k" test
        fold_scores+=("$e/fold$k/scores/test")
      done
      python -m emogcn.bin.pool_scores --name "${name}_seed$seed" --results "$results" \
        --info "${info[@]}" seeds="$seed" "$e/pooled" "${fold_scores[@]}"
      seed_dirs+=("$e/pooled")
      table+=("${name}_seed$seed=$e/pooled/metrics.json")
    done
    if [ "${#seed_dirs[@]}" -gt 1 ]; then
      python -m emogcn.bin.pool_scores --seeds --name "${name}_seeds" --results "$results" \
        --info "${info[@]}" seeds="${seeds// /,}" "$exp/${name}_seeds" "${seed_dirs[@]}"
      table+=("${name}_mean_over_seeds=$exp/${name}_seeds/metrics.json")
    fi
  done
  log "results (UA: unweighted average recall, WA: accuracy, F1: macro-F1), pooled over folds $folds:"
  python -m emogcn.bin.pool_scores --table "${table[@]}"
fi
