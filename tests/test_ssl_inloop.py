"""A frozen SSL upstream inside the training loop (input: waveform) instead of stage-1 arks: training
and scoring through the steps, a frozen upstream, and the same predictions as the ark path.

The upstream is a tiny randomly initialised wav2vec 2.0 saved as a local state dict (no download);
the audio is the mini corpus's synthesis (16 and 22.05 kHz, one speaker in stereo).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio
import yaml

from conftest import link_recipe_dir, run_sh
from emogcn import provenance as pv
from emogcn.config import ConfigError, from_dict, load_config
from emogcn.data.datadir import read_map, subset_data_dir
from emogcn.features.audio import read_audio
from emogcn.features.ssl import SslConfig, SslExtractor
from emogcn.inference.model import build_inference_model
from emogcn.training import trainer
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import check_config, load_checkpoint, make_dataset
from test_frontends import TINY_WAV2VEC2

LAYERS = [3, 1]  # a subset, out of order: the ark path stacks them in this order too


def _config(weights: Path) -> dict:
    return {
        "input": "waveform",
        "upstream": {"type": "ssl", "model": "wav2vec2_model", "model_options": TINY_WAV2VEC2,
                     "weights": str(weights), "layers": LAYERS},
        "crop_seconds": 1.0,
        "model": {"variant": "emotion_gcn", "backbone": "ecapa_tdnn", "gcn_hidden": 8,
                  "backbone_options": {"channels": 8, "aggregate_channels": 16, "frame_stride": 1, "embed_dim": 8}},
        "optim": {"name": "adam", "lr": 0.01},
        "epochs": 2,
        "batch_size": 4,
        "cmvn": "none",
        "seed": 3,
    }


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """Mini-corpus audio (no features: the model reads wav.scp), one speaker to train on and one
    for dev, the label graph, a tiny upstream's weights file and the training config."""
    d = link_recipe_dir(tmp_path_factory.mktemp("inloop") / "recipe")
    run_sh("python local/make_mini_corpus.py --speakers-per-language 1 --utts-per-class 2 db data/all", d)
    speakers = sorted(set(read_map(d / "data/all/utt2spk").values()))
    subset_data_dir(d / "data/all", d / "data/train", spks=speakers[:1])
    subset_data_dir(d / "data/all", d / "data/dev", spks=speakers[1:])
    run_sh("steps/build_graph.sh data/train exp/graph", d)
    torch.manual_seed(11)
    torch.save(torchaudio.models.wav2vec2_model(**TINY_WAV2VEC2).state_dict(), d / "tiny_upstream.pth")
    (d / "inloop.yaml").write_text(yaml.safe_dump(_config(d / "tiny_upstream.pth")))
    assert not (d / "data/train/feats.scp").exists()
    return d


@pytest.fixture(scope="module")
def trained(recipe):
    """The experiment trained and scored on dev through steps/train.sh and steps/infer.sh."""
    run_sh("steps/train.sh --gpu -1 inloop.yaml data/train data/dev exp/graph exp/inloop", recipe)
    run_sh("steps/infer.sh --gpu -1 exp/inloop data/dev dev", recipe)
    return recipe / "exp/inloop"


