"""Front-ends side by side in one recipe (--feat-tag), speed perturbation as a data stage, and the
SSL layer sum trained end to end, on a small mini corpus."""

from __future__ import annotations

import json

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from conftest import link_recipe_dir, run_sh
from emogcn.data import datadir as dd
from emogcn.graph.sources import confusion_similarity
from emogcn.models.build import build_model
from emogcn.models.layer_sum import LayerWeightedBackbone
from test_frontends import TINY_WAV2VEC2

MLP_CONFIG = {
    "model": {"variant": "emotion_gcn", "backbone": "mlp", "backbone_options": {"hidden": [32], "dropout": 0.1},
              "gcn_hidden": 16},
    "optim": {"name": "adam", "lr": 0.003}, "epochs": 3, "batch_size": 8, "seed": 0,
}
SSL_CONFIG = {
    "model": {"variant": "emotion_gcn", "backbone": "ecapa_tdnn", "layer_sum": 3, "gcn_hidden": 16,
              "backbone_options": {"channels": 16, "aggregate_channels": 32, "embed_dim": 16}},
    "optim": {"name": "adam", "lr": 0.003}, "epochs": 2, "batch_size": 8, "seed": 0,
}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """A mini-corpus recipe after stage 0: 4 speakers, 60 utterances, 2 folds."""
    d = link_recipe_dir(tmp_path_factory.mktemp("frontends") / "recipe")
    run_sh("steps/prepare_corpus.sh --prepare-opts '--speakers-per-language 2 --utts-per-class 3' "
           "--fold-opts '--protocol groups --num-groups 2' mini db data", d)
    for name, config in (("mlp.yaml", MLP_CONFIG), ("ssl.yaml", SSL_CONFIG)):
        (d / name).write_text(yaml.safe_dump(config))
    (d / "tiny_ssl.yaml").write_text(yaml.safe_dump({"type": "ssl", "model": "wav2vec2_model",
                                                     "model_options": TINY_WAV2VEC2, "weights": "none"}))
    return d


def test_functionals_with_speed_perturbation_beside_another_front_end(recipe):
    run_sh("steps/run_corpus.sh --stage 1 --nj 2 --feat-config conf/egemaps.yaml --augment none --feat-tag egemaps --speed-perturb '0.9 1.1' "
           "--train-config ./mlp.yaml --train-tag egemaps_mlp --variants emotion_gcn --folds 1 --seeds 0 --dev speaker", recipe)
    data = recipe / "data/egemaps"
    feats = dict(kaldiio.load_scp(str(data / "all/feats.scp")))
    assert len(feats) == 60 and all(m.shape == (1, 88) for m in feats.values())
    assert not (recipe / "data/all/feats.scp").exists()  # stage 0's directory stays feature-free
    for f in ("0.9", "1.1"):
        sp = dd.read_map(data / f"all_sp{f}/feats.scp")
        assert len(sp) == 60 and all(u.startswith(f"sp{f}-") for u in sp)
    train = set(dd.read_map(data / "folds/fold1/train/utt2spk"))
    train_sp = dd.read_map(data / "folds/fold1/train_sp/utt2spk")
    assert set(train_sp) == train | {f"sp{f}-{u}" for f in ("0.9", "1.1") for u in train}
    # the perturbed speakers carry their own CMVN statistics; dev and test stay unperturbed
    assert set(dd.read_map(data / "folds/fold1/train_sp/cmvn.scp")) == set(train_sp.values())
    for name in ("dev", "test"):
        assert not any(u.startswith("sp") for u in dd.read_map(data / f"folds/fold1/{name}/utt2spk"))
    exp = recipe / "exp/emotion_gcn_egemaps_mlp_seed0"
    assert "fold1/train_sp" in (exp / "fold1/log/train.log").read_text().splitlines()[0]
    assert json.loads((exp / "pooled/metrics.json").read_text())["num_utts"] > 0
    assert "| egemaps_sp |" in (recipe / "RESULTS.md").read_text()  # the recorded front-end: perturbed egemaps
    # the same data directory asked for without the perturbation: refused, not silently mixed
    p = run_sh("steps/run_corpus.sh --stage 2 --stop-stage 4 --feat-config conf/egemaps.yaml --augment none --feat-tag egemaps "
               "--train-config ./mlp.yaml --train-tag egemaps_plain --variants emotion_gcn --folds 1 --seeds 0 --dev speaker",
               recipe, check=False)
    assert p.returncode == 1 and ("stage 2: normalization of data/egemaps: made with other settings than this run "
                                  "asks for (options.speed_perturb: 0.9 1.1 -> )") in p.stderr, p.stderr
    # --cmvn overrides the configs' per-speaker normalisation; the RESULTS.md rows say which was used
    run_sh("steps/run_corpus.sh --stage 4 --feat-config conf/egemaps.yaml --augment none --feat-tag egemaps --speed-perturb '0.9 1.1' "
           "--cmvn global --train-config ./mlp.yaml --train-tag egemaps_global --variants emotion_gcn --folds 1 --seeds 0 --dev speaker",
           recipe)
    exp = recipe / "exp/emotion_gcn_egemaps_global_seed0/fold1"
    assert yaml.safe_load((exp / "config.yaml").read_text())["cmvn"] == "global"
    assert (exp / "cmvn_global.npy").is_file()
    rows = [r for r in (recipe / "RESULTS.md").read_text().splitlines() if "egemaps_mlp_seed0" in r or "egemaps_global_seed0" in r]
    assert len(rows) == 2 and "| speaker |" in rows[0] and "| global |" in rows[1], rows



