"""Domain-adversarial training over corpora (training config `domain_adversarial`; training/domain.py)."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from conftest import FAULT_TRAIN_CONFIG, mini  # noqa: F401  (mini is a fixture)
from emogcn.config import from_dict
from emogcn.data import datadir as dd
from emogcn.training.config import DomainAdversarialConfig, TrainConfig
from emogcn.training.domain import CorpusAdversary, ramp, reverse_gradient
from emogcn.training.trainer import check_config, load_checkpoint, train, train_made_from


def test_gradient_reversal_is_identity_forward_and_negated_scaled_backward():
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(3, 4)
    y = reverse_gradient(x, 0.3)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    torch.testing.assert_close(x.grad, -0.3 * w)


def test_the_strength_ramps_from_zero_towards_the_weight():
    assert ramp(0.5, 0.0) == 0.0
    assert ramp(0.5, 1.0) == pytest.approx(0.5 * (2 / (1 + math.exp(-10)) - 1))
    steps = [ramp(0.5, p / 10) for p in range(11)]
    assert steps == sorted(steps) and steps[-1] < 0.5


def _shortcut_task():
    """Two corpora whose class shares differ (corpus a 80 % class 0, b 80 % class 1): feature 1 names
    the corpus cleanly, feature 0 the class noisily, so a plain model leans on the corpus as a
    shortcut to the class, the way a pooled model can learn a corpus's class prior."""
    g = torch.Generator().manual_seed(0)
    n = 512
    corpus = torch.randint(0, 2, (n,), generator=g)
    label = torch.where(torch.rand(n, generator=g) < 0.8, corpus, 1 - corpus)
    x = torch.randn(n, 4, generator=g)
    x[:, 0] += 2.0 * label - 1.0
    x[:, 1] = 0.3 * x[:, 1] + 2.0 * corpus - 1.0
    return x, label, corpus


def _trained_embedding(weight: float):
    """(the encoder's weight share on the corpus feature, how well a fresh probe tells the corpora apart
    from the embedding) after training with the adversary at `weight`."""
    torch.manual_seed(0)
    x, label, corpus = _shortcut_task()
    encoder, head = torch.nn.Linear(4, 2), torch.nn.Linear(2, 2)
    adversary = CorpusAdversary(2, corpus.tolist(), ["a", "b"], DomainAdversarialConfig(weight=weight, hidden=16))
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters(), *adversary.parameters()], lr=0.02)
    for step in range(300):
        adversary.set_progress(step / 299)
        embedding = torch.tanh(encoder(x))
        loss = torch.nn.functional.cross_entropy(head(embedding), label)
        if weight:
            loss = loss + adversary(embedding, corpus)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    w = encoder.weight.detach().abs()
    embedding = torch.tanh(encoder(x)).detach()
    probe = torch.nn.Linear(2, 2)
    probe_optimizer = torch.optim.Adam(probe.parameters(), lr=0.05)
    for _ in range(300):
        probe_loss = torch.nn.functional.cross_entropy(probe(embedding), corpus)
        probe_optimizer.zero_grad()
        probe_loss.backward()
        probe_optimizer.step()
    return float(w[:, 1].sum() / w[:, :2].sum()), float((probe(embedding).argmax(-1) == corpus).float().mean())


def test_the_reversal_drives_the_corpus_out_of_the_embedding():
    plain_share, plain_probe = _trained_embedding(0.0)
    share, probe = _trained_embedding(1.0)
    assert plain_probe > 0.9 and plain_share > 0.3  # without it the corpus is the shortcut
    assert share < 0.5 * plain_share and probe < plain_probe - 0.15


def test_one_corpus_or_a_bad_setting_is_refused():
    with pytest.raises(ValueError, match="holds one corpus"):
        CorpusAdversary(8, [0, 0], ["emodb"], DomainAdversarialConfig(weight=0.1))
    with pytest.raises(ValueError, match="domain_adversarial: weight -1"):
        check_config(TrainConfig(domain_adversarial=DomainAdversarialConfig(weight=-1)))


