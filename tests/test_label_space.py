"""Corpora with different label sets in one model (label_space corpus): the masked loss, per-corpus
class weights, each utterance's classes, and a zero-shot run over two mini corpora."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from conftest import FAULT_TRAIN_CONFIG, prepare_mini_recipe, run_sh
from emogcn.data import datadir as dd
from emogcn.data.dataset import collate
from emogcn.data.label_space import LabelSpaceDataset, allowed_classes, classes_by_corpus, hold_out_class
from emogcn.scoring.report import read_predictions
from emogcn.training.loop import predict
from emogcn.training.losses import EmotionLoss, class_weights, corpus_class_weights

CLASSES = ["neutral", "happiness", "sadness", "fear", "anger"]


def _hand_ce(logits: torch.Tensor, label: int, own: list[int]) -> torch.Tensor:
    """Cross-entropy of one utterance computed over its own classes only: -log softmax within `own`."""
    sub = logits[own]
    return -(sub[own.index(label)] - torch.logsumexp(sub, dim=0))


def test_masked_loss_is_cross_entropy_over_own_classes_with_no_mass_or_gradient_elsewhere():
    torch.manual_seed(0)
    logits = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    own = [[0, 1, 2, 3, 4], [0, 1, 4], [1, 2, 3], [0, 4]]
    allowed = torch.zeros(4, 5, dtype=torch.bool)
    for row, cls in enumerate(own):
        allowed[row, cls] = True
    labels = torch.tensor([2, 4, 1, 0])
    loss_fn = EmotionLoss(None, lambda_dims=0.0)
    total, parts = loss_fn({"logits": logits, "dims": None}, labels, allowed=allowed)
    expected = torch.stack([_hand_ce(logits[i], int(labels[i]), own[i]) for i in range(4)]).mean()
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    total.backward()
    assert (logits.grad[~allowed] == 0).all()  # absent classes get no gradient
    assert (logits.grad[allowed] != 0).all()
    # ... and no probability: softmax over the masked logits
    from emogcn.training.losses import mask_logits

    probs = torch.softmax(mask_logits(logits.detach(), allowed), dim=-1)
    assert (probs[~allowed] == 0).all() and torch.allclose(probs.sum(-1), torch.ones(4, dtype=torch.float64))
    # unmasked, the loss differs (the absent classes compete)
    assert loss_fn({"logits": logits.detach(), "dims": None}, labels)[0].item() > expected.item()

    # per-utterance weights: sum(w l) / sum(w) over the masked losses
    w = torch.tensor([1.0, 0.5, 2.0, 0.25], dtype=torch.float64)
    weighted, _ = loss_fn({"logits": logits.detach(), "dims": None}, labels, allowed=allowed, weight=w)
    each = torch.stack([_hand_ce(logits.detach()[i], int(labels[i]), own[i]) for i in range(4)])
    assert weighted.item() == pytest.approx(float((w * each).sum() / w.sum()), rel=1e-6)
    # a target masked out of its own classes is a bug, said so rather than an infinite loss
    with pytest.raises(ValueError, match="masked out"):
        loss_fn({"logits": logits.detach(), "dims": None}, torch.tensor([2, 2, 1, 0]), allowed=allowed)


def test_corpus_class_weights_balance_each_corpus_and_reduce_to_class_weights():
    torch.testing.assert_close(corpus_class_weights([[10, 20, 5, 40]])[0], class_weights([10, 20, 5, 40]))
    counts = torch.tensor([[100.0, 300.0, 0.0], [10.0, 10.0, 40.0]])
    w = corpus_class_weights(counts)
    assert w.max().item() == 1.0 and w[0, 2].item() == 0.0
    totals = (w * counts)
    # within a corpus, every class carries the same total weight
    assert totals[0, 0].item() == pytest.approx(totals[0, 1].item())
    assert totals[1, 0].item() == pytest.approx(totals[1, 2].item())
    # across corpora, totals follow corpus size (400 vs 60 utterances), as without weighting
    assert (totals[0].sum() / totals[1].sum()).item() == pytest.approx(400 / 60)


@dataclass
class _Item:
    utt: str
    label: int


class _FakeDataset(torch.utils.data.Dataset):
    """Items and utt2corpus as the emogcn datasets hold them; features: the label one-hot."""

    def __init__(self, rows, with_corpus=True):
        self.items = [_Item(u, CLASSES.index(c)) for u, _, c in rows]
        utt2corpus = {u: k for u, k, _ in rows}
        self.data = SimpleNamespace(get=lambda name: utt2corpus if name == "utt2corpus" and with_corpus else None)
        self.num_dims = 2

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return {"index": i, "feats": torch.zeros(3, 2), "label": self.items[i].label, "dims": None}


def test_allowed_classes_from_training_plus_the_sets_own():
    train = _FakeDataset([("a1", "A", "neutral"), ("a2", "A", "anger"), ("b1", "B", "neutral"),
                          ("b2", "B", "sadness"), ("b3", "B", "fear")])
    recorded = classes_by_corpus(train, CLASSES)
    assert recorded == {"A": ["neutral", "anger"], "B": ["neutral", "sadness", "fear"]}
    # a test set: A now has sadness (held out of its training), C was never trained on
    test = _FakeDataset([("a3", "A", "sadness"), ("b4", "B", "neutral"), ("c1", "C", "happiness")])
    allowed = allowed_classes(test, CLASSES, recorded)
    as_names = [[CLASSES[j] for j in range(5) if allowed[i, j]] for i in range(3)]
    assert as_names == [["neutral", "sadness", "anger"], ["neutral", "sadness", "fear"], ["happiness"]]
    assert allowed_classes(_FakeDataset([("x", "A", "fear")], with_corpus=False), CLASSES, recorded) is None

    # through collate and predict: probabilities only among each utterance's classes
    wrapped = LabelSpaceDataset(test, allowed, torch.tensor([1.0, 2.0, 3.0]))
    batch = collate([wrapped[i] for i in range(3)])
    assert torch.equal(batch["allowed"], allowed) and batch["weight"].tolist() == [1.0, 2.0, 3.0]
    assert len(wrapped) == 3 and wrapped.items is test.items  # the rest is the wrapped dataset's

    class Flat(torch.nn.Module):
        def forward(self, feats, lengths):
            return {"logits": torch.zeros(feats.shape[0], len(CLASSES)), "dims": None}

    loader = torch.utils.data.DataLoader(wrapped, batch_size=3, collate_fn=collate)
    probs = predict(Flat(), loader, torch.device("cpu"))["probs"]
    torch.testing.assert_close(probs[0], torch.tensor([1 / 3, 0, 1 / 3, 0, 1 / 3]))
    torch.testing.assert_close(probs[2], torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0]))


def _two_corpora(d):
    """The mini corpus's languages as two corpora, qaa and qab; qab has no fear (so the label sets
    differ). Train: the first speaker of each language; test: the second."""
    all_dir = d / "data/all"
    utt2lang = dd.read_map(all_dir / "utt2lang")
    dd.write_map(all_dir / "utt2corpus", utt2lang)
    utt2emo, utt2spk = dd.read_map(all_dir / "utt2emo"), dd.read_map(all_dir / "utt2spk")
    spks = {lang: sorted({s for u, s in utt2spk.items() if utt2lang[u] == lang}) for lang in ("qaa", "qab")}
    keep = {u for u in utt2emo if not (utt2lang[u] == "qab" and utt2emo[u] == "fear")}
    for name, k in (("train", 0), ("test", 1)):
        chosen = {spks[lang][k] for lang in spks}
        dd.subset_data_dir(all_dir, d / f"data/two/{name}", utts=[u for u in keep if utt2spk[u] in chosen])
    return d / "data/two"


@pytest.mark.recipe  # a mini recipe's stages 0-2, then a training and inference (about a minute)
def test_zero_shot_run_over_two_corpora_with_different_classes(tmp_path):
    cfg = {**FAULT_TRAIN_CONFIG, "inference_checkpoint": "last", "epochs": 1}
    d = prepare_mini_recipe(tmp_path / "recipe", cfg, utts_per_class=4)
    two = _two_corpora(d)
    # hold-out alone: qaa's sadness goes, qab's stays
    n = hold_out_class(two / "train", tmp_path / "held", "qaa", "sadness")
    held = dd.read_map(tmp_path / "held/utt2emo")
    corpus = dd.read_map(tmp_path / "held/utt2corpus")
    assert n == 4 and {corpus[u] for u, e in held.items() if e == "sadness"} == {"qab"}

    p = run_sh("python -m emogcn.bin.zero_shot run --corpus qaa --class sadness tiny.yaml data/two/train none "
               "data/two/test work", d)
    assert "zero-shot recall of sadness on qaa:" in p.stdout
    exp = d / "work/exp"
    # the union of classes; each corpus's own, as its training data had them
    assert (exp / "classes.txt").read_text().split() == ["neutral", "happiness", "sadness", "fear", "anger"]
    assert (exp / "corpus_classes.txt").read_text() == ("qaa neutral happiness fear anger\n"
                                                        "qab neutral happiness sadness anger\n")
    result = json.loads((exp / "scores/test/zero_shot.json").read_text())
    test_emo, test_corpus = dd.read_map(two / "test/utt2emo"), dd.read_map(two / "test/utt2corpus")
    assert result["utterances"] == sum(test_emo[u] == "sadness" and test_corpus[u] == "qaa" for u in test_emo)
    assert result["chance"] == pytest.approx(1 / 5) and 0.0 <= result["recall"] <= 1.0
    assert result["corpus_classes"] == ["neutral", "happiness", "sadness", "fear", "anger"]
    print(f"zero-shot (1 epoch): {p.stdout.strip()}")

    # scored among each corpus's classes: qab never predicts fear, qaa may predict sadness
    preds = read_predictions(exp / "scores/test/predictions.tsv")
    fear, sadness = preds.classes.index("fear"), preds.classes.index("sadness")
    rows = {c: [i for i, k in enumerate(preds.extra["corpus"]) if k == c] for c in ("qaa", "qab")}
    assert (preds.posteriors[rows["qab"], fear] == 0).all() and (preds.posteriors[rows["qaa"], sadness] > 0).all()
    # --label-space union: every class for everyone
    run_sh("python -m emogcn.bin.infer --label-space union work/exp data/two/test work/exp/scores/test_union", d)
    union = read_predictions(exp / "scores/test_union/predictions.tsv")
    assert (union.posteriors[rows["qab"], fear] > 0).all()
    # the score CLI on the restricted predictions gives the same figure
    p = run_sh("python -m emogcn.bin.zero_shot score --corpus qaa --class sadness work/exp/scores/test/predictions.tsv",
               d)
    assert f"{100 * result['recall']:.2f}%" in p.stdout
