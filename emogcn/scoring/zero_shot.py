"""Zero-shot recall: a class held out of one corpus's training data, recognised on that corpus's test
set from the classifier the label GCN generates for it (learned from the corpora that do have it).

The training side is emogcn/bin/zero_shot.py (`hold-out` drops class X of corpus A from a data
directory; `run` holds out, builds the graph, trains, predicts and scores). Here: the recall of X
over A's test utterances of X, against chance, 1 / the number of classes A's predictions are made
among (inference restricts each utterance to its corpus's classes; emogcn/data/label_space.py).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from emogcn.atomic import write_text
from emogcn.scoring.report import Predictions, ScoringError, read_predictions


def zero_shot_recall(preds: Predictions, corpus: str, held_out: str,
                     corpus_classes: list[str] | None = None) -> dict:
    """{corpus, class, utterances, hits, recall, chance, corpus_classes, predicted_as} over the
    rows of `corpus` whose reference is `held_out`.

    corpus_classes: the classes the corpus's predictions are made among (default: those its rows'
    references carry, the set inference restricts to when the corpus's test data holds all of them)."""
    corpus_of = preds.extra.get("corpus")
    if corpus_of is None:
        raise ScoringError("zero-shot: the predictions have no corpus column (the data had no utt2corpus)")
    rows = [i for i, c in enumerate(corpus_of) if c == corpus]
    if not rows:
        raise ScoringError(f"zero-shot: no predictions of corpus '{corpus}'")
    own = corpus_classes or sorted({preds.refs[i] for i in rows}, key=preds.classes.index)
    if held_out not in own:
        raise ScoringError(f"zero-shot: class '{held_out}' is not among corpus {corpus}'s classes {own}")
    targets = [i for i in rows if preds.refs[i] == held_out]
    if not targets:
        raise ScoringError(f"zero-shot: corpus '{corpus}' has no test utterance of class '{held_out}'")
    hits = sum(preds.hyps[i] == held_out for i in targets)
    return {"corpus": corpus, "class": held_out, "utterances": len(targets), "hits": hits,
            "recall": hits / len(targets), "chance": 1.0 / len(own), "corpus_classes": own,
            "predicted_as": dict(sorted(Counter(preds.hyps[i] for i in targets).items()))}


def summary(result: dict) -> str:
    return (f"zero-shot recall of {result['class']} on {result['corpus']}: {100 * result['recall']:.2f}% "
            f"({result['hits']}/{result['utterances']}), chance {100 * result['chance']:.2f}% "
            f"(1/{len(result['corpus_classes'])} classes); predicted as "
            + ", ".join(f"{c} {n}" for c, n in result["predicted_as"].items()))


def score_zero_shot(predictions: str | Path, corpus: str, held_out: str, out: str | Path | None = None,
                    corpus_classes: list[str] | None = None) -> dict:
    """zero_shot_recall of a predictions.tsv; written as JSON to `out` when given."""
    result = zero_shot_recall(read_predictions(predictions), corpus, held_out, corpus_classes)
    if out is not None:
        write_text(out, json.dumps(result, indent=2) + "\n")
    return result