def _two_corpus_dir(mini, name: str, corpora: dict | None):
    """data/all of the mini recipe with utt2corpus from its languages (None: no utt2corpus)."""
    out = mini / "data" / name
    if not out.exists():
        dd.subset_data_dir(mini / "data/all", out, utts=sorted(dd.read_map(mini / "data/all/utt2spk")))
        (out / "utt2corpus").unlink(missing_ok=True)
        if corpora is not None:
            utt2lang = dd.read_map(mini / "data/all/utt2lang")
            dd.write_map(out / "utt2corpus", {u: corpora.get(lang, lang) for u, lang in utt2lang.items()})
    return out


def _config(weight: float, **adversary) -> TrainConfig:
    raw = {**FAULT_TRAIN_CONFIG, "epochs": 4, "inference_checkpoint": "last",
           "domain_adversarial": {"weight": weight, "hidden": 8, **adversary}}
    return from_dict(TrainConfig, yaml.safe_load(yaml.safe_dump(raw)))


@pytest.mark.recipe  # the mini recipe's stages 0-3, then three short trainings
def test_training_with_a_corpus_adversary_logs_it_and_resumes_exactly(mini):
    two = _two_corpus_dir(mini, "two_corpora", {})
    graph = mini / "exp/graph"
    cfg = _config(0.5)
    whole = train(cfg, two, None, graph, mini / "exp/dann_whole")
    log = (mini / "exp/dann_whole/history.tsv").read_text().splitlines()
    header = log[0].split("\t")
    assert {"domain_strength", "domain_loss", "domain_acc"} <= set(header)
    strengths = [float(row.split("\t")[header.index("domain_strength")]) for row in log[1:]]
    assert strengths[0] == 0.0 and strengths == sorted(strengths) and 0 < strengths[-1] < 0.5
    last = load_checkpoint(mini / "exp/dann_whole/checkpoints/last.pt")
    assert set(last["adversary"]) == {"classifier.0.weight", "classifier.0.bias", "classifier.2.weight",
                                      "classifier.2.bias"}
    assert "domain_adversarial" in last["made_from"]["configs"]["train"]

    # stopped after epoch 2 and resumed: the uninterrupted run's weights, the adversary's too
    train(cfg, two, None, graph, mini / "exp/dann_resumed", stop_after_epoch=2)
    resumed_best = train(cfg, two, None, graph, mini / "exp/dann_resumed")
    resumed = load_checkpoint(mini / "exp/dann_resumed/checkpoints/last.pt")
    for part in ("model", "adversary"):
        for name, tensor in last[part].items():
            assert torch.equal(tensor, resumed[part][name]), f"{part}.{name}"
    assert resumed_best["epoch"] == whole["epoch"] == 4

    # weight 0: no adversary, and the training record is the one of a config without the key
    off = _config(0.0)
    assert "domain_adversarial" not in train_made_from(off, two, None, graph)["configs"]["train"]
    train(off, two, None, graph, mini / "exp/dann_off")
    assert "adversary" not in load_checkpoint(mini / "exp/dann_off/checkpoints/last.pt")
    assert "domain" not in (mini / "exp/dann_off/history.tsv").read_text()


@pytest.mark.recipe
def test_training_data_without_two_corpora_is_refused_in_one_line(mini):
    graph = mini / "exp/graph"
    with pytest.raises(ValueError, match=r"domain_adversarial: .*no_corpus has no utt2corpus"):
        train(_config(0.5), _two_corpus_dir(mini, "no_corpus", None), None, graph, mini / "exp/dann_x")
    one = _two_corpus_dir(mini, "one_corpus", {"qaa": "c", "qab": "c"})
    with pytest.raises(ValueError, match=r"holds one corpus \(c\)"):
        train(_config(0.5), one, None, graph, mini / "exp/dann_y")


def test_shipped_dann_config_is_train_mlp_plus_the_adversary():
    from pathlib import Path

    from emogcn.config import load_config

    root = Path(__file__).resolve().parents[1]
    dann = yaml.safe_load((root / "conf/train_mlp_dann.yaml").read_text())
    base = yaml.safe_load((root / "conf/train_mlp.yaml").read_text())
    assert dann.pop("domain_adversarial") == {"weight": 1.0, "hidden": 256} and dann == base
    check_config(load_config(TrainConfig, root / "conf/train_mlp_dann.yaml"))
    linked = root / "egs/multilingual/conf/train_mlp_dann.yaml"
    assert linked.resolve() == (root / "conf/train_mlp_dann.yaml").resolve()


