"""The training loop shared by every modality: epochs, dev selection, checkpoints, resumption.

An experiment directory holds everything needed to rerun, resume and trust a result:
config.yaml (the resolved config), command.txt, classes.txt, history.tsv (one row per epoch),
curves.png, checkpoints/last.pt (end of the latest finished epoch) and checkpoints/best.pt (the
best epoch on the dev metric), and a .done marker once training finished.

Resumption is exact: batches and dropout of epoch e depend only on (seed, e), and last.pt holds
the model, optimizer and scheduler state at the end of an epoch, so a run killed at any point and
resumed ends with the same weights as one never interrupted (on the same device).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emogcn import provenance as pv
from emogcn.atomic import atomic_path, write_text
from emogcn.config import dump_config, to_dict
from emogcn.data.cmvn import Cmvn, load_global_stats
from emogcn.data.confound import check_speaker_cmvn, speaker_emotion_confound
from emogcn.data.datadir import read_map
from emogcn.data.dataset import FeatureDataset, make_loader
from emogcn.graph.build import load_graph
from emogcn.log import get_logger
from emogcn.models.build import build_model
from emogcn.scoring.metrics import classification_metrics
from emogcn.training.augment import spec_augment
from emogcn.training.config import TrainConfig
from emogcn.training.losses import EmotionLoss, class_weights

logger = get_logger(__name__)

HISTORY_COLUMNS = ["epoch", "lr", "train_loss", "train_ce", "train_ccc", "dev_loss", "dev_ua", "dev_wa", "seconds"]


def select_device(gpu: int | None) -> torch.device:
    """`gpu` None picks CUDA device 0 when present; -1 forces the CPU."""
    if gpu is not None and gpu < 0:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device(f"cuda:{gpu or 0}")
    if gpu is not None:
        logger.warning("--gpu %d asked for, but CUDA is not available: training on the CPU", gpu)
    return torch.device("cpu")


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    if o.name == "adam":
        return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
    if o.name == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
    raise ValueError(f"optim.name '{o.name}' is not one of sgd, adam, adamw")


def make_scheduler(cfg: TrainConfig, optimizer) -> torch.optim.lr_scheduler.LRScheduler | None:
    s = cfg.schedule
    if s.name == "none":
        return None
    if s.name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=s.step_size, gamma=s.gamma)
    if s.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    raise ValueError(f"schedule.name '{s.name}' is not one of none, step, cosine")


CHECKPOINTS = ("best", "last", "averaged")


def check_config(cfg: TrainConfig) -> None:
    """Rejects values the dataclass types cannot catch, before any work is done."""
    if cfg.input not in ("frames", "image"):
        raise ValueError(f"input '{cfg.input}' is not one of frames, image")
    if cfg.select_metric not in ("ua", "wa", "loss"):
        raise ValueError(f"select_metric '{cfg.select_metric}' is not one of ua, wa, loss")
    if cfg.inference_checkpoint not in CHECKPOINTS:
        raise ValueError(f"inference_checkpoint '{cfg.inference_checkpoint}' is not one of {', '.join(CHECKPOINTS)}")
    if not 0 <= cfg.average_last <= cfg.epochs:
        raise ValueError(f"average_last {cfg.average_last} must lie in [0, epochs = {cfg.epochs}]")
    if cfg.inference_checkpoint == "averaged" and cfg.average_last < 1:
        raise ValueError("inference_checkpoint 'averaged' needs average_last >= 1")


def average_state_dicts(states: list[dict]) -> dict:
    """The element-wise mean of model state dicts (weights and BatchNorm statistics), as ESPnet and
    icefall average the last epochs; integer buffers (BatchNorm's batch counters) come from the last."""
    averaged = {}
    for name, last in states[-1].items():
        if last.is_floating_point():
            averaged[name] = sum(s[name].double() for s in states).div(len(states)).to(last.dtype)
        else:
            averaged[name] = last.clone()
    return averaged


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    return torch.load(path, map_location=map_location, weights_only=True)


def input_dim(cfg: TrainConfig, data_dir: Path) -> int:
    return 3 if cfg.input == "image" else feature_dim(data_dir)


def make_dataset(cfg: TrainConfig, data_dir: Path, classes: list[str], train: bool,
                 global_from: Path | None = None, cmvn: Cmvn | None = None, cache: bool | None = None):
    """The dataset of a data directory for this config: face crops (input image) or speech frames
    normalised by cmvn (default: the config's mode; global statistics from global_from, the
    training set, and speaker statistics from each set's own)."""
    cache = cfg.cache_features if cache is None else cache
    if cfg.input == "image":
        from emogcn.data.images import FaceDataset

        return FaceDataset(data_dir, classes, train=train, hflip=cfg.augment.hflip, rotation=cfg.augment.rotation,
                           cache=cache)
    if cmvn is None:
        cmvn = Cmvn.from_data_dir(data_dir, cfg.cmvn, global_from=global_from)
    return FeatureDataset(data_dir, classes, cmvn, cache=cache)


def build_experiment_model(cfg: TrainConfig, graph_dir: Path, input_dim: int) -> tuple[torch.nn.Module, list[str]]:
    graph = load_graph(graph_dir)
    num_dims = len(graph.nodes) - len(graph.classes)
    model = build_model(
        cfg.model.variant,
        cfg.model.backbone,
        input_dim=input_dim,
        num_classes=len(graph.classes),
        num_dims=num_dims,
        node_features=torch.from_numpy(graph.node_features).float(),
        propagation=torch.from_numpy(graph.propagation).float(),
        backbone_options=cfg.model.backbone_options,
        gcn_hidden=cfg.model.gcn_hidden,
        layer_sum=cfg.model.layer_sum,
    )
    return model, list(graph.classes)


@torch.no_grad()
def predict(model: torch.nn.Module, loader, device: torch.device) -> dict:
    """Runs the model over a loader; returns per-utterance indices, probabilities and dims."""
    model.eval()
    indices, probs, dims = [], [], []
    for batch in loader:
        out = model(batch["feats"].to(device), batch["lengths"].to(device))
        indices.append(batch["index"])
        probs.append(torch.softmax(out["logits"], dim=-1).cpu())
        if out.get("dims") is not None:
            dims.append(out["dims"].cpu())
    result = {"index": torch.cat(indices), "probs": torch.cat(probs)}
    result["dims"] = torch.cat(dims) if dims else None
    return result


def evaluate(model, loader, dataset: FeatureDataset, loss_fn: EmotionLoss, device) -> dict:
    model.eval()
    total, n = 0.0, 0
    refs, hyps = [], []
    with torch.no_grad():
        for batch in loader:
            out = model(batch["feats"].to(device), batch["lengths"].to(device))
            loss, _ = loss_fn(out, batch["labels"].to(device), batch["dims"].to(device), batch["dims_mask"].to(device))
            total += loss.item() * len(batch["labels"])
            n += len(batch["labels"])
            refs.extend(batch["labels"].tolist())
            hyps.extend(out["logits"].argmax(-1).cpu().tolist())
    classes = dataset.classes
    m = classification_metrics([classes[i] for i in refs], [classes[i] for i in hyps], classes)
    return {"loss": total / max(n, 1), "ua": m["UA"], "wa": m["WA"]}


def _plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax1.plot(epochs, [h["dev_loss"] for h in history], label="dev")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(epochs, [100 * h["dev_ua"] for h in history], label="dev UA")
    ax2.plot(epochs, [100 * h["dev_wa"] for h in history], label="dev WA")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("%")
    ax2.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _write_history(history: list[dict], path: Path) -> None:
    lines = ["\t".join(HISTORY_COLUMNS)]
    for h in history:
        lines.append("\t".join(f"{h[c]:.6g}" if isinstance(h[c], float) else str(h[c]) for c in HISTORY_COLUMNS))
    write_text(path, "\n".join(lines) + "\n")


def train_made_from(cfg: TrainConfig, train_dir: Path, dev_dir: Path, graph_dir: Path) -> dict:
    """What a model is made from: its resolved config and the ids of its data and graph."""
    graph = pv.marker_id(Path(graph_dir) / ".done")
    return pv.made_from({"train": to_dict(cfg)}, {}, {"train": pv.data_id(train_dir), "dev": pv.data_id(dev_dir),
                                                      "graph": graph or "none"})


def train_labels(cfg: TrainConfig, train_dir: Path, graph_dir: Path) -> dict:
    """What results tables call a model: variant, backbone, front-end, normalisation, graph, seed."""
    graph = (pv.read_marker(Path(graph_dir) / ".done") or {}).get("labels") or {}
    return {"model": cfg.model.variant, "backbone": cfg.model.backbone,
            "features": pv.data_labels(train_dir).get("features", "-"), "cmvn": cfg.cmvn,
            "graph": graph.get("graph", "-"), "seed": cfg.seed}


def train(cfg: TrainConfig, train_dir: Path, dev_dir: Path, graph_dir: Path, exp_dir: Path,
          gpu: int | None = None, resume: bool = True, stop_after_epoch: int | None = None) -> dict:
    """Trains into exp_dir and returns the best epoch's dev metrics.

    stop_after_epoch ends the run early (as if interrupted) without writing .done; tests use it.
    """
    check_config(cfg)
    made = train_made_from(cfg, train_dir, dev_dir, graph_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = exp_dir / "checkpoints"
    device = select_device(gpu)
    torch.manual_seed(cfg.seed)

    if cfg.input == "frames" and cfg.cmvn == "speaker":
        check_speaker_cmvn(speaker_emotion_confound(read_map(train_dir / "utt2spk"), read_map(train_dir / "utt2emo")),
                           str(train_dir), cfg.cmvn_confound_limit)
    model, classes = build_experiment_model(cfg, graph_dir, input_dim=input_dim(cfg, train_dir))
    train_set = make_dataset(cfg, train_dir, classes, train=True, global_from=train_dir)
    dev_set = make_dataset(cfg, dev_dir, classes, train=False, global_from=train_dir)
    counts = train_set.class_counts()
    missing = [c for c, n in zip(classes, counts) if n == 0]
    if missing:
        raise ValueError(f"{train_dir}: no training examples of class(es) {', '.join(missing)}")
    logger.info("classes %s; training counts %s; %d train / %d dev utterances on %s",
                " ".join(classes), " ".join(map(str, counts)), len(train_set), len(dev_set), device)

    model.to(device)
    weights = class_weights(counts) if cfg.class_weighting else torch.ones(len(classes))
    loss_fn = EmotionLoss(weights.to(device), lambda_dims=cfg.lambda_dims)
    optimizer = make_optimizer(cfg, model.parameters())
    scheduler = make_scheduler(cfg, optimizer)
    train_loader = make_loader(train_set, cfg.batch_size, shuffle=True, seed=cfg.seed)
    dev_loader = make_loader(dev_set, cfg.batch_size, shuffle=False)

    write_text(exp_dir / "classes.txt", "".join(c + "\n" for c in classes))
    # A copy of the graph makes the experiment self-contained: inference rebuilds the model from it.
    if (exp_dir / "graph").resolve() != graph_dir.resolve():
        shutil.copytree(graph_dir, exp_dir / "graph", dirs_exist_ok=True)
    start_epoch, history, best = 1, [], {"epoch": 0, "metric": -float("inf")}
    last = ckpt_dir / "last.pt"
    if resume and last.is_file():
        state = load_checkpoint(last, map_location=device)
        if state["config"] != to_dict(cfg):
            raise ValueError(f"{last}: was trained with another config; use a new exp dir or --resume false")
        if state.get("made_from", made) != made:
            changed = pv.differences(state["made_from"].get("inputs", {}), made["inputs"])
            raise ValueError(f"{last}: was trained on data or a graph that have been remade since "
                             f"({'; '.join(changed)}); use a new exp dir or --resume false")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        start_epoch, history, best = state["epoch"] + 1, state["history"], state["best"]
        logger.info("resuming from %s after epoch %d", last, state["epoch"])
    dump_config(cfg, exp_dir / "config.yaml")
    if cfg.input == "frames" and cfg.cmvn == "global":  # inference normalises test data with the TRAINING statistics
        np.save(exp_dir / "cmvn_global.npy", load_global_stats(train_dir))

    writer = _tensorboard(exp_dir)
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.time()
        torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout of this epoch depends only on (seed, epoch)
        train_loader.batch_sampler.set_epoch(epoch)
        model.train()
        sums = {"loss": 0.0, "ce": 0.0, "ccc": 0.0}
        seen = 0
        for batch in _progress(train_loader, f"epoch {epoch}"):
            feats = batch["feats"] if cfg.input == "image" else spec_augment(batch["feats"], batch["lengths"], cfg.augment)
            out = model(feats.to(device), batch["lengths"].to(device))
            loss, parts = loss_fn(out, batch["labels"].to(device), batch["dims"].to(device),
                                  batch["dims_mask"].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            b = len(batch["labels"])
            seen += b
            sums["loss"] += loss.item() * b
            sums["ce"] += float(parts["ce"]) * b
            sums["ccc"] += float(parts.get("ccc", 0.0)) * b
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            scheduler.step()
        dev = evaluate(model, dev_loader, dev_set, loss_fn, device)
        row = {"epoch": epoch, "lr": lr, "train_loss": sums["loss"] / seen, "train_ce": sums["ce"] / seen,
               "train_ccc": sums["ccc"] / seen, "dev_loss": dev["loss"], "dev_ua": dev["ua"], "dev_wa": dev["wa"],
               "seconds": time.time() - t0}
        history.append(row)
        metric = -dev["loss"] if cfg.select_metric == "loss" else dev[cfg.select_metric]
        improved = metric > best["metric"]
        if improved:
            best = {"epoch": epoch, "metric": metric, "dev_ua": dev["ua"], "dev_wa": dev["wa"]}
            save_checkpoint(ckpt_dir / "best.pt", {"model": model.state_dict(), "epoch": epoch,
                                                   "config": to_dict(cfg), "classes": classes})
        save_checkpoint(last, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "scheduler": scheduler.state_dict() if scheduler is not None else {},
                               "epoch": epoch, "history": history, "best": best, "config": to_dict(cfg),
                               "made_from": made})
        if epoch > cfg.epochs - cfg.average_last:  # one of the epochs to average at the end
            save_checkpoint(ckpt_dir / f"epoch{epoch}.pt", {"model": model.state_dict(), "epoch": epoch})
        _write_history(history, exp_dir / "history.tsv")
        logger.info("epoch %d/%d: lr %.2g loss %.4f (ce %.4f ccc %.4f) dev loss %.4f UA %.2f%% WA %.2f%%%s (%.1fs)",
                    epoch, cfg.epochs, lr, row["train_loss"], row["train_ce"], row["train_ccc"], dev["loss"],
                    100 * dev["ua"], 100 * dev["wa"], " *" if improved else "", row["seconds"])
        if writer is not None:
            for k in ("train_loss", "dev_loss", "dev_ua", "dev_wa", "lr"):
                writer.add_scalar(k, row[k], epoch)
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            return best
    if cfg.average_last > 0:
        epochs = range(cfg.epochs - cfg.average_last + 1, cfg.epochs + 1)
        states = [load_checkpoint(ckpt_dir / f"epoch{e}.pt")["model"] for e in epochs]
        save_checkpoint(ckpt_dir / "averaged.pt", {"model": average_state_dicts(states), "epochs": list(epochs),
                                                   "config": to_dict(cfg), "classes": classes})
        logger.info("averaged the weights of epochs %d-%d into %s", epochs[0], epochs[-1], ckpt_dir / "averaged.pt")
    if history:
        _plot_curves(history, exp_dir / "curves.png")
    if hasattr(model.backbone, "layer_weights"):  # which upstream layers the model listens to
        weights = model.backbone.layer_weights()
        write_text(exp_dir / "layer_weights.txt", "".join(f"{k + 1} {w:.4f}\n" for k, w in enumerate(weights)))
        logger.info("layer weights (last epoch): %s", " ".join(f"{w:.3f}" for w in weights))
    if writer is not None:
        writer.close()
    logger.info("best epoch %d: dev UA %.2f%%", best["epoch"], 100 * best.get("dev_ua", 0.0))
    pv.write_marker(exp_dir / ".done", "train", made, train_labels(cfg, train_dir, graph_dir), best_epoch=best["epoch"])
    return best


def feature_dim(data_dir: Path) -> int:
    """The feature dimension of a data directory (from its first feats.scp entry)."""
    import kaldiio

    first = next(iter(read_map(data_dir / "feats.scp").values()))
    return int(kaldiio.load_mat(first).shape[1])


def _progress(iterable, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but a progress bar is never worth a crash
        return iterable
    return tqdm(iterable, desc=desc, leave=False, disable=not sys.stderr.isatty(), file=sys.stderr)


def _tensorboard(exp_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(exp_dir / "tensorboard"))
