"""Label-shift corrections on an unlabelled test corpus (emogcn/scoring/label_shift.py,
`python -m emogcn.bin.adapt_priors`): EM recovers known priors from calibrated posteriors, balance
undoes a collapse, zero columns stay zero, each corpus is corrected on its own."""

from __future__ import annotations

import numpy as np
import pytest

from emogcn.bin.adapt_priors import main
from emogcn.scoring.label_shift import adapt_predictions, balance, em_priors
from emogcn.scoring.metrics import classification_metrics
from emogcn.scoring.report import Predictions, read_predictions, write_predictions

CLASSES = ["anger", "happiness", "neutral", "sadness"]
MEANS = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])  # one 2-D Gaussian per class, unit variance


def _sample(prior, n, seed=0):
    """Labels drawn from `prior` and the exact posteriors of a balanced-trained model (uniform
    prior): the normalised class likelihoods, so they are calibrated."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(prior), size=n, p=prior)
    x = MEANS[labels] + rng.standard_normal((n, 2))
    loglik = -0.5 * ((x[:, None, :] - MEANS[None]) ** 2).sum(axis=2)
    post = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    return labels, post / post.sum(axis=1, keepdims=True)


def _ua(labels, post):
    refs = [CLASSES[i] for i in labels]
    hyps = [CLASSES[i] for i in post.argmax(axis=1)]
    return classification_metrics(refs, hyps, CLASSES)["UA"]


def test_em_recovers_the_test_priors_of_calibrated_posteriors():
    true = np.array([0.6, 0.2, 0.1, 0.1])
    labels, post = _sample(true, 4000)
    q, adjusted = em_priors(post)
    assert np.abs(q - true).max() < 0.03, q
    assert np.allclose(adjusted.sum(axis=1), 1.0)
    # the Bayes decision under the right priors makes fewer errors than the balanced model's
    acc_before = (post.argmax(axis=1) == labels).mean()
    acc_after = (adjusted.argmax(axis=1) == labels).mean()
    assert acc_after > acc_before + 0.02, (acc_before, acc_after)


def test_em_leaves_a_balanced_corpus_nearly_alone():
    labels, post = _sample(np.full(4, 0.25), 4000, seed=1)
    q, adjusted = em_priors(post)
    assert np.abs(q - 0.25).max() < 0.03
    assert (adjusted.argmax(axis=1) == post.argmax(axis=1)).mean() > 0.95


def test_balance_undoes_a_collapse_onto_one_class():
    labels, post = _sample(np.full(4, 0.25), 2000, seed=2)
    collapsed = post * np.array([1.0, 1.0, 1.0, 30.0])  # a model that calls almost everything sad
    collapsed /= collapsed.sum(axis=1, keepdims=True)
    assert (collapsed.argmax(axis=1) == 3).mean() > 0.6
    fixed = balance(collapsed)
    assert np.allclose(fixed.mean(axis=0), 0.25, atol=1e-6)
    assert np.allclose(fixed.sum(axis=1), 1.0)
    assert _ua(labels, collapsed) < 0.5 < _ua(labels, fixed)
    assert abs(_ua(labels, fixed) - _ua(labels, post)) < 0.03  # as good as the model before the collapse


def test_classes_a_corpus_cannot_take_stay_at_zero():
    _, post = _sample(np.full(4, 0.25), 500, seed=3)
    post[:, 1] = 0.0  # a restricted label space: happiness not among this corpus's classes
    post /= post.sum(axis=1, keepdims=True)
    fixed = balance(post)
    assert np.all(fixed[:, 1] == 0)
    assert np.allclose(fixed.mean(axis=0)[[0, 2, 3]], 1 / 3, atol=1e-6)
    assert np.all(em_priors(post)[1][:, 1] == 0)


def test_bad_posteriors_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        balance(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="negative"):
        em_priors(np.array([[0.5, -0.1, 0.6]]))
    with pytest.raises(ValueError, match="positive"):
        em_priors(np.full((3, 2), 0.5), train_prior=np.array([1.0, 0.0]))


def _predictions(corpora_posts):
    """Predictions of several corpora in one file: {corpus: (labels, posteriors)}."""
    utts, refs, posts, corpus = [], [], [], []
    for name, (labels, post) in corpora_posts.items():
        utts += [f"{name}-{i:04d}" for i in range(len(labels))]
        refs += [CLASSES[i] for i in labels]
        posts.append(post)
        corpus += [name] * len(labels)
    post = np.concatenate(posts)
    return Predictions(classes=CLASSES, utts=utts, refs=refs, hyps=[CLASSES[i] for i in post.argmax(axis=1)],
                       posteriors=post, ref_dims=np.zeros((len(utts), 0)), hyp_dims=np.zeros((len(utts), 0)),
                       extra={"corpus": corpus, "lang": ["xx"] * len(utts)})


def test_each_corpus_is_corrected_on_its_own():
    la, pa = _sample(np.full(4, 0.25), 400, seed=4)
    lb, pb = _sample(np.full(4, 0.25), 400, seed=5)
    pa = pa * np.array([20.0, 1, 1, 1])  # corpus a collapses onto anger, b onto sadness
    pb = pb * np.array([1, 1, 1, 20.0])
    preds = _predictions({"a": (la, pa / pa.sum(1, keepdims=True)), "b": (lb, pb / pb.sum(1, keepdims=True))})
    out = adapt_predictions(preds, "balance", by="corpus")
    assert np.allclose(out.posteriors[:400].mean(axis=0), 0.25, atol=1e-6)
    assert np.allclose(out.posteriors[400:].mean(axis=0), 0.25, atol=1e-6)
    assert out.hyps == [CLASSES[i] for i in out.posteriors.argmax(axis=1)]
    assert out.refs == preds.refs and out.utts == preds.utts
    together = adapt_predictions(preds, "balance", by=None)  # one correction for both corpora
    assert not np.allclose(together.posteriors[:400].mean(axis=0), 0.25, atol=1e-3)


def test_the_tool_writes_a_corrected_experiment(tmp_path, capsys):
    labels, post = _sample(np.full(4, 0.25), 300, seed=6)
    post = post * np.array([1.0, 1.0, 1.0, 30.0])
    post /= post.sum(axis=1, keepdims=True)
    src, dst = tmp_path / "exp/single_task_seed0", tmp_path / "exp/single_task_seed0_balance"
    (src / "from_a/scores/test_b").mkdir(parents=True)
    (src / "from_a/classes.txt").write_text("\n".join(CLASSES) + "\n")
    write_predictions(src / "from_a/scores/test_b/predictions.tsv", _predictions({"b": (labels, post)}))
    assert main(["--method", "balance", str(src), str(dst), "from_a"]) == 0
    out = read_predictions(dst / "from_a/scores/test_b/predictions.tsv", CLASSES)
    assert (dst / "from_a/classes.txt").read_text() == (src / "from_a/classes.txt").read_text()
    assert out.refs == [CLASSES[i] for i in labels]
    assert np.allclose(out.posteriors.mean(axis=0), 0.25, atol=1e-5)
    assert out.hyps == [CLASSES[i] for i in out.posteriors.argmax(axis=1)]
    assert classification_metrics(out.refs, out.hyps, CLASSES)["UA"] > _ua(labels, post) + 0.1
    assert "1 test sets of 1 splits" in capsys.readouterr().out


def test_the_tool_refuses_a_split_without_scores_in_one_line(tmp_path, capsys):
    (tmp_path / "exp/from_a").mkdir(parents=True)
    assert main(["--method", "em", str(tmp_path / "exp"), str(tmp_path / "out"), "from_a"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("adapt_priors: error:") and "no scored test sets" in err and "\n" not in err
