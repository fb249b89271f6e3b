"""Nested selection over the training speakers (`--dev inner`): hyperparameters or epochs chosen by
inner folds, no speaker set aside.

The training speakers are dealt into `select.inner_folds` groups of whole speakers (leave one
speaker out when there are no more speakers than groups). For every candidate of `select.grid`
(dotted config keys, e.g. {epochs: [20, 40]} or {model.backbone_options.dropout: [0.3, 0.5]},
their Cartesian product), a model is trained on the other groups with no dev set, as the final
model will be, and predicts the held-out group; the candidate whose pooled held-out predictions have
the best UA (ties: the first listed) is trained again on every training speaker. Test speakers
are never seen: the inner folds come from the training directory alone, with their own label
graphs (built with the outer graph's config) and, for global normalisation, their own statistics.

    exp-dir/inner/fold<g>/{train,dev,graph,c<i>}   the inner sets, graphs and candidate models
    exp-dir/inner.yaml                             the groups, every candidate's inner UA, the choice
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import yaml

from emogcn import provenance as pv
from emogcn.atomic import write_text
from emogcn.config import from_dict, load_config, to_dict
from emogcn.data.cmvn import Cmvn, load_global_stats, write_global_stats
from emogcn.data.dataset import make_loader
from emogcn.data.datadir import read_map, source_speaker, subset_data_dir
from emogcn.graph.build import GraphConfig, build_graph, load_graph
from emogcn.log import get_logger
from emogcn.scoring.metrics import classification_metrics
from emogcn.training.config import TrainConfig
from emogcn.training.loop import predict
from emogcn.training.trainer import (build_experiment_model, input_dim, load_checkpoint, make_dataset, resolve_config,
                                     run, select_device, train_made_from)

logger = get_logger(__name__)


def grid_points(cfg: TrainConfig) -> list[tuple[dict[str, Any], TrainConfig]]:
    """Every candidate of cfg.select.grid: (its overrides, the config with them and no grid)."""
    grid = cfg.select.grid
    if not grid:
        raise ValueError("--dev inner needs candidates: select.grid in the training config, e.g. {epochs: [20, 40]}")
    base = to_dict(dataclasses.replace(cfg, select=dataclasses.replace(cfg.select, grid={})))
    points = []
    for values in itertools.product(*(grid[k] if isinstance(grid[k], list) else [grid[k]] for k in grid)):
        overrides = dict(zip(grid, values))
        point = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
        for key, value in overrides.items():
            node = point
            *parents, leaf = key.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ValueError(f"select.grid: '{key}' is not a key of the training config")
                node = node[part]
            if leaf not in node and not (len(parents) and parents[-1] == "backbone_options"):
                raise ValueError(f"select.grid: '{key}' is not a key of the training config")
            node[leaf] = value
        points.append((overrides, from_dict(TrainConfig, point, "select.grid")))
    return points


def inner_groups(speakers: list[str], folds: int) -> list[list[str]]:
    """Whole speakers dealt round-robin (sorted) into min(folds, speakers) groups."""
    if len(speakers) < 2:
        raise ValueError(f"--dev inner needs at least 2 training speakers, got {len(speakers)}")
    k = min(max(folds, 2), len(speakers))
    return [sorted(speakers)[g::k] for g in range(k)]


def _inner_sets(train_dir: Path, fold: Path, held_out: list[str], cfg: TrainConfig, graph_cfg: GraphConfig) -> None:
    """fold/{train,dev} from train_dir by speaker, the inner training set's graph and statistics."""
    if (fold / ".sets.done").is_file():
        return
    utt2spk = read_map(train_dir / "utt2spk")
    held = set(held_out)
    # a perturbed copy goes with the speaker it was made from; the held-out speakers are scored unperturbed
    subset_data_dir(train_dir, fold / "train", utts=[u for u, s in utt2spk.items() if source_speaker(s) not in held])
    subset_data_dir(train_dir, fold / "dev", utts=[u for u, s in utt2spk.items() if s in held])
    if cfg.input == "frames" and cfg.cmvn == "global":
        write_global_stats(fold / "train", fold / "cmvn", "inner_train")
    build_graph(fold / "train", fold / "graph", graph_cfg)
    write_text(fold / ".sets.done", "held out: " + " ".join(held_out) + "\n")


