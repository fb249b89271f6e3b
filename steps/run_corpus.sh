#!/usr/bin/env bash
# A whole corpus recipe, stages 0-5: what every egs/<corpus>/run.sh runs (with its own defaults in
# front of the user's options, as ESPnet's run.sh calls asr.sh). The defaults below are the only
# ones: every recipe, the multilingual one included, gets its stages from this script and from the
# steps it calls.
#
#   0 data           steps/prepare_corpus.sh: data/all and the corpus's folds  -> data/{all,folds}
#   1 features       steps/make_feats.sh over data/all (with --feat-tag <t>: over a copy in data/<t>,
#                    so front-ends live side by side)                            -> data/all/feats.scp
#   2 normalization  steps/compute_cmvn.sh (per speaker; global per fold), folds re-cut -> cmvn.scp
#   3 graph          steps/build_graph.sh on each fold's TRAINING set          -> exp/graph_<tag>/fold<k>
#                    (a confusion graph: first an SVM's inner folds on that set -> exp/confusion_svm_*/fold<k>)
#   4 train          steps/train_splits.sh: every variant, seed and fold       -> exp/<variant>_<tag>_seed<s>/fold<k>
#   5 score          steps/score_splits.sh, pooled over folds                  -> scores, RESULTS.md, table
#   6 package        steps/package.sh: one trained model as a self-contained directory for emogcn-predict
#                    (a fold's model, or with --package-train all one trained on every speaker) -> exp/model
#                    Stage 6 runs only when asked (--stage 6, or --stop-stage 6): it replaces exp/model.
#
# Every stage leaves a marker that records what its output was made from (configs, options, the
# markers of its inputs; emogcn/provenance.py). Asked again for the same, a stage is skipped; asked
# for something else, it stops with one line naming what differs; when its inputs were remade it is
# made again (statistics, graphs, scores) or refused (trained models). One run at a time writes in a
# recipe directory: a second one exits at once, naming the first.
#
# Usage: steps/run_corpus.sh --corpus <name> --db-root <dir> [options]   (from the recipe directory)
set -euo pipefail

corpus=
db_root=                    # the corpus as unpacked (stage 0; later runs may leave it out)
stage=0
stop_stage=                 # default 5, or --stage when that is later (./run.sh --stage 6 packages)
data=data                   # holds all/ and folds/fold<k>/{train,dev,test}
exp=exp
nj=2                        # feature jobs at once
classes=all                 # all | four (angry/happy/neutral/sad, conf/emotions.yaml) | a,b,c
fold_opts=                  # overrides the corpus's fold protocol, e.g. "--protocol groups --num-groups 5"
prepare_opts=               # more options for local/prepare_<corpus>.py (mini: local/make_mini_corpus.py)
feat_config=conf/compare.yaml  # ComParE functionals (issue 15: the speech default); conf/fbank.yaml for frame
                            # backbones; a face config (conf/face*.yaml) for image corpora
feat_tag=                   # e.g. compare: features in data/compare, beside other front-ends'
speed_perturb=              # e.g. "0.9 1.1": train on fold<k>/train_sp (Kaldi's speed perturbation)
augment=auto                # copies of the training speakers' audio with generated noise (noise<SNR dB>) or
                            # reverberation (reverb<RT60 s>; emogcn/features/corrupt.py), trained on beside it
                            # (fold<k>/train_sp); dev and test stay as recorded. auto: "noise10 reverb0.5" for
                            # audio front-ends (issue 15's default), none for images; none: no copies
