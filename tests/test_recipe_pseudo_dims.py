"""`--pseudo-dims true` in a recipe (steps/run_corpus.sh): a corpus without dimensional labels
trains multi_task and the GCN's dimension nodes on valence/arousal from each class's circumplex
coordinates (conf/circumplex.yaml), and the graph and experiment say so."""

from __future__ import annotations

import yaml

from conftest import FAULT_TRAIN_CONFIG, link_recipe_dir, run_sh
from emogcn.data import datadir as dd

TINY = {**FAULT_TRAIN_CONFIG, "epochs": 2, "batch_size": 8, "average_last": 1, "inference_checkpoint": "averaged"}
RECIPE = ("steps/run_corpus.sh --corpus mini --db-root db --prepare-opts '--speakers-per-language 2 --utts-per-class 3'"
          " --fold-opts '--protocol groups --num-groups 2' --feat-config conf/fbank.yaml --train-config ./tiny.yaml"
          " --seeds 0 --variants multi_task --train-nj 1 --folds 1" " --augment none")


def test_pseudo_dims_give_a_categorical_corpus_dimension_targets(tmp_path):
    d = link_recipe_dir(tmp_path / "recipe")
    (d / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    run_sh(f"{RECIPE} --stop-stage 0", d)
    for f in (d / "data").rglob("utt2va"):  # the mini corpus made categorical, as most speech corpora are
        f.unlink()
    run_sh(f"{RECIPE} --stage 1 --train-tag pd --pseudo-dims true", d)
    fold = d / "data/folds/fold1"
    assert not (fold / "train_dev/utt2va").exists()  # the source set stays categorical
    utt2emo = dd.read_map(fold / "train_dev/utt2emo")
    utt2va = dd.read_map(fold / "train_dev_pd/utt2va")
    assert set(utt2va) == set(utt2emo)
    coords = yaml.safe_load((d / "conf/circumplex.yaml").read_text())
    assert coords  # one pair per class: every utterance of a class gets the same targets
    by_class: dict[str, set[str]] = {}
    for u, e in utt2emo.items():
        by_class.setdefault(e, set()).add(utt2va[u])
    assert all(len(v) == 1 for v in by_class.values()) and len(set().union(*by_class.values())) == len(by_class)

    # the graph is built on the copy: correlation over the pseudo-dimensions, not the prior
    graph = yaml.safe_load((d / "exp/graph_auto_train_dev_pd/fold1/graph.yaml").read_text())
    assert graph["method"] == "correlation" and graph["train_data"].endswith("fold1/train_dev_pd")
    # multi_task's dimension loss now has targets: with pseudo-dimensions it is not zero
    with_pd = (d / "exp/multi_task_pd_seed0/fold1/history.tsv").read_text().splitlines()
    ccc = with_pd[0].split("\t").index("train_ccc")
    assert all(float(r.split("\t")[ccc]) > 0 for r in with_pd[1:])  # 0 when no utterance has a target
    assert "fold1/train_dev_pd none " in (d / "exp/multi_task_pd_seed0/fold1/command.txt").read_text()

    # stage 3 again: the copy is remade with the same content, so the trained model is kept
    p = run_sh(f"{RECIPE} --stage 3 --train-tag pd --pseudo-dims true", d)
    assert "already trained" in p.stderr or "already done" in p.stderr, p.stderr
