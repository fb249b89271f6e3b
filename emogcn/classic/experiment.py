"""One SVM experiment: select on the training speakers, refit on all of them, predict test sets.

    exp-dir/classes.txt                      the class order (the p_ columns)
    exp-dir/scores/<set>/predictions.tsv     what emogcn/inference/infer.py writes for a network: utt,
                                             reference, hypothesis, p_<class>..., then corpus and
                                             lang where the data has utt2corpus / utt2lang
    exp-dir/inner/predictions.tsv            the training utterances, each predicted by the chosen
                                             setting fitted without its speaker (the inner fold that
                                             held it out): utt, reference, hypothesis; what a
                                             confusion graph is built from
    exp-dir/svm.yaml                         what it was made from (config, inputs), the normalisation, the
                                             inner folds' speakers, every grid point's inner-CV UA,
                                             the chosen setting
    exp-dir/.done                            written last: what the experiment was made from (config,
                                             the ids of its training and test data; emogcn/provenance.py)
    exp-dir/scores/<set>/.done               the same for each set's predictions, with the labels that
                                             RESULTS.md rows take (model svm, front-end, normalisation)

The p_ columns are a softmax of the SVC's one-vs-rest decision function (emogcn/classic/kernels.py):
scores ranked like the classifier's decision and summing to 1, NOT calibrated probabilities
(scikit-learn's probability=True would fit Platt scaling by its own, speaker-blind, internal
cross-validation). Scoring reads only the hypothesis column, which is the top-scoring class.

Several training directories (a fold's train and dev) are combined in memory: the SVM selects by
inner cross-validation and needs no dev set. Global normalisation uses one set of statistics for
every set, by default the cmvn_global.scp of the FIRST training directory (the fold's training
set, the statistics the networks of that fold normalise train, dev and test with).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from emogcn import provenance as pv
from emogcn.atomic import atomic_open, write_text
from emogcn.classic.config import SvmConfig
from emogcn.classic.data import FunctionalSet, combine, load_data_dir, load_functionals, training_classes
from emogcn.classic.kernels import GridPoint, class_scores, cross_kernel, fit_svc, import_svc, resolve_gamma, softmax
from emogcn.classic.selection import Selection, select_model
from emogcn.config import to_dict
from emogcn.data.cmvn import Cmvn, load_global_stats
from emogcn.data.confound import resolve_cmvn
from emogcn.data.datadir import read_map
from emogcn.log import get_logger
from emogcn.scoring.report import read_classes

logger = get_logger(__name__)

INNER_PREDICTIONS = "inner/predictions.tsv"

NORMALISATION = {
    "speaker": "per-speaker mean and variance normalisation, each set with its own cmvn.scp (uses the test "
               "speakers' unlabelled features)",
    "corpus": "per-corpus mean and variance normalisation, each set with the statistics of its own utterances "
              "of each corpus (uses the test corpus's unlabelled features)",
    "global": "mean and variance normalisation with the training set's global statistics",
    "none": "none",
}


def _made_from(cfg: SvmConfig, train_dirs: Sequence[Path], tests: Sequence[tuple[str, Path]],
               classes_file: Path | None, global_stats: Path | None) -> dict:
    """What an experiment is made from: its config and the ids of every data directory it reads."""
    inputs = {f"train{i + 1}": pv.data_id(d) for i, d in enumerate(train_dirs)}
    inputs.update({f"test_{name}": pv.data_id(d) for name, d in tests})
    options = {"classes_file": str(classes_file) if classes_file else None,
               "global_stats": str(global_stats) if global_stats else None}
    return pv.made_from({"svm": to_dict(cfg)}, options, inputs)


def _finished(exp_dir: Path, made: dict) -> bool:
    """True when exp_dir is done from the same config and data; an error when done otherwise."""
    status = pv.check(exp_dir / ".done", made, what=str(exp_dir), redo_on_new_inputs=False,
                      ways="give the new one another experiment directory, or remove it to redo it")
    if status.done:
        logger.info("%s is already done with this config and data; remove it to redo it", exp_dir)
    return status.done


def write_predictions(path: Path, data: FunctionalSet, hyps: np.ndarray, probs: np.ndarray | None = None) -> None:
    """predictions.tsv in emogcn/inference/infer.py's layout (p_ to 6 decimals, rows sorted by utt);
    without `probs`, no p_ columns (the inner folds' predictions: a hypothesis per utterance)."""
    classes = data.classes
    header = (["utt", "reference", "hypothesis"] + ([f"p_{c}" for c in classes] if probs is not None else [])
              + list(data.extra))
    rows = []
    for i, utt in enumerate(data.utts):
        scores = [f"{v:.6f}" for v in probs[i].tolist()] if probs is not None else []
        rows.append([utt, classes[data.labels[i]], classes[int(hyps[i])]] + scores
                    + [data.extra[col][i] for col in data.extra])
    rows.sort(key=lambda r: r[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        f.write("\t".join(header) + "\n")
        for fields in rows:
            f.write("\t".join(fields) + "\n")


def _scp(source: Path | None) -> str | None:
    """The cmvn_global.scp that global normalisation read (source: the scp or its data directory)."""
    if source is None:
        return None
    return str(source / "cmvn_global.scp" if source.is_dir() else source)


def _summary(made: dict, cfg: SvmConfig, train: FunctionalSet, sel: Selection, svc, gamma: float | None,
             tests: dict, global_source: Path | None) -> dict:
    best = sel.best
    return {
        "made_from": made,
        "normalisation": {"cmvn": cfg.cmvn, "description": NORMALISATION[cfg.cmvn],
                          "global_stats": _scp(global_source)},
        "classes": list(train.classes),
        "training": {"dirs": list(train.sources), "num_utts": len(train), "dim": train.dim,
                     "speakers": sorted(set(train.speakers)),
                     "class_counts": dict(zip(train.classes, train.class_counts())),
                     "dropped": dict(train.dropped)},
        "inner_cv": {
            "scheme": sel.scheme,
            "score": "UA of the held-out folds' predictions, pooled",
            "folds": [{"speakers": f.speakers, "num_utts": int(len(f.rows))} for f in sel.folds],
            "grid": [{"kernel": p.kernel, "C": p.C, "gamma": p.gamma, "inner_ua": round(ua, 6)}
                     for p, ua in zip(sel.grid, sel.inner_ua)],
            "seconds": round(sel.seconds, 2),
        },
        "chosen": {"kernel": best.kernel, "C": best.C, "gamma": best.gamma,
                   "gamma_value": gamma, "inner_ua": round(sel.inner_ua[sel.chosen], 6),
                   "num_support_vectors": int(svc.support_.size),
                   "tie_break": "linear before rbf, then the smaller C"},
        "posteriors": "p_ columns: softmax of the one-vs-rest decision function (not calibrated)",
        "test_sets": tests,
    }


def train_svm(exp_dir: Path, train_dirs: Sequence[Path], tests: Sequence[tuple[str, Path]], cfg: SvmConfig,
              classes_file: Path | None = None, global_stats: Path | None = None) -> dict | None:
    """Runs the experiment into exp_dir; returns its svm.yaml content (None when already done)."""
    import_svc()  # a missing scikit-learn fails before any work
    if cfg.cmvn == "auto":  # per-speaker statistics unless the training speakers each speak mostly one emotion
        utt2spk, utt2emo = {}, {}
        for d in train_dirs:
            utt2spk.update(read_map(Path(d) / "utt2spk"))
            utt2emo.update(read_map(Path(d) / "utt2emo"))
        mode, why = resolve_cmvn("auto", utt2spk, utt2emo)
        logger.info("%s", why)
        cfg = dataclasses.replace(cfg, cmvn=mode)
    names = [name for name, _ in tests]
    if len(set(names)) != len(names):
        raise ValueError(f"test set names must be unique, got {' '.join(names)}")
    made = _made_from(cfg, train_dirs, tests, classes_file, global_stats)
    if _finished(exp_dir, made):
        return None
    (exp_dir / ".done").unlink(missing_ok=True)
    t0 = time.time()
    # Everything is read and checked before any fit: bad input fails in seconds, not after the grid.
    train_data = [load_data_dir(d) for d in train_dirs]
    test_data = [(name, load_data_dir(d)) for name, d in tests]
    classes = read_classes(classes_file) if classes_file else training_classes(train_data, cfg.labels)
    global_source = None
    if cfg.cmvn == "global":
        global_source = global_stats or train_dirs[0]
        shared = Cmvn("global", global_stats=load_global_stats(global_source))
    cmvn_of = (lambda d: shared) if cfg.cmvn == "global" else (lambda d: Cmvn.from_data_dir(d.path, cfg.cmvn))
    train = combine([load_functionals(d, classes, cmvn_of(d)) for d in train_data])
    test_sets = [(name, load_functionals(d, classes, cmvn_of(d))) for name, d in test_data]
    missing = [c for c, n in zip(classes, train.class_counts()) if n == 0]
    if missing:
        raise ValueError(f"{', '.join(map(str, train_dirs))}: no training example of class(es) {', '.join(missing)}"
                         + (f" listed in {classes_file}" if classes_file else ""))
    for name, t in test_sets:
        if t.dim != train.dim:
            raise ValueError(f"{t.sources[0]}/feats.scp: {t.dim} features per utterance, but the training "
                             f"set has {train.dim}")
        shared_spk = sorted(set(t.speakers) & set(train.speakers))
        if shared_spk:
            logger.warning("test set %s shares %d speaker(s) with the training set (%s): not speaker-independent",
                           name, len(shared_spk), " ".join(shared_spk[:5]))
    logger.info("classes %s; training counts %s; %d training utterances of %d speakers, %d features; cmvn %s",
                " ".join(classes), " ".join(map(str, train.class_counts())), len(train), len(set(train.speakers)),
                train.dim, cfg.cmvn)

    selection = select_model(train, cfg)  # the training set only
    best: GridPoint = selection.best
    gamma = resolve_gamma(best.gamma, train.features) if best.kernel == "rbf" else None
    svc = fit_svc(cross_kernel(best, train.features, train.features, gamma), train.labels, best.C,
                  cfg.class_weight, cfg.tol)
    logger.info("refitted %s on all %d training utterances: %d support vectors", best.describe(), len(train),
                svc.support_.size)
    results = {}
    model_digest = "svm:" + hashlib.sha1(yaml.safe_dump(made, sort_keys=True).encode()).hexdigest()[:12]
    labels = {"model": "svm", "backbone": "svm", "features": pv.data_labels(train_dirs[0]).get("features", "-"),
              "cmvn": cfg.cmvn, "graph": "-", "dev": "inner"}
    for name, t in test_sets:
        probs = softmax(class_scores(svc, cross_kernel(best, t.features, train.features, gamma), len(classes)))
        path = exp_dir / "scores" / name / "predictions.tsv"
        (path.parent / ".done").unlink(missing_ok=True)
        write_predictions(path, t, probs.argmax(axis=1), probs)
        pv.write_marker(path.parent / ".done", "score", pv.made_from(inputs={"model": model_digest, "data": pv.data_id(dict(tests)[name])}),
                        {**labels, "test": name})
        correct = float(np.mean(probs.argmax(axis=1) == t.labels))
        logger.info("wrote %d predictions of %s to %s (%d utterance(s) dropped; accuracy %.2f)", len(t), name,
                    path, sum(t.dropped.values()), 100 * correct)
        results[name] = {"dir": t.sources[0], "num_utts": len(t), "dropped": dict(t.dropped),
                         "predictions": str(path)}
    # What a confusion graph is built from (graph/sources.py): every training utterance predicted by
    # the chosen setting fitted without its speaker.
    write_predictions(exp_dir / INNER_PREDICTIONS, train, selection.inner_hyps)
    summary = _summary(made, cfg, train, selection, svc, gamma, results, global_source)
    write_text(exp_dir / "classes.txt", "".join(c + "\n" for c in classes))
    write_text(exp_dir / "svm.yaml", yaml.safe_dump(summary, sort_keys=False, allow_unicode=True))
    pv.write_marker(exp_dir / ".done", "svm", made, labels, seconds=round(time.time() - t0, 1),
                    chosen=summary["chosen"])
    return summary