normalize=true              # stage 2 CMVN statistics (false for images: the folds are only re-cut)
max_fail_fraction=0.1       # stage 1 fails when more utterances than this cannot be read
graph_config=conf/graph.yaml
graph_tag=auto              # exp/graph_<tag>[_<feat-tag>]
word_vectors=               # node features: a .vec file, or "en=wiki.multi.en.vec de=..." (default one-hot)
variants="single_task emotion_gcn"  # multi_task needs dimensional labels (or --pseudo-dims)
train_config=conf/train_mlp.yaml       # one config per backbone, model.variant set per variant (conf/train_ecapa.yaml on fbank)
train_tag=mlp               # experiments: exp/<variant>_<tag>_seed<s>
seeds="0 1 2"                # RESULTS.md gives their mean and spread
folds=                      # e.g. "1 2" for a quick run; empty: every fold
epochs=                     # overrides the configs' epochs (quick runs)
cmvn=                       # speaker | global | none: overrides the training configs' normalisation
dev=auto                    # auto: what the training config needs (python -m emogcn.bin.train --dev-selection);
                            # speaker: one training speaker per fold is dev (epoch selection); none: it trains
                            # too (fold<k>/train_dev), the config scoring its last or averaged epochs;
                            # inner: the config's select.grid chosen by inner folds of the training speakers
fusion=auto                 # late fusion with a classic partner: an SVM over these functionals' features (conf/egemaps.yaml),
                            # in data[/<feat-tag>]/<name>, its posteriors averaged with each seed's (exp/fusion_<variant>_<tag>_seed<s>);
                            # auto: conf/egemaps.yaml when --feat-config is other openSMILE functionals (the speech default), else none
pseudo_dims=false           # true: train on fold<k>/<set>_pd, the training set with valence/arousal targets from each
                            # class's circumplex coordinates (conf/circumplex.yaml, emogcn.bin.pseudo_dims), so that
                            # multi_task and the GCN's dimension nodes train on a corpus without dimensional labels
classic=false               # true: also the classic baseline, an SVM over the functionals (kernel and C by
                            # inner cross-validation on the training speakers), rows svm_<feat-tag>
gpu=auto
train_nj=2                  # jobs at once on the CPU (stage 3 graphs, stage 4 trainings and SVMs, stage 5 scorings), one thread each
results=RESULTS.md
package_variant=            # stage 6: the variant to package (default: the first of --variants)
package_from=               # stage 6: the experiment to package (default: exp/<package-variant>_<tag>_seed<first seed>)
package_fold=               # stage 6: which of its folds (default: the first of --folds)
package_train=              # stage 6: all: train one final model on every speaker (data/all) with the recipe's
                            # config, epochs and seed, and package it; its card quotes the cross-validated row
package_dir=                # stage 6: where the package goes (default: exp/model)
help_message="Usage: $0 --corpus <name> --db-root <dir> [--stage 0] [--stop-stage 5] [--classes all|four]
       [--feat-config conf/compare.yaml] [--feat-tag T] [--speed-perturb '0.9 1.1'] [--augment auto|none|'noise10 reverb0.5'] [--cmvn speaker|corpus|global|none]
       [--seeds '0 1 2'] [--folds '1 2'] [--epochs N] [--train-nj 2] [--variants '...'] [--gpu auto|-1|N]
       [--train-config conf/train_mlp.yaml] [--train-tag T] [--dev auto|speaker|none|inner] [--classic true]
       [--fusion auto|none|conf/egemaps.yaml] [--pseudo-dims true] [--graph-tag T] [--word-vectors F]
       [--package-variant V] [--package-from exp/E] [--package-fold K] [--package-train all] [--package-dir exp/model]"

. ./cmd.sh
. "$(dirname "$0")/lib.sh"
. utils/parse_options.sh
lock_recipe_dir
if [ -z "$stop_stage" ]; then stop_stage=5; [ "$stage" -le 5 ] || stop_stage=$stage; fi
case "$augment" in
  auto) if image_features "$feat_config"; then augment=; else augment="noise10 reverb0.5"; fi ;;
  none) augment= ;;
esac

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  [ -n "$corpus" ] || die "stage 0 needs --corpus <name>"
  root=${db_root:--}  # '-': the folder stage 0 was made from (there must be a finished stage 0)
  [ "$corpus" != mini ] || root=${db_root:-db/mini}
  log "stage 0: $corpus from ${db_root:-(as prepared)} (classes: $classes)"
  steps/prepare_corpus.sh --classes "$classes" --fold-opts "$fold_opts" --prepare-opts "$prepare_opts" \
    "$corpus" "$root" "$data"