def test_noise_and_reverberation_copies_join_the_training_sets_only(recipe):
    run_sh("steps/run_corpus.sh --stage 1 --stop-stage 2 --nj 2 --feat-config conf/egemaps.yaml --feat-tag aug "
           "--augment 'noise10 reverb0.3'", recipe)
    data = recipe / "data/aug"
    train = set(dd.read_map(data / "folds/fold1/train/utt2spk"))
    train_sp = set(dd.read_map(data / "folds/fold1/train_sp/utt2spk"))
    assert train_sp == train | {f"{t}-{u}" for t in ("noise10", "reverb0.3") for u in train}
    for t in ("noise10", "reverb0.3"):
        feats = dict(kaldiio.load_scp(str(data / f"all_{t}/feats.scp")))
        assert len(feats) == 60 and all(m.shape == (1, 88) for m in feats.values())
    clean = dict(kaldiio.load_scp(str(data / "all/feats.scp")))
    noisy = dict(kaldiio.load_scp(str(data / "all_noise10/feats.scp")))
    u = sorted(clean)[0]
    assert not np.allclose(clean[u], noisy[f"noise10-{u}"])  # the features of other audio
    for name in ("dev", "test"):
        assert not any(u.startswith(("noise", "reverb")) for u in dd.read_map(data / f"folds/fold1/{name}/utt2spk"))
    p = run_sh("steps/run_corpus.sh --stage 1 --stop-stage 1 --feat-tag aug2 --augment 'hiss3'", recipe, check=False)
    assert p.returncode == 1 and "--augment 'hiss3': expected noise<SNR dB> (noise10) or reverb<RT60 s>" in p.stderr