def test_train_and_score_read_the_audio_through_the_steps(recipe, trained):
    history = (trained / "history.tsv").read_text().splitlines()
    assert len(history) == 3  # header and 2 epochs
    assert len((trained / "layer_weights.txt").read_text().splitlines()) == len(LAYERS)
    cfg = load_config(TrainConfig, trained / "config.yaml")
    # the experiment's config holds the upstream itself, not a path to another file
    assert cfg.upstream.weights == str(recipe / "tiny_upstream.pth") and cfg.upstream.layers == LAYERS
    # results tables name the upstream, not stage 1's features (there are none)
    assert pv.read_marker(trained / ".done")["labels"]["features"] == "ssl_tiny_upstream_inloop"
    state = load_checkpoint(trained / "checkpoints/best.pt")["model"]
    assert not [k for k in state if ".upstream." in k]  # the frozen upstream is not saved...
    assert state["backbone.upstream_sha256"].numel() == 32  # ...its digest is
    with open(trained / "scores/dev/predictions.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert sorted(r["utt"] for r in rows) == sorted(read_map(recipe / "data/dev/utt2spk"))
    for r in rows:
        assert abs(sum(float(v) for k, v in r.items() if k.startswith("p_")) - 1) < 1e-4


def test_upstream_stays_frozen_while_the_rest_learns(recipe, monkeypatch, tmp_path):
    """Trains in this process, holding on to the model: the upstream's weights are those of its
    file after training, it saw every training batch in eval mode and got no gradients, while the
    layer weights and backbone moved."""
    built = {}
    build = trainer.build_experiment_model

    def keep(*args, **kwargs):
        model, classes = build(*args, **kwargs)
        built["model"] = model
        built["start"] = {k: v.clone() for k, v in model.state_dict().items()}
        built["modes"] = []
        upstream = model.backbone.upstream
        for part in (upstream.feature_extractor, upstream.encoder.transformer.layers[0]):
            part.register_forward_pre_hook(lambda m, a: built["modes"].append(m.training))
        return model, classes

    monkeypatch.setattr(trainer, "build_experiment_model", keep)
    cfg = from_dict(TrainConfig, {**_config(recipe / "tiny_upstream.pth"), "epochs": 1})
    trainer.train(cfg, recipe / "data/train", recipe / "data/dev", recipe / "exp/graph",
                  tmp_path / "exp", gpu=-1)
    model = built["model"]
    upstream = model.backbone.upstream
    original = torch.load(recipe / "tiny_upstream.pth", weights_only=True)
    assert upstream.state_dict().keys() == original.keys()
    for name, value in upstream.state_dict().items():
        torch.testing.assert_close(value, original[name], rtol=0, atol=0)
    assert all(p.grad is None and not p.requires_grad for p in upstream.parameters())
    assert built["modes"] and not any(built["modes"])  # never in training mode (dropout, layer drop)
    moved = [k for k, v in model.state_dict().items() if not torch.equal(v, built["start"][k])]
    assert "backbone.logits" in moved and any(k.startswith("backbone.backbone.") for k in moved)


def test_in_loop_predictions_equal_the_ark_path(recipe, trained):
    """The same layers extracted by stage 1's SslExtractor, one utterance at a time, through the
    ark-path model (model.layer_sum) with the trained weights, predict what the in-loop model
    predicted in padded batches."""
    cfg = load_config(TrainConfig, trained / "config.yaml")
    state = load_checkpoint(trained / "checkpoints/best.pt")["model"]
    frames_cfg = dataclasses.replace(cfg, input="frames", upstream=None, crop_seconds=0.0,
                                     model=dataclasses.replace(cfg.model, layer_sum=len(LAYERS)))
    ark_state = {k: v for k, v in state.items() if k != "backbone.upstream_sha256"}
    ark_model, classes = build_inference_model(frames_cfg, trained / "graph", len(LAYERS) * 24, ark_state)
    extract = SslExtractor(SslConfig(model="wav2vec2_model", model_options=TINY_WAV2VEC2,
                                     weights=str(recipe / "tiny_upstream.pth"), layers=LAYERS))
    wav = read_map(recipe / "data/dev/wav.scp")
    with open(trained / "scores/dev/predictions.tsv") as f:
        rows = {r["utt"]: r for r in csv.DictReader(f, delimiter="\t")}
    lengths = set()
    for utt, spec in wav.items():
        feats = torch.from_numpy(extract(read_audio(spec, 16000)))
        lengths.add(feats.shape[0])
        with torch.no_grad():
            probs = torch.softmax(ark_model(feats[None], torch.tensor([feats.shape[0]]))["logits"], -1)[0]
        in_loop = torch.tensor([float(rows[utt][f"p_{c}"]) for c in classes])
        torch.testing.assert_close(in_loop, probs, rtol=0, atol=2e-5)
    assert len(lengths) > 3  # utterances of many lengths: the in-loop batches were padded

    # and on logits, in one padded batch of the in-loop model itself
    model, _ = build_inference_model(cfg, trained / "graph", 1, state)
    waves = [torch.from_numpy(read_audio(spec, 16000)) for spec in list(wav.values())[:5]]
    lengths = torch.tensor([len(w) for w in waves])
    with torch.no_grad():
        batched = model(torch.nn.utils.rnn.pad_sequence(waves, batch_first=True), lengths)["logits"]
        for w, row in zip(waves, batched):
            feats = torch.from_numpy(extract(w.numpy()))
            torch.testing.assert_close(row, ark_model(feats[None], torch.tensor([len(feats)]))["logits"][0],
                                       rtol=1e-4, atol=1e-4)


def test_scoring_refuses_an_upstream_whose_weights_changed(recipe, trained, tmp_path):
    cfg = load_config(TrainConfig, trained / "config.yaml")
    torch.manual_seed(12)
    other = tmp_path / "other.pth"
    torch.save(torchaudio.models.wav2vec2_model(**TINY_WAV2VEC2).state_dict(), other)
    cfg.upstream.weights = str(other)
    state = load_checkpoint(trained / "checkpoints/best.pt")["model"]
    with pytest.raises(ValueError, match="trained on another upstream"):
        build_inference_model(cfg, trained / "graph", 1, state)


def test_crops_are_bounded_and_follow_the_random_state(recipe):
    classes = (recipe / "exp/graph/classes.txt").read_text().split()
    whole = make_dataset(from_dict(TrainConfig, _config(recipe / "tiny_upstream.pth")), recipe / "data/train",
                         classes, train=False)
    crop = int(np.median([len(whole.wave(i)) for i in range(len(whole))]))
    cfg = from_dict(TrainConfig, {**_config(recipe / "tiny_upstream.pth"), "crop_seconds": crop / 16000})
    train = make_dataset(cfg, recipe / "data/train", classes, train=True)
    long = [i for i in range(len(whole)) if len(whole.wave(i)) > crop]
    assert long and len(long) < len(whole)  # some utterances are cropped, some are not
    torch.manual_seed(0)
    first = [train[i]["feats"] for i in long]
    torch.manual_seed(0)
    again = [train[i]["feats"] for i in long]
    torch.manual_seed(1)
    other = [train[i]["feats"] for i in long]
    assert all(len(x) == crop for x in first)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
    for i, x in zip(long, first):  # a window of the utterance itself
        w = whole.wave(i)
        starts = np.flatnonzero(w[:len(w) - crop + 1] == x[0].item())
        assert any(np.array_equal(w[s:s + crop], x.numpy()) for s in starts)
    # lengths() are the upstream's frame counts of what the items hold, cropped or not
    extract = SslExtractor(SslConfig(model="wav2vec2_model", model_options=TINY_WAV2VEC2, weights="none"))
    for i in (long[0], next(i for i in range(len(whole)) if i not in long)):
        assert train.lengths()[i] == len(extract(train[i]["feats"].numpy()))
        assert whole.lengths()[i] == len(extract(whole.wave(i)))


def test_waveform_config_is_checked(recipe, tmp_path):
    base = _config(recipe / "tiny_upstream.pth")
    check_config(from_dict(TrainConfig, base))
    for change, message in [({"upstream": None}, "needs an upstream"),
                            ({"cmvn": "speaker"}, "set cmvn: none"),
                            ({"augment": {"time_masks": 2, "time_width": 5}}, "SpecAugment"),
                            ({"input": "frames", "upstream": None}, "crop_seconds")]:
        with pytest.raises(ValueError, match=message):
            check_config(from_dict(TrainConfig, {**base, **change}))
    with pytest.raises(ConfigError, match="not an ssl one"):
        from_dict(TrainConfig, {**base, "upstream": "conf/fbank.yaml"})
    with pytest.raises(ConfigError, match="upstream.*unknown key"):
        from_dict(TrainConfig, {**base, "upstream": {**base["upstream"], "layer": [1]}})
    # the shipped example names an SSL front-end config, read into the experiment's own config
    example = load_config(TrainConfig, "conf/train_ssl_inloop_single_task.yaml")
    check_config(example)
    assert example.input == "waveform" and example.upstream.weights == "bundle:WAV2VEC2_BASE"


def test_packaging_refuses_an_in_loop_model_by_name(trained, tmp_path):
    from emogcn.inference.package import PackageError, write_package

    with pytest.raises(PackageError, match="runs inside the model.*steps/infer.sh"):
        write_package(trained, tmp_path / "model")
    assert not (tmp_path / "model").exists()