fi
[ "$stop_stage" -ge 1 ] || exit 0

if [ "$fusion" = auto ]; then
  fusion=none
  # no partner of itself: an eGeMAPS front-end gets none
  if functionals "$feat_config" && [ "$(basename "$feat_config" .yaml)" != egemaps ]; then fusion=conf/egemaps.yaml; fi
fi
fusion_tag=
if [ "$fusion" != none ]; then
  functionals "$fusion" || die "--fusion $fusion: expected openSMILE functionals (conf/egemaps.yaml, conf/compare.yaml) or none"
  fusion_tag=$(basename "$fusion" .yaml)
  [ "$fusion_tag" != "${feat_tag:-}" ] || die "--fusion $fusion: its features would share data/$fusion_tag with --feat-tag $feat_tag"
  if [ "$stage" -le 2 ]; then  # the partner's features and statistics, in data/<fusion-tag> beside this front-end's
    "$0" --corpus "$corpus" --data "$data" --exp "$exp" --nj "$nj" --normalize "$normalize" \
      --max-fail-fraction "$max_fail_fraction" --feat-config "$fusion" --feat-tag "$fusion_tag" --fusion none --augment none \
      --stage "$(( stage > 1 ? stage : 1 ))" --stop-stage "$(( stop_stage < 2 ? stop_stage : 2 ))"
  fi
  fusion_data=$data/$fusion_tag
fi

if [ -n "$feat_tag" ]; then
  # Stage 0's data directories without any front-end's features: the copy this front-end works in.
  [ -f "$data/all/.done" ] || die "$data/all not found: run stage 0 (data preparation) first"
  copy=$data/$feat_tag
  if ! stage_done "$copy/.copied" "the copy $copy of $data/all and $data/folds" --input data="$data/all/.done"; then
    log "copying $data/all and $data/folds to $copy for the $feat_tag features"
    rm -rf "$copy.tmp"
    mkdir -p "$copy.tmp"
    cp -r "$data/all" "$data/folds" "$copy.tmp/"
    find "$copy.tmp" \( -name feats.scp -o -name utt2num_frames -o -name utt2dur -o -name 'cmvn*.scp' \
      -o -name '.*.done' -o -name 'split*' -o -name conf -o -name .backup \) -prune -exec rm -rf {} +
    python -m emogcn.bin.stage write --stage copy --input data="$data/all/.done" "$copy.tmp/.copied"
    rm -rf "${copy:?}"
    mv "$copy.tmp" "$copy"
  fi
  data=$copy
fi
log_suffix=${feat_tag:+_$feat_tag}
all=$data/all
[ -f "$all/.done" ] || die "$all not found: run stage 0 (data preparation) first"
all_folds=$(find "$data/folds" -mindepth 1 -maxdepth 1 -name 'fold*' -printf '%f\n' | sed 's/^fold//' | sort -n | xargs)
[ -n "$all_folds" ] || die "no folds under $data/folds: run stage 0 first"
folds=${folds:-$all_folds}
for k in $folds; do [ -d "$data/folds/fold$k" ] || die "--folds: no fold $k under $data/folds (there are: $all_folds)"; done
[ "$dev" != auto ] || dev=$(python -m emogcn.bin.train --dev-selection "$train_config") \
  || die "--dev auto: cannot read $train_config"
case "$dev" in
  speaker) train_set=train; dev_set=dev ;;
  none) train_set=train_dev; dev_set=none ;;
  inner) train_set=train_dev; dev_set=inner ;;
  *) die "--dev $dev: expected auto, speaker, none or inner" ;;