def test_confusion_graph_from_an_svm_on_the_training_speakers(recipe):
    """--graph-config conf/graph_confusion.yaml: stage 3 trains an SVM on each fold's graph set, and the
    graph's class-class edges are its inner folds' confusions on those speakers, no one else's."""
    opts = ("--feat-config conf/egemaps.yaml --feat-tag confusion --augment none --fusion none --dev none --folds 1 "
            "--graph-config conf/graph_confusion.yaml --graph-tag confusion")
    run_sh(f"steps/run_corpus.sh --stage 1 --stop-stage 3 --nj 2 {opts}", recipe)
    train = recipe / "data/confusion/folds/fold1/train_dev"
    first = recipe / "exp/confusion_svm_confusion_train_dev/fold1"
    tsv = first / "inner/predictions.tsv"
    rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:]]
    utt2emo = dd.read_map(train / "utt2emo")
    assert {r[0]: r[1] for r in rows} == utt2emo  # every training utterance, no test one
    assert not (first / "scores").exists()  # the first model predicts nothing else
    graph_dir = recipe / "exp/graph_confusion_confusion_train_dev/fold1"
    graph = yaml.safe_load((graph_dir / "graph.yaml").read_text())
    assert graph["method"] == "confusion" and graph["config"]["confusion_from"] == str(tsv.relative_to(recipe))
    # the class-class block is the symmetrised confusion matrix of those predictions
    classes = graph["classes"]
    counts = np.zeros((len(classes), len(classes)))
    for _, ref, hyp, *_ in rows:
        counts[classes.index(ref), classes.index(hyp)] += 1
    expected = confusion_similarity(counts)
    corr = np.load(graph_dir / "correlation.npy", allow_pickle=False)
    np.testing.assert_allclose(corr[:len(classes), :len(classes)], expected, atol=1e-6)
    # again: the SVM and the graph are kept
    p = run_sh(f"steps/run_corpus.sh --stage 3 --stop-stage 3 {opts}", recipe)
    assert "already built" in p.stderr and "SVM" not in p.stderr, p.stderr
    # a frame front-end has no functionals for the first model: one line, before any work
    p = run_sh("steps/run_corpus.sh --stage 3 --stop-stage 3 --feat-config conf/fbank.yaml --augment none --folds 1 "
               "--graph-config conf/graph_confusion.yaml --graph-tag confusion2", recipe, check=False)
    assert p.returncode == 1 and "first model is an SVM over functionals" in p.stderr, p.stderr


def test_ssl_layers_trained_with_a_learned_layer_sum(recipe):
    run_sh("steps/run_corpus.sh --stage 1 --nj 2 --feat-config tiny_ssl.yaml --augment none --feat-tag tiny_ssl --train-config ./ssl.yaml "
           "--train-tag ssl --variants emotion_gcn --folds 1 --seeds 0 --dev speaker", recipe)
    feats = dict(kaldiio.load_scp(str(recipe / "data/tiny_ssl/all/feats.scp")))
    assert len(feats) == 60 and all(m.shape[1] == 3 * 24 for m in feats.values())
    exp = recipe / "exp/emotion_gcn_ssl_seed0/fold1"
    weights = [float(line.split()[1]) for line in (exp / "layer_weights.txt").read_text().splitlines()]
    assert len(weights) == 3 and abs(sum(weights) - 1) < 1e-3 and weights != [weights[0]] * 3
    assert (exp / "scores/test").is_dir()


def test_layer_sum_mixes_normalised_layers_by_softmax_weights():
    torch.manual_seed(0)
    model = build_model("single_task", "mlp", input_dim=3 * 8, num_classes=4, layer_sum=3,
                        backbone_options={"hidden": [16], "dropout": 0.0})
    mixer = model.backbone
    assert isinstance(mixer, LayerWeightedBackbone) and mixer.backbone.input_dim == 8
    assert mixer.layer_weights() == pytest.approx([1 / 3] * 3)
    x = torch.randn(2, 5, 24)
    with torch.no_grad():
        mixer.logits.copy_(torch.tensor([-30.0, 30.0, -30.0]))  # all weight on layer 2
        only_second = torch.nn.functional.layer_norm(x[:, :, 8:16], (8,))
        torch.testing.assert_close(mixer(x, torch.tensor([5, 5])), mixer.backbone(only_second, torch.tensor([5, 5])))
    mixer.logits.data.zero_()
    model(x, torch.tensor([5, 3]))["logits"].sum().backward()
    assert mixer.logits.grad is not None and mixer.logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="layer_sum 5 does not divide the input dimension 24"):
        build_model("single_task", "mlp", input_dim=24, num_classes=4, layer_sum=5)