@pytest.mark.recipe
def test_a_run_interrupted_before_a_key_existed_resumes_and_another_config_is_refused(mini):
    two = _two_corpus_dir(mini, "two_corpora", {})
    graph, exp = mini / "exp/graph", mini / "exp/resume_old"
    cfg = _config(0.0)
    train(cfg, two, None, graph, exp, stop_after_epoch=1)
    # as a checkpoint written before domain_adversarial and sampling were config keys
    last = exp / "checkpoints/last.pt"
    state = load_checkpoint(last)
    del state["config"]["domain_adversarial"], state["config"]["sampling"]
    state["history"][0]["train_loss"] = 123.0  # a mark: it survives only if the run resumes
    torch.save(state, last)
    assert train(cfg, two, None, graph, exp)["epoch"] == 4
    rows = (exp / "history.tsv").read_text().splitlines()
    assert len(rows) == 5 and rows[1].split("\t")[2] == "123"

    train(cfg, two, None, graph, mini / "exp/resume_other", stop_after_epoch=1)
    changed = from_dict(TrainConfig, {**yaml.safe_load(yaml.safe_dump(FAULT_TRAIN_CONFIG)), "epochs": 4,
                                      "inference_checkpoint": "last", "optim": {"name": "adam", "lr": 0.01}})
    with pytest.raises(ValueError, match="was trained with another config"):
        train(changed, two, None, graph, mini / "exp/resume_other")


def _unlabelled_dir(mini, name: str, corpus: str):
    """The mini corpus as another corpus's unlabelled test set: utt2corpus `corpus`, no utt2emo."""
    out = _two_corpus_dir(mini, name, {"qaa": corpus, "qab": corpus})
    (out / "utt2emo").unlink(missing_ok=True)
    return out


@pytest.mark.recipe
def test_unlabelled_test_sets_join_the_corpus_classifier_and_resume_exactly(mini):
    one = _two_corpus_dir(mini, "one_corpus", {"qaa": "c", "qab": "c"})
    target = _unlabelled_dir(mini, "target_t", "t")
    graph = mini / "exp/graph"
    cfg = _config(0.5, unlabelled_tests=True)
    with pytest.raises(ValueError, match="no unlabelled sets were given"):
        train(cfg, one, None, graph, mini / "exp/uda_none")
    whole = train(cfg, one, None, graph, mini / "exp/uda_whole", unlabelled=[target])
    last = load_checkpoint(mini / "exp/uda_whole/checkpoints/last.pt")
    assert last["adversary"]["classifier.2.weight"].shape[0] == 2  # corpora c and t
    assert "unlabelled:target_t" in last["made_from"]["inputs"]
    history = (mini / "exp/uda_whole/history.tsv").read_text().splitlines()
    header = history[0].split("\t")
    accuracies = [float(r.split("\t")[header.index("domain_acc")]) for r in history[1:]]
    assert all(0.0 < a <= 1.0 for a in accuracies)

    train(cfg, one, None, graph, mini / "exp/uda_resumed", stop_after_epoch=2, unlabelled=[target])
    assert train(cfg, one, None, graph, mini / "exp/uda_resumed", unlabelled=[target])["epoch"] == whole["epoch"]
    resumed = load_checkpoint(mini / "exp/uda_resumed/checkpoints/last.pt")
    for part in ("model", "adversary"):
        for name, tensor in last[part].items():
            assert torch.equal(tensor, resumed[part][name]), f"{part}.{name}"

    # without the key the sets are ignored: nothing of them is recorded, so no model is made stale
    plain = _config(0.5)
    assert not any(k.startswith("unlabelled") for k in
                   train_made_from(plain, one, None, graph, unlabelled=[target])["inputs"])
    assert "unlabelled_tests" not in train_made_from(plain, one, None, graph)["configs"]["train"]["domain_adversarial"]
    with pytest.raises(ValueError, match="weight 0 turns off"):
        check_config(_config(0.0, unlabelled_tests=True))