def _predict_inner(cfg: TrainConfig, exp: Path, data: Path, gpu: int | None) -> tuple[list[str], list[str]]:
    """References and hypotheses of an inner candidate on its held-out speakers."""
    device = select_device(gpu)
    model, classes = build_experiment_model(cfg, exp / "graph", input_dim(cfg, data))
    model.load_state_dict(load_checkpoint(exp / "checkpoints" / f"{cfg.inference_checkpoint}.pt", device)["model"])
    model.to(device)
    cmvn = None
    if cfg.input == "frames" and cfg.cmvn == "global":
        cmvn = Cmvn("global", global_stats=load_global_stats(exp.parent / "train"))
    dataset = make_dataset(cfg, data, classes, train=False, cmvn=cmvn, global_from=exp.parent / "train", cache=False)
    result = predict(model, make_loader(dataset, cfg.batch_size, shuffle=False), device)
    refs = [classes[dataset.items[i].label] for i in result["index"].tolist()]
    hyps = [classes[int(p.argmax())] for p in result["probs"]]
    return refs, hyps


def train_nested(cfg: TrainConfig, train_dir: Path, graph_dir: Path, exp_dir: Path, gpu: int | None = None,
                 resume: bool = True) -> dict:
    """Chooses among cfg.select.grid by inner folds of train_dir's speakers, then trains the chosen
    candidate on all of train_dir (no dev set) into exp_dir; returns the choice."""
    cfg = resolve_config(cfg, train_dir)
    points = grid_points(cfg)
    for overrides, point in points:
        if point.inference_checkpoint == "best":
            raise ValueError(f"--dev inner: candidate {overrides} scores its 'best' epoch, which needs a dev set; "
                             "use inference_checkpoint last or averaged")
    graph_cfg = load_config(GraphConfig, None, (load_graph(graph_dir).meta.get("config") or {}))
    speakers = sorted({source_speaker(s) for s in read_map(train_dir / "utt2spk").values()})
    groups = inner_groups(speakers, cfg.select.inner_folds)
    inner = exp_dir / "inner"
    pooled: list[tuple[list[str], list[str]]] = [([], []) for _ in points]
    for g, held_out in enumerate(groups, start=1):
        fold = inner / f"fold{g}"
        _inner_sets(train_dir, fold, held_out, cfg, graph_cfg)
        for i, (overrides, point) in enumerate(points):
            exp = fold / f"c{i + 1}"
            made = pv.check(exp / ".done", train_made_from(point, fold / "train", None, fold / "graph"), what=str(exp),
                            ways=f"remove {inner}")
            if not made.done:
                logger.info("inner fold %d of %d (held out: %s), candidate %d of %d %s", g, len(groups),
                            " ".join(held_out), i + 1, len(points), overrides)
                run(0, 1, point, fold / "train", None, fold / "graph", exp, gpu=gpu, resume=resume)
            refs, hyps = _predict_inner(point, exp, fold / "dev", gpu)
            pooled[i][0].extend(refs)
            pooled[i][1].extend(hyps)
    classes = list(load_graph(graph_dir).classes)
    scores = [classification_metrics(refs, hyps, classes)["UA"] for refs, hyps in pooled]
    best = max(range(len(points)), key=lambda i: (scores[i], -i))  # ties: the first listed
    choice = {"groups": groups, "candidates": [{"overrides": o, "inner_ua": round(float(s), 6)}
                                               for (o, _), s in zip(points, scores)],
              "chosen": points[best][0], "inner_ua": round(float(scores[best]), 6)}
    write_text(exp_dir / "inner.yaml", yaml.safe_dump(choice, sort_keys=False))
    logger.info("inner folds chose %s (inner UA %.2f%%; the others %s)", points[best][0], 100 * scores[best],
                ", ".join(f"{o}: {100 * s:.2f}%" for (o, _), s in zip(points, scores)))
    run(0, 1, points[best][1], train_dir, None, graph_dir, exp_dir, gpu=gpu, resume=resume, record_as=cfg,
        selection="inner", extra={"inner_choice": points[best][0]})
    return choice

