"""Packaging a trained model (emogcn.bin.package, steps/package.sh): contents, safe loading, the
model card, checkpoint choice, and what is refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import yaml

from conftest import make_random_experiment, run_sh
from emogcn.inference.model import build_inference_model, offline_config
from emogcn.inference.package import PackageError, load_package, write_package
from emogcn.scoring.pool import append_results_row
from emogcn.training.config import TrainConfig
from emogcn.config import from_dict


def test_package_holds_everything_prediction_needs(packaged_mini):
    d, exp, pkg = packaged_mini
    names = sorted(p.name for p in pkg.iterdir())
    assert names == ["README.md", "classes.txt", "cmvn_global.npy", "config.yaml", "frontend.yaml", "graph",
                     "model.pt", "package.yaml"]
    # the weights are a plain state dict, equal to the experiment's chosen checkpoint
    state = torch.load(pkg / "model.pt", map_location="cpu", weights_only=True)
    best = torch.load(exp / "fold1" / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)["model"]
    assert state.keys() == best.keys() and all(torch.equal(state[k], best[k]) for k in state)
    info = yaml.safe_load((pkg / "package.yaml").read_text())
    assert info["checkpoint"] == "best"  # the config's inference_checkpoint
    assert info["classes"] == (exp / "fold1" / "classes.txt").read_text().split()
    assert info["dims"] == ["valence", "arousal"]
    assert info["input"] == "frames" and info["input_dim"] == 80 and info["sample_rate"] == 16000
    assert info["normalisation"]["trained"] == "speaker"
    assert info["normalisation"]["default"] == "global"
    assert set(info["normalisation"]["allowed"]) == {"global", "utterance", "batch", "speaker", "none"}
    assert info["source"]["corpus"] == "mini"
    assert "fold1 of 2" in info["source"]["protocol"]
    # the front-end is the one stage 1 used, kept beside the data
    assert (pkg / "frontend.yaml").read_text() == (d / "data" / "all" / "conf" / "feats.yaml").read_text()
    # the statistics are fold 1's training set's global ones
    from emogcn.data.cmvn import load_global_stats

    np.testing.assert_array_equal(np.load(pkg / "cmvn_global.npy", allow_pickle=False),
                                  load_global_stats(d / "data" / "folds" / "fold1" / "train"))
    loaded = load_package(pkg)
    assert loaded.info.classes == info["classes"]
    loaded.build_model()  # the weights fit the rebuilt network


def test_model_card_reports_the_results_row_and_provenance(packaged_mini, tmp_path):
    d, exp, _ = packaged_mini
    results = d / "RESULTS.md"
    append_results_row(results, {"date": "2026-01-01", "name": "emotion_gcn_tiny_seed5", "UA pooled": "61.23",
                                 "UA folds mean ± std": "60.00 ± 2.00", "WA": "62.00", "macro-F1": "59.00",
                                 "folds": "2"}, {"model": "emotion_gcn", "cmvn": "speaker"})
    append_results_row(results, {"date": "2026-01-02", "name": "other_seed0", "UA pooled": "11.11",
                                 "UA folds mean ± std": "-", "WA": "-", "macro-F1": "-", "folds": "2"},
                       {"model": "emotion_gcn", "cmvn": "speaker"})
    run_sh(f"steps/package.sh --fold 1 --results RESULTS.md {exp.relative_to(d)} {tmp_path}/card", d)
    card = (tmp_path / "card" / "README.md").read_text()
    info = yaml.safe_load((tmp_path / "card" / "package.yaml").read_text())
    assert info["metrics"]["UA pooled"] == "61.23" and info["metrics"]["cmvn"] == "speaker"
    assert "| UA pooled | 61.23 |" in card and "11.11" not in card
    for text in ("mini", "neutral, happiness, sadness, fear, anger", "fold1 of 2", "valence, arousal",
                 "python -m emogcn.bin.train", "python -m emogcn.bin.package --fold 1 --results RESULTS.md"):
        assert text in card, text
    commit = info["source"]["git_commit"]
    assert len(commit.split("+")[0]) == 40 and commit.split("+")[0] in card


def test_checkpoint_choice_and_replacing_a_package(packaged_mini, tmp_path):
    d, exp, _ = packaged_mini
    out = tmp_path / "model"
    out.mkdir()
    (out / "stale.txt").write_text("from an older package\n")
    run_sh(f"python -m emogcn.bin.package --fold 1 --checkpoint last {exp.relative_to(d)} {out}", d)
    assert not (out / "stale.txt").exists()  # replaced whole
    assert yaml.safe_load((out / "package.yaml").read_text())["checkpoint"] == "last"
    state = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    last = torch.load(exp / "fold1" / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["model"]
    assert all(torch.equal(state[k], last[k]) for k in state)
    assert not list(tmp_path.glob(".model*"))  # no temporary directory left behind


def test_refusals_name_the_problem(packaged_mini, tmp_path):
    d, exp, _ = packaged_mini
    p = run_sh(f"python -m emogcn.bin.package {exp.relative_to(d)} {tmp_path}/x", d, check=False)
    assert p.returncode == 1 and "fold1: choose one with --fold" in p.stderr
    p = run_sh(f"python -m emogcn.bin.package --fold 1 --checkpoint averaged {exp.relative_to(d)} {tmp_path}/x", d,
               check=False)
    assert p.returncode == 1 and "averaged.pt: no such checkpoint" in p.stderr
    p = run_sh(f"python -m emogcn.bin.package --fold 1 --results NOPE.md {exp.relative_to(d)} {tmp_path}/x", d,
               check=False)
    assert p.returncode == 1 and "NOPE.md: results file not found" in p.stderr
    unfinished = tmp_path / "unfinished" / "fold1"
    shutil.copytree(exp / "fold1", unfinished)
    (unfinished / ".done").unlink()
    p = run_sh(f"steps/package.sh --fold 1 {unfinished.parent} {tmp_path}/x", d, check=False)
    assert p.returncode == 1 and "has not finished training" in p.stderr
    # run from elsewhere, the training data (relative to the recipe) is not found: no front-end config
    p = run_sh(f"python -m emogcn.bin.package --fold 1 {exp} {tmp_path}/x", tmp_path, check=False)
    assert p.returncode == 1 and "no front-end config found" in p.stderr and "--feat-config" in p.stderr
    assert not (tmp_path / "x").exists()


def test_norm_default_is_a_package_field(packaged_mini, tmp_path):
    d, exp, _ = packaged_mini
    run_sh(f"python -m emogcn.bin.package --fold 1 --norm-default global {exp.relative_to(d)} {tmp_path}/g", d)
    assert load_package(tmp_path / "g").info.normalisation.default == "global"


def test_models_trained_without_normalisation_only_take_none(tmp_path):
    cfg = {"model": {"variant": "single_task", "backbone": "speech_cnn",
                     "backbone_options": {"channels": [4], "embed_dim": 8}}, "cmvn": "none"}
    exp = make_random_experiment(tmp_path / "exp", cfg, input_dim=80)
    (tmp_path / "fbank.yaml").write_text("type: fbank\nnum_mel_bins: 80\n")
    write_package(exp, tmp_path / "model", feat_config=tmp_path / "fbank.yaml")
    info = load_package(tmp_path / "model").info
    assert info.normalisation.allowed == ["none"] and info.normalisation.default == "none"
    assert info.dims == []  # single_task predicts no dimensions
    with pytest.raises(PackageError, match="normalisation 'global' is not possible"):
        write_package(exp, tmp_path / "model2", feat_config=tmp_path / "fbank.yaml", norm_default="global")


def test_building_for_inference_never_downloads(monkeypatch, tmp_path):
    import torch.hub

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    cfg = from_dict(TrainConfig, {"input": "image", "model": {
        "variant": "single_task", "backbone": "densenet121", "backbone_options": {"weights": "imagenet"}}})
    assert offline_config(cfg).model.backbone_options["weights"] == "none"
    assert cfg.model.backbone_options["weights"] == "imagenet"  # the experiment's config is left alone
    exp = make_random_experiment(tmp_path / "exp", {"input": "image", "model": {
        "variant": "single_task", "backbone": "bregnext", "backbone_options": {"width": 0.125, "depth": [1, 1, 1, 1, 1]}}},
        input_dim=3)
    model, _ = build_inference_model(cfg, exp / "graph", 3)  # DenseNet-121 with weights: imagenet, offline
    assert sum(p.numel() for p in model.parameters()) > 6_000_000


def test_ssl_front_end_weights_travel_with_the_package(tmp_path):
    import torchaudio

    from emogcn import EmotionRecognizer
    from test_frontends import TINY_WAV2VEC2

    torch.manual_seed(0)
    torch.save(torchaudio.models.wav2vec2_model(**TINY_WAV2VEC2).state_dict(), tmp_path / "upstream_local.pth")
    frontend = {"type": "ssl", "model": "wav2vec2_model", "model_options": TINY_WAV2VEC2,
                "weights": str(tmp_path / "upstream_local.pth")}
    (tmp_path / "ssl.yaml").write_text(yaml.safe_dump(frontend))
    cfg = {"model": {"variant": "single_task", "backbone": "ecapa_tdnn", "layer_sum": 3, "backbone_options": {
        "channels": 8, "dilations": [2], "se_channels": 4, "attention_channels": 4, "embed_dim": 8}}}
    exp = make_random_experiment(tmp_path / "exp", cfg, input_dim=3 * 24)
    write_package(exp, tmp_path / "model", feat_config=tmp_path / "ssl.yaml", input_dim=72)
    stored = yaml.safe_load((tmp_path / "model" / "frontend.yaml").read_text())
    assert stored["weights"] == "upstream.pth" and (tmp_path / "model" / "upstream.pth").is_file()
    # self-contained: moved elsewhere, with the original weights gone, it still predicts
    (tmp_path / "upstream_local.pth").unlink()
    shutil.move(tmp_path / "model", tmp_path / "moved")
    r = EmotionRecognizer.from_dir(tmp_path / "moved", device="cpu")
    wave = np.sin(np.arange(16000) / 7.0).astype(np.float32) * 0.3
    assert r.predict(wave, sample_rate=16000).ok
    # a torchaudio bundle would be downloaded at prediction time: refused
    (tmp_path / "bundle.yaml").write_text("type: ssl\nweights: bundle:HUBERT_BASE\n")
    with pytest.raises(PackageError, match="would be downloaded"):
        write_package(exp, tmp_path / "m2", feat_config=tmp_path / "bundle.yaml", input_dim=72)


def test_final_model_trained_on_every_speaker(packaged_mini, tmp_path):
    """A model trained on all of data/all (no fold, no test set): its card says so and quotes the
    cross-validated row of its config with --results-name."""
    d, exp, _ = packaged_mini
    final = d / "exp" / "final" / "emotion_gcn_tiny_all"
    shutil.copytree(exp / "fold1", final)
    (final / "command.txt").write_text("python -m emogcn.bin.train tiny.yaml data/all data/folds/fold1/dev exp/graph "
                                       "exp/final/emotion_gcn_tiny_all\n")
    append_results_row(d / "RESULTS_cv.md", {"date": "2026-01-01", "name": "emotion_gcn_tiny_seed5", "UA pooled": "47.11",
                                             "UA folds mean ± std": "-", "WA": "-", "macro-F1": "-", "folds": "2"})
    run_sh("steps/package.sh --results RESULTS_cv.md --results-name emotion_gcn_tiny_seed5 "
           f"exp/final/emotion_gcn_tiny_all {tmp_path}/final", d)
    info = yaml.safe_load((tmp_path / "final" / "package.yaml").read_text())
    assert info["source"]["protocol"] == "trained on every speaker of data/all (no held-out test speakers)"
    assert info["name"] == "emotion_gcn_tiny_all" and info["metrics"]["UA pooled"] == "47.11"
    # the front-end config and global statistics are data/all's own
    from emogcn.data.cmvn import load_global_stats

    assert (tmp_path / "final" / "frontend.yaml").read_text() == (d / "data" / "all" / "conf" / "feats.yaml").read_text()
    np.testing.assert_array_equal(np.load(tmp_path / "final" / "cmvn_global.npy", allow_pickle=False),
                                  load_global_stats(d / "data" / "all"))