esac
perturbs=$(echo $speed_perturb $augment)   # every perturbed copy: data/all_<copy name>, e.g. all_sp0.9, all_noise10
declare -A copy_names=()
if [ -n "$perturbs" ]; then  # the tokens checked, and each copy's name, in one place (emogcn/data/datadir.py)
  names=$(python -m emogcn.bin.perturb_data_dir names --speed-perturb "$speed_perturb" --augment "$augment") || exit 1
  while read -r token name; do copy_names[$token]=$name; done <<< "$names"
fi
copy_name() { echo "${copy_names[$1]}"; }
[ -z "$perturbs" ] || train_set=${train_set}_sp

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  ways="use another --feat-tag to make these features beside the others, or remove"
  if ! stage_done "$all/.feats.done" "stage 1: features of $all" --config features="$feat_config" \
      --input data="$all/.done" --ways "$ways $all/.feats.done to make them again"; then
    log "stage 1: features ($feat_config) of $all"
    rm -f "$all/.feats.done"
    steps/make_feats.sh --nj "$nj" --cmd "$train_cmd" --config "$feat_config" --max-fail-fraction "$max_fail_fraction" \
      "$all" "$exp/make_feats$log_suffix/log" "$data/feats"
    python -m emogcn.bin.stage write --stage features --label features="$(basename "$feat_config" .yaml)" \
      --config features="$feat_config" --input data="$all/.done" "$all/.feats.done"
  fi
  for f in $perturbs; do  # Kaldi's speed perturbation (and noise, reverberation): copies with their own features
    sp=$data/all_$(copy_name "$f")
    made=(--config features="$feat_config" --option factor="$f" --input data="$all/.done")
    if stage_done "$sp/.feats.done" "stage 1: features of $sp" "${made[@]}" --ways "$ways $sp to make it again"; then
      continue
    fi
    log "stage 1: perturbed copy $sp of $all ($f) and its features"
    rm -rf "$sp"
    python -m emogcn.bin.perturb_data_dir copy "$f" "$all" "$sp"
    steps/make_feats.sh --nj "$nj" --cmd "$train_cmd" --config "$feat_config" --max-fail-fraction "$max_fail_fraction" \
      "$sp" "$exp/make_feats$log_suffix/log_$(copy_name "$f")" "$data/feats"
    python -m emogcn.bin.stage write --stage features --labels-from "$all/.feats.done" "${made[@]}" "$sp/.feats.done"
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  [ -f "$all/.feats.done" ] || die "$all has no features: run stage 1 first"
  made=(--option speed_perturb="$speed_perturb" --option normalize="$normalize" --input features="$all/.feats.done")
  [ -z "$augment" ] || made+=(--option augment="$augment")   # absent when unused: earlier markers still hold
  perturbed=()
  for f in $perturbs; do
    made+=(--input "features_$(copy_name "$f")=$data/all_$(copy_name "$f")/.feats.done")
    perturbed+=(--perturbed "$data/all_$(copy_name "$f")")
  done
  if ! stage_done "$data/folds/.cmvn.done" "stage 2: normalization of $data" "${made[@]}" \
      --ways "use another --feat-tag for other training data, or remove $data/folds/.cmvn.done to make it again"; then
    # No marker of an earlier stage 2 may outlive it: every set is re-cut and renormalised below.
    find "$data/folds" "$all" "$data"/all_sp* "$data"/all_noise* "$data"/all_reverb* -name .cmvn.done -delete 2>/dev/null || true
    if [ "$normalize" = true ]; then
      log "stage 2: per-speaker CMVN of $all, then the folds re-cut with features"
      steps/compute_cmvn.sh --cmd "$train_cmd" "$all" "$exp/compute_cmvn$log_suffix/log" "$data/cmvn"
      for f in $perturbs; do
        steps/compute_cmvn.sh --cmd "$train_cmd" "$data/all_$(copy_name "$f")" \
          "$exp/compute_cmvn$log_suffix/log_$(copy_name "$f")" "$data/cmvn"
      done
    else
      log "stage 2: no normalization statistics (--normalize false); the folds re-cut with features"
    fi
    python -m emogcn.bin.refresh_folds "${perturbed[@]}" "$all" "$data/folds"
    if [ "$normalize" = true ]; then
      for k in $all_folds; do  # every fold, whatever --folds says: global statistics from its training sets only
        for t in train train_dev ${perturbs:+train_sp train_dev_sp}; do
          steps/compute_cmvn.sh --cmd "$train_cmd" "$data/folds/fold$k/$t" \
            "$exp/compute_cmvn$log_suffix/log/fold$k/$t" "$data/cmvn/fold$k"
        done
      done
    fi
    also=(--also "$all/.cmvn.done")
    for d in "$data"/folds/fold*/*/; do also+=(--also "${d%/}/.cmvn.done"); done
    python -m emogcn.bin.stage write --stage normalization --labels-from "$all/.feats.done" \
      --label features="$(python -m emogcn.bin.stage get "$all/.feats.done" labels.features)${perturbs:+_sp}" \
      "${also[@]}" "${made[@]}" "$data/folds/.cmvn.done"
  fi
fi

# the graph of the labels a model trains on: the fold's train set, or train and dev together (--dev none)
graph_set=${train_set%_sp}
pd_sets=$(printf '%s\n' "$train_set" "$graph_set" | sort -u | xargs)  # the sets that get pseudo-dimensions
if [ "$pseudo_dims" = true ]; then train_set=${train_set}_pd; graph_set=${graph_set}_pd; fi
graph_dir=$exp/graph_$graph_tag$log_suffix
[ "$graph_set" = train ] || graph_dir=${graph_dir}_$graph_set
split_names=()
for k in $folds; do split_names+=("fold$k"); done
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  graph_opts=(--config "$graph_config")
  [ -z "$word_vectors" ] || graph_opts+=(--word-vectors "$word_vectors")
  # A confusion graph with no confusion_from of its own: the first model is an SVM over these
  # functionals, its confusions those of its inner folds on the graph's own training speakers.
  first_model=
  if [ "$(python -m emogcn.bin.build_graph --config "$graph_config" --query method)" = confusion ] &&
     [ -z "$(python -m emogcn.bin.build_graph --config "$graph_config" --query confusion_from)" ]; then
    functionals "$feat_config" || die "$graph_config: the confusion graph's first model is an SVM over functionals; $feat_config has none (give confusion_from)"
    first_model=$exp/confusion_svm$log_suffix${cmvn:+_$cmvn}_$graph_set
  fi
  for k in $folds; do
    if [ "$pseudo_dims" = true ]; then  # a copy of the labels' set: remade each time, the same content and id
      for t in $pd_sets; do
        python -m emogcn.bin.pseudo_dims --force conf/circumplex.yaml "$data/folds/fold$k/$t" "$data/folds/fold$k/${t}_pd"
      done
    fi
    log "stage 3: label graph of fold $k -> $graph_dir/fold$k${first_model:+ (confusions of $first_model/fold$k)}"
    if [ -n "$first_model" ]; then
      { steps/train_svm.sh --cmd "$train_cmd" ${cmvn:+--cmvn "$cmvn"} "$data/folds/fold$k/$graph_set" "$first_model/fold$k" &&
        steps/build_graph.sh --cmd "$train_cmd" "${graph_opts[@]}" --confusion-from "$first_model/fold$k/inner/predictions.tsv" \
          "$data/folds/fold$k/$graph_set" "$graph_dir/fold$k"; } &
    else
      steps/build_graph.sh --cmd "$train_cmd" "${graph_opts[@]}" \
        "$data/folds/fold$k/$graph_set" "$graph_dir/fold$k" &
    fi
    pool_throttle "$train_nj"  # the folds' graphs are independent: --train-nj at once
  done
  pool_drain
  [ "$pool_failed" -eq 0 ] || die "$pool_failed label graph(s) failed; see the messages above"
fi

split_opts=(--cmd "$cuda_cmd" --gpu "$gpu" --seeds "$seeds" --variants "$variants" --tag "$train_tag")
if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: training $variants, seeds $seeds, folds $folds"
  steps/train_splits.sh "${split_opts[@]}" --train-nj "$train_nj" --train-set "$train_set" --dev-set "$dev_set" \
    ${epochs:+--epochs "$epochs"} ${cmvn:+--cmvn "$cmvn"} \
    "$train_config" "$data/folds" "$graph_dir" "$exp" "${split_names[@]}"
fi
svm=svm$log_suffix${cmvn:+_$cmvn}   # the classic baseline's experiment
fusion_svm=svm_$fusion_tag${cmvn:+_$cmvn}   # the fusion partner's (--fusion)
train_svms() {  # <data> <experiment>: an SVM per fold on all its training speakers (it selects by inner CV), --train-nj at once
  local k
  for k in $folds; do
    steps/train_svm.sh --cmd "$train_cmd" ${cmvn:+--cmvn "$cmvn"} "$1/folds/fold$k/train_dev" \
      test="$1/folds/fold$k/test" "$exp/$2/fold$k" &
    pool_throttle "$train_nj"
  done
  pool_drain
  [ "$pool_failed" -eq 0 ] || die "$pool_failed SVM training(s) of $exp/$2 failed; see the messages above"
}
if [ -n "$fusion_tag" ] && [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: the fusion partner (SVM over $fusion_tag functionals), folds $folds -> $exp/$fusion_svm"
  [ -f "$fusion_data/folds/.cmvn.done" ] || die "--fusion $fusion: $fusion_data has no features yet: run stages 1-2, or --fusion none"
  train_svms "$fusion_data" "$fusion_svm"
fi
if [ "$classic" = true ] && [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: the classic baseline (SVM over the functionals), folds $folds -> $exp/$svm"
  train_svms "$data" "$svm"
fi

score_svms() {  # <experiment>: each fold's SVM on its test speakers, pooled: a row and a line of the table
  local k fold_scores=()
  for k in $folds; do
    [ -f "$exp/$1/fold$k/.done" ] || die "$exp/$1/fold$k: the SVM is not trained: run stage 4"
    steps/score.sh "$exp/$1/fold$k" test
    fold_scores+=("$exp/$1/fold$k/scores/test")
  done
  python -m emogcn.bin.pool_scores --name "$1" --results "$results" "$exp/$1/pooled" "${fold_scores[@]}"
  table+=("$1=$exp/$1/pooled/metrics.json")
}
summarise_seeds() {  # <name> <seed result dir>...: a row of their mean and spread, when there are several
  local name=$1
  shift
  [ $# -gt 1 ] || return 0
  python -m emogcn.bin.pool_scores --seeds --name "${name}_seeds" --results "$results" "$exp/${name}_seeds" "$@"
  table+=("${name}_mean_over_seeds=$exp/${name}_seeds/metrics.json")
}
if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: scoring $variants, seeds $seeds, folds $folds"
  steps/score_splits.sh "${split_opts[@]}" --nj "$train_nj" "$data/folds" "$exp" "${split_names[@]}"
  table=()
  for variant in $variants; do
    name=$variant${train_tag:+_$train_tag}
    seed_dirs=()
    for seed in $seeds; do
      e=$exp/${name}_seed$seed
      fold_scores=()
      for split in "${split_names[@]}"; do fold_scores+=("$e/$split/scores/test"); done
      python -m emogcn.bin.pool_scores --name "${name}_seed$seed" --results "$results" "$e/pooled" "${fold_scores[@]}"
      seed_dirs+=("$e/pooled")
      table+=("${name}_seed$seed=$e/pooled/metrics.json")
    done
    summarise_seeds "$name" "${seed_dirs[@]}"
  done
  [ "$classic" != true ] || score_svms "$svm"
  if [ -n "$fusion_tag" ]; then
    score_svms "$fusion_svm"
    for variant in $variants; do  # each seed's posteriors averaged with the partner's, equal weights
      name=fusion_$variant${train_tag:+_$train_tag}
      seed_dirs=()
      for seed in $seeds; do
        python -m emogcn.bin.pool_scores --fuse --name "${name}_seed$seed" --results "$results" \
          "$exp/${name}_seed$seed/pooled" "$exp/$variant${train_tag:+_$train_tag}_seed$seed/pooled" "$exp/$fusion_svm/pooled"
        seed_dirs+=("$exp/${name}_seed$seed/pooled")
        table+=("${name}_seed$seed=$exp/${name}_seed$seed/pooled/metrics.json")
      done
      summarise_seeds "$name" "${seed_dirs[@]}"
    done
  fi
  log "results (UA: unweighted average recall, WA: accuracy, F1: macro-F1), pooled over folds $folds:"
  python -m emogcn.bin.pool_scores --table "${table[@]}"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  variant=${package_variant:-${variants%% *}}
  seed=${seeds%% *}
  cv_name=$variant${train_tag:+_$train_tag}_seed$seed   # the cross-validated experiment of that config
  out=${package_dir:-$exp/model}
  case "$package_train" in
    "")
      from=${package_from:-$exp/$cv_name}
      fold=${package_fold:-${folds%% *}}
      [ -f "$from/fold$fold/.done" ] || die "stage 6: $from/fold$fold has not finished training: run stage 4 first, or name another with --package-from / --package-fold"
      log "stage 6: packaging $from/fold$fold -> $out"
      steps/package.sh --fold "$fold" --results "$results" "$from" "$out"
      ;;
    all)
      [ -z "$package_from" ] || die "stage 6: --package-from and --package-train all exclude each other"
      [ -f "$all/.cmvn.done" ] || die "stage 6: $all has no normalization statistics: run stage 2 first"
      final_set=$all
      if [ -n "$perturbs" ]; then  # what the cross-validated models saw: the audio and its copies
        final_set=${all}_with_copies
        if ! stage_done "$final_set/.cmvn.done" "stage 6: $final_set" --input normalization="$data/folds/.cmvn.done"; then
          copies=()
          for f in $perturbs; do copies+=("$data/all_$(copy_name "$f")"); done
          log "stage 6: every speaker's audio and its copies -> $final_set"
          rm -rf "$final_set"
          utils/combine_data.sh "$final_set" "$all" "${copies[@]}"
          [ "$normalize" != true ] || steps/compute_cmvn.sh --cmd "$train_cmd" "$final_set" \
            "$exp/compute_cmvn$log_suffix/log_all_with_copies" "$data/cmvn/all_with_copies"
          python -m emogcn.bin.stage write --stage normalization --labels-from "$all/.feats.done" \
            --input normalization="$data/folds/.cmvn.done" "$final_set/.cmvn.done"
        fi
      fi
      graph_all=$exp/graph_$graph_tag${log_suffix}_all
      graph_opts=(--config "$graph_config")
      [ -z "$word_vectors" ] || graph_opts+=(--word-vectors "$word_vectors")
      log "stage 6: label graph of every speaker ($all) -> $graph_all"
      steps/build_graph.sh --cmd "$train_cmd" "${graph_opts[@]}" "$all" "$graph_all"
      final=$exp/final/${cv_name}_all
      log "stage 6: training $variant on every speaker of $final_set -> $final"
      steps/train.sh --cmd "$cuda_cmd" --gpu "$gpu" --seed "$seed" --variant "$variant" ${epochs:+--epochs "$epochs"} ${cmvn:+--cmvn "$cmvn"} \
        "$train_config" "$final_set" none "$graph_all" "$final"
      log "stage 6: packaging $final -> $out"
      steps/package.sh --results "$results" --results-name "$cv_name" "$final" "$out"
      ;;
    *) die "--package-train $package_train: expected all (or nothing: package a fold's model)" ;;
  esac
  log "stage 6: the model is in $out: emogcn-predict --model $out <audio>..."
fi
