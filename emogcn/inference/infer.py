"""Predictions of a trained experiment on data directories (the first half of stage 5, behind
python -m emogcn.bin.infer and steps/infer.sh).

out-dir/predictions.tsv: utt, reference, hypothesis, p_<class>..., then ref/hyp valence and
arousal when the model predicts dimensions, then corpus and lang when the data has them.
out-dir/.done records the model (its training marker), the checkpoint and the data it was made
from (emogcn/provenance.py): a set already predicted from the same is not predicted again.

label_space corpus (default: the config's label_space, corpus unless it says union) restricts
each utterance's prediction to its corpus's classes (utt2corpus): those the corpus had in training
(<exp-dir>/corpus_classes.txt) plus those its utterances in the data carry
(emogcn/data/label_space.py); the other classes get probability 0. An experiment without
corpus_classes.txt, or data without utt2corpus, is scored over every class. union: every class.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from emogcn import provenance as pv
from emogcn.atomic import atomic_open
from emogcn.config import load_config
from emogcn.data.cmvn import Cmvn
from emogcn.data.dataset import make_loader
from emogcn.data.label_space import CORPUS_CLASSES, LabelSpaceDataset, allowed_classes, read_corpus_classes
from emogcn.inference.model import build_inference_model
from emogcn.log import get_logger
from emogcn.training.config import TrainConfig
from emogcn.training.loop import predict
from emogcn.training.trainer import input_dim, load_checkpoint, make_dataset, select_device

logger = get_logger("emogcn.infer")

DIM_NAMES = ("valence", "arousal", "dominance")


def scoring_made_from(exp_dir: Path, data_dir: Path, checkpoint: str, label_space: str = "corpus") -> dict:
    """What one set's predictions are made from: the trained model, its checkpoint and the data
    (and label_space where it is union, so that records made before label spaces still match)."""
    model = pv.marker_id(exp_dir / ".done")
    if model is None:
        raise FileNotFoundError(f"{exp_dir}/.done: no finished training")
    options = {"checkpoint": checkpoint, **({"label_space": label_space} if label_space != "corpus" else {})}
    return pv.made_from(options=options, inputs={"model": model, "data": pv.data_id(data_dir)})


def infer(exp_dir: Path, sets: list[tuple[Path, Path]], gpu: int | None = None, checkpoint: str | None = None,
          label_space: str | None = None) -> list[Path]:
    """Predicts every (data_dir, out_dir) set that is not already predicted from the same model and
    data; label_space corpus|union (default: the config's; module doc)."""
    cfg = load_config(TrainConfig, exp_dir / "config.yaml")
    checkpoint = checkpoint or cfg.inference_checkpoint
    label_space = label_space or cfg.label_space
    if label_space not in ("corpus", "union"):
        raise ValueError(f"label space '{label_space}' is not one of corpus, union")
    todo = []
    for data_dir, out_dir in sets:
        made = scoring_made_from(exp_dir, data_dir, checkpoint, label_space)
        status = pv.check(out_dir / ".done", made, what=f"predictions {out_dir}", ways="")
        if status.done:
            logger.info("%s: already predicted from this model and data (%s)", out_dir, status.reason)
        else:
            todo.append((data_dir, out_dir, made))
    if not todo:
        return []
    device = select_device(gpu)
    ckpt = exp_dir / "checkpoints" / f"{checkpoint}.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no checkpoint; has training finished?")
    # built without pretrained backbone weights (nothing downloaded): the checkpoint has them all
    model, classes = build_inference_model(cfg, exp_dir / "graph", input_dim(cfg, todo[0][0]),
                                           load_checkpoint(ckpt, map_location="cpu")["model"])
    logger.info("model weights from %s", ckpt)
    model.to(device)
    cmvn = None
    if cfg.input == "frames" and cfg.cmvn == "global":  # the TRAINING statistics
        cmvn = Cmvn("global", global_stats=np.load(exp_dir / "cmvn_global.npy", allow_pickle=False))
    labels = (pv.read_marker(exp_dir / ".done") or {}).get("labels") or {}
    recorded = None  # per-corpus classes of training; None: score over every class
    if label_space == "corpus" and (exp_dir / CORPUS_CLASSES).is_file():
        recorded = read_corpus_classes(exp_dir / CORPUS_CLASSES, classes)
    written = []
    for data_dir, out_dir, made in todo:
        (out_dir / ".done").unlink(missing_ok=True)
        path = predict_set(cfg, model, classes, data_dir, out_dir, cmvn, device, recorded)
        pv.write_marker(out_dir / ".done", "score", made, labels={**labels, "test": out_dir.name})
        written.append(path)
    return written


def predict_set(cfg: TrainConfig, model, classes: list[str], data_dir: Path, out_dir: Path, cmvn, device,
                recorded: dict[str, list[str]] | None = None) -> Path:
    dataset = make_dataset(cfg, data_dir, classes, train=False, cmvn=cmvn, cache=False)
    allowed = allowed_classes(dataset, classes, recorded) if recorded is not None else None
    if allowed is not None:  # each utterance predicted among its corpus's classes
        dataset = LabelSpaceDataset(dataset, allowed)
    result = predict(model, make_loader(dataset, cfg.batch_size, shuffle=False), device)

    extra = {name: dataset.data.get(name) for name in ("utt2corpus", "utt2lang") if dataset.data.get(name)}
    num_dims = 0 if result["dims"] is None else result["dims"].shape[1]
    header = ["utt", "reference", "hypothesis"] + [f"p_{c}" for c in classes]
    header += [f"ref_{DIM_NAMES[k]}" for k in range(num_dims)] + [f"hyp_{DIM_NAMES[k]}" for k in range(num_dims)]
    header += [{"utt2corpus": "corpus", "utt2lang": "lang"}[n] for n in extra]
    rows = []
    for row, i in enumerate(result["index"].tolist()):
        item = dataset.items[i]
        probs = result["probs"][row]
        fields = [item.utt, classes[item.label], classes[int(probs.argmax())]] + [f"{p:.6f}" for p in probs.tolist()]
        if num_dims:
            ref = list(item.dims or ()) + [math.nan] * num_dims
            fields += [f"{v:.6f}" for v in ref[:num_dims]] + [f"{v:.6f}" for v in result["dims"][row].tolist()]
        fields += [m[item.utt] for m in extra.values()]
        rows.append(fields)
    rows.sort(key=lambda r: r[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "predictions.tsv"
    with atomic_open(path) as f:
        f.write("\t".join(header) + "\n")
        for fields in rows:
            f.write("\t".join(fields) + "\n")
    logger.info("wrote %d predictions to %s (%d utterance(s) dropped)", len(rows), path, dataset.num_dropped)
    return path
