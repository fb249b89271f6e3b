"""Training an experiment, shared by every modality: epochs, dev selection, checkpoints, resumption,
in one process or in torchrun's DDP processes.

An experiment directory holds everything needed to rerun, resume and trust a result:
config.yaml (the resolved config), command.txt, classes.txt, history.tsv (one row per epoch),
curves.png, checkpoints/last.pt (end of the latest finished epoch), checkpoints/best.pt (the best
epoch on the dev metric, when there is a dev set), checkpoints/averaged.pt (the mean of the last
epochs' weights, with average_last; the per-epoch copies it is made from are removed once it is
written), and .done, the record of what the model was made from.

Resumption is exact: batches and dropout of epoch e depend only on (seed, e), and last.pt holds
the model, optimizer, scheduler (and gradient scaler) state at the end of an epoch, so a run
killed at any point and resumed ends with the same weights as one never interrupted (on the same
device and number of processes).

Distributed (`run(rank, world_size)`, launched by torchrun through steps/train.sh --ngpu N): every
process builds the same model and draws the same global batches, takes its share of each
(batch_size is the GLOBAL batch), and DDP averages the gradients; dev metrics are summed over the
processes; rank 0 alone writes the experiment directory and checkpoints, and every process
resumes from the same last.pt.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from emogcn import provenance as pv
from emogcn.atomic import atomic_path, write_text
from emogcn.config import dump_config, to_dict
from emogcn.data.cmvn import MODES as CMVN_MODES, Cmvn, load_global_stats
from emogcn.data.confound import check_speaker_cmvn, resolve_cmvn, speaker_emotion_confound
from emogcn.data.dataset import FeatureDataset, make_loader
from emogcn.data.datadir import read_map
from emogcn.data.label_space import (CORPUS_CLASSES, LabelSpaceDataset, allowed_classes, classes_by_corpus,
                                     corpus_class_counts, corpus_index, write_corpus_classes)
from emogcn.graph.build import load_graph
from emogcn.log import get_logger
from emogcn.models.build import build_model
from emogcn.training.config import TrainConfig
from emogcn.training.domain import build_adversary
from emogcn.training.loop import AMP_MODES, make_amp, predict, train_one_epoch, validate
from emogcn.training.losses import EmotionLoss, class_weights, corpus_class_weights

logger = get_logger(__name__)

HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "train_ce", "train_ccc", "dev_loss", "dev_ua", "dev_wa", "seconds",
                   "data_wait")
DOMAIN_COLUMNS = ("domain_strength", "domain_loss", "domain_acc")
__all__ = ["train", "run", "predict", "select_device", "load_checkpoint", "build_experiment_model"]


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
    if cfg.input not in ("frames", "image", "waveform"):
        raise ValueError(f"input '{cfg.input}' is not one of frames, image, waveform")
    if (cfg.input == "waveform") != (cfg.upstream is not None):
        raise ValueError("input waveform needs an upstream (an SSL front-end config), and upstream needs input waveform")
    if cfg.input == "waveform" and (cfg.cmvn != "none" or cfg.model.layer_sum):
        raise ValueError("input waveform: the upstream reads raw audio and its layers are always summed; "
                         "set cmvn: none (upstream.normalize_waveform normalises the audio) and leave model.layer_sum 0")
    if cfg.input == "waveform" and cfg.augment.enabled:
        raise ValueError("input waveform: SpecAugment (augment.freq_masks, time_masks) masks stage-1 frames only")
    if cfg.crop_seconds < 0 or (cfg.crop_seconds and cfg.input != "waveform"):
        raise ValueError(f"crop_seconds {cfg.crop_seconds}: must be >= 0, and applies to input waveform only")
    if cfg.cmvn not in (*CMVN_MODES, "auto"):
        raise ValueError(f"cmvn '{cfg.cmvn}' is not one of {', '.join(CMVN_MODES)}, auto")
    if cfg.label_space not in ("corpus", "union"):
        raise ValueError(f"label_space '{cfg.label_space}' is not one of corpus, union")
    if cfg.sampling not in ("natural", "corpus"):
        raise ValueError(f"sampling '{cfg.sampling}' is not one of natural, corpus")
    if cfg.select_metric not in ("ua", "wa", "loss"):
        raise ValueError(f"select_metric '{cfg.select_metric}' is not one of ua, wa, loss")
    if cfg.inference_checkpoint not in CHECKPOINTS:
        raise ValueError(f"inference_checkpoint '{cfg.inference_checkpoint}' is not one of {', '.join(CHECKPOINTS)}")
    if not 0 <= cfg.average_last <= cfg.epochs:
        raise ValueError(f"average_last {cfg.average_last} must lie in [0, epochs = {cfg.epochs}]")
    if cfg.inference_checkpoint == "averaged" and cfg.average_last < 1:
        raise ValueError("inference_checkpoint 'averaged' needs average_last >= 1")
    if cfg.amp not in AMP_MODES:
        raise ValueError(f"amp '{cfg.amp}' is not one of {', '.join(AMP_MODES)}")
    if cfg.num_workers < 0 or cfg.max_frames < 0 or cfg.cache_mb < 0:
        raise ValueError("num_workers, max_frames and cache_mb must be >= 0")
    if cfg.domain_adversarial.weight < 0 or cfg.domain_adversarial.hidden < 1:
        raise ValueError(f"domain_adversarial: weight {cfg.domain_adversarial.weight} must be >= 0 and hidden "
                         f"{cfg.domain_adversarial.hidden} >= 1")
    if cfg.augment.mixup < 0:
        raise ValueError(f"augment.mixup {cfg.augment.mixup}: the Beta distribution's alpha must be >= 0 (0: off)")
    if cfg.augment.mixup > 0 and cfg.domain_adversarial.weight > 0:
        raise ValueError("augment.mixup with domain_adversarial: a mixed utterance has no one corpus for the "
                         "corpus classifier; use one of them")
    if cfg.domain_adversarial.unlabelled_tests and cfg.domain_adversarial.weight == 0:
        raise ValueError("domain_adversarial.unlabelled_tests: the unlabelled sets serve the corpus classifier, "
                         "which weight 0 turns off; set a weight > 0")


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
    if cfg.input == "waveform":  # mono samples; the upstream decides the rest
        return 1
    return 3 if cfg.input == "image" else feature_dim(data_dir)


def make_dataset(cfg: TrainConfig, data_dir: Path, classes: list[str], train: bool,
                 global_from: Path | None = None, cmvn: Cmvn | None = None, cache: bool = True,
                 labelled: bool = True):
    """The dataset of a data directory for this config: face crops (input image) or speech frames
    normalised by cmvn (default: the config's mode; global statistics from global_from, the
    training set, and speaker statistics from each set's own). With `cache` (training), up to
    cfg.cache_mb MiB of features are held in memory and speech features are all read once
    first, so bad ones fail before the first step; without (one pass of prediction), neither.
    labelled False: every utterance, its label unread (speech features only)."""
    cache_mb = cfg.cache_mb if cache else 0
    if not labelled and cfg.input != "frames":
        raise ValueError(f"unlabelled sets are read for input frames (speech features), not input {cfg.input}")
    if cfg.input == "image":
        from emogcn.data.images import FaceDataset

        # crops come from one-byte compressed arks (0-255 by construction): no read-through check
        return FaceDataset(data_dir, classes, train=train, hflip=cfg.augment.hflip, rotation=cfg.augment.rotation,
                           cache_mb=cache_mb, validate=False)
    if cfg.input == "waveform":  # audio is never held in memory: a corpus too large to store would not fit
        from emogcn.data.waveform import WaveformDataset

        return WaveformDataset(data_dir, classes, cfg.upstream, crop_seconds=cfg.crop_seconds if train else 0.0)
    if cmvn is None:
        cmvn = Cmvn.from_data_dir(data_dir, cfg.cmvn, global_from=global_from)
    return FeatureDataset(data_dir, classes, cmvn, cache_mb=cache_mb, validate=cache, labelled=labelled)


def build_experiment_model(cfg: TrainConfig, graph_dir: Path, input_dim: int) -> tuple[torch.nn.Module, list[str]]:
    graph = load_graph(graph_dir)
    num_dims = len(graph.nodes) - len(graph.classes)
    layer_sum, upstream = cfg.model.layer_sum, None
    if cfg.input == "waveform":  # the backbone is built as for the upstream's layers in an ark
        from emogcn.models.upstream import load_frozen_upstream

        upstream, layers, layer_dim = load_frozen_upstream(cfg.upstream)
        input_dim, layer_sum = len(layers) * layer_dim, len(layers)
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
        layer_sum=layer_sum,
        learn_adjacency=cfg.model.learn_adjacency,
        gcn_init=cfg.model.gcn_init,
    )
    if upstream is not None:
        from emogcn.models.upstream import UpstreamLayerBackbone

        model.backbone = UpstreamLayerBackbone(model.backbone.backbone, upstream, layers,
                                               cfg.upstream.normalize_waveform)
    return model, list(graph.classes)


def _corpus_label_space(cfg: TrainConfig, classes: list[str], train_set, dev_set):
    """label_space corpus over training data of several corpora: the datasets wrapped so that each
    utterance carries its corpus's classes (and, with class_weighting, its per-corpus class weight;
    emogcn/data/label_space.py, losses.corpus_class_weights). Returns (train_set, dev_set,
    {corpus: classes} to record; {} where there is nothing to record)."""
    if cfg.label_space != "corpus":
        return train_set, dev_set, {}
    recorded = classes_by_corpus(train_set, classes)
    if len(recorded) < 2:  # one corpus (or none named) has every class: nothing to mask
        return train_set, dev_set, recorded
    weights = None
    if cfg.class_weighting:
        corpora, counts = corpus_class_counts(train_set, len(classes))
        table = corpus_class_weights(counts)
        utt2corpus = train_set.data.get("utt2corpus")
        row = {c: k for k, c in enumerate(corpora)}
        weights = torch.stack([table[row[utt2corpus[it.utt]], it.label] for it in train_set.items])
    logger.info("label space per corpus: %s", "; ".join(f"{c}: {' '.join(v)}" for c, v in recorded.items()))
    train_set = LabelSpaceDataset(train_set, allowed_classes(train_set, classes, recorded), weights)
    if dev_set is not None:
        allowed = allowed_classes(dev_set, classes, recorded)
        if allowed is not None:
            dev_set = LabelSpaceDataset(dev_set, allowed)
    return train_set, dev_set, recorded


def corpus_groups(cfg: TrainConfig, train_set, train_dir) -> list[int] | None:
    """sampling corpus: each training utterance's corpus as an integer (None for natural sampling)."""
    if cfg.sampling != "corpus":
        return None
    groups, corpora = corpus_index(train_set, train_dir, "sampling corpus")
    counts = Counter(groups)
    logger.info("sampling: each epoch %d utterances, an equal share from each of %d corpora (%s)", len(groups),
                len(corpora), ", ".join(f"{c} {counts[k]}" for k, c in enumerate(corpora)))
    return groups


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
    # the corpus adversary's columns only where it trained (training/domain.py)
    columns = HISTORY_COLUMNS + (DOMAIN_COLUMNS if history and DOMAIN_COLUMNS[0] in history[0] else ())
    lines = ["\t".join(columns)]
    for h in history:
        values = [h.get(c, float("nan")) for c in columns]  # data_wait: absent in older histories
        lines.append("\t".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values))
    write_text(path, "\n".join(lines) + "\n")


def resolve_config(cfg: TrainConfig, train_dir: Path) -> TrainConfig:
    """The config as trained: `cmvn: auto` becomes speaker or global for this training set
    (emogcn/data/confound.py), so the record, config.yaml and inference say which was used."""
    if cfg.input != "frames" or cfg.cmvn != "auto":
        return cfg
    mode, why = resolve_cmvn(cfg.cmvn, read_map(Path(train_dir) / "utt2spk"), read_map(Path(train_dir) / "utt2emo"),
                             cfg.cmvn_confound_limit)
    logger.info("%s", why)
    return dataclasses.replace(cfg, cmvn=mode)


# Keys added after models were trained: left out of the record while they do what models trained
# before them did, so those keep matching their markers (as graph/build.py's _SOURCE_KEYS). Each
# maps to when that is. gcn_init's is "original", not its default: an emotion_gcn model trained
# before the key is stale under the linear default, and is refused.
def _gcn_only(value_before):
    return lambda value, config: value == value_before or config["model"]["variant"] != "emotion_gcn"


_LATER_TRAIN_KEYS = {"model.learn_adjacency": _gcn_only(False), "model.gcn_init": _gcn_only("original"),
                     "sampling": lambda value, config: value == "natural",
                     "domain_adversarial": lambda value, config: value["weight"] == 0,
                     "domain_adversarial.unlabelled_tests": lambda value, config: value is False}


def recorded_config(config: dict) -> dict:
    """A training config (to_dict form) as records and resumed checkpoints compare it: without the
    later keys where they change nothing (a config written before a key has none to remove)."""
    record = copy.deepcopy(config)
    for key, changes_nothing in _LATER_TRAIN_KEYS.items():
        section, name = key.rpartition(".")[::2]
        holder = record.get(section, {}) if section else record
        if name in holder and changes_nothing(holder[name], record):
            del holder[name]
    return record


def uses_unlabelled(cfg: TrainConfig) -> bool:
    """Whether training reads the unlabelled sets it is given (domain_adversarial.unlabelled_tests)."""
    return cfg.domain_adversarial.weight > 0 and cfg.domain_adversarial.unlabelled_tests


def train_made_from(cfg: TrainConfig, train_dir: Path, dev_dir: Path | None, graph_dir: Path,
                    selection: str | None = None, unlabelled: list[Path] = ()) -> dict:
    """What a model is made from: its resolved config, how its epoch or settings were chosen
    (a dev speaker, none, inner folds) and the ids of its data and graph, and of the unlabelled
    sets where it reads them."""
    graph = pv.marker_id(Path(graph_dir) / ".done")
    selection = selection or ("speaker" if dev_dir is not None else "none")
    record = recorded_config(to_dict(cfg))
    inputs = {"train": pv.data_id(train_dir), "dev": pv.data_id(dev_dir) if dev_dir is not None else "none",
              "graph": graph or "none"}
    if uses_unlabelled(cfg):
        inputs.update({f"unlabelled:{Path(d).name}": pv.data_id(d) for d in unlabelled})
    return pv.made_from({"train": record}, {"dev": selection}, inputs)


def train_labels(cfg: TrainConfig, train_dir: Path, dev_dir: Path | None, graph_dir: Path) -> dict:
    """What results tables call a model: variant, backbone, front-end, normalisation, graph, model
    selection (a dev speaker, or none: the last or averaged epochs of a fixed recipe), seed."""
    graph = (pv.read_marker(Path(graph_dir) / ".done") or {}).get("labels") or {}
    features = pv.data_labels(train_dir).get("features", "-")
    if cfg.input == "waveform":  # not stage 1's features: the upstream, run in the loop (ssl_wav2vec2_base_inloop)
        features = f"ssl_{Path(cfg.upstream.weights.removeprefix('bundle:')).stem.lower()}_inloop"
    return {"model": cfg.model.variant, "backbone": cfg.model.backbone, "features": features, "cmvn": cfg.cmvn,
            "graph": graph.get("graph", "-"), "dev": "speaker" if dev_dir is not None else "none", "seed": cfg.seed}


def train(cfg: TrainConfig, train_dir: Path, dev_dir: Path | None, graph_dir: Path, exp_dir: Path,
          gpu: int | None = None, resume: bool = True, stop_after_epoch: int | None = None,
          unlabelled: list[Path] = ()) -> dict:
    """Trains into exp_dir in this process and returns the best (or last) epoch's record."""
    return run(0, 1, cfg, train_dir, dev_dir, graph_dir, exp_dir, gpu=gpu, resume=resume,
               stop_after_epoch=stop_after_epoch, unlabelled=unlabelled)


def _device_of(rank: int, world_size: int, gpu: int | None) -> torch.device:
    if world_size == 1:
        return select_device(gpu)
    if torch.cuda.is_available() and gpu != -1:  # torchrun: one GPU per process, by local rank
        return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}")
    return torch.device("cpu")


def run(rank: int, world_size: int, cfg: TrainConfig, train_dir: Path, dev_dir: Path | None, graph_dir: Path,
        exp_dir: Path, gpu: int | None = None, resume: bool = True, stop_after_epoch: int | None = None,
        record_as: TrainConfig | None = None, selection: str | None = None, extra: dict | None = None,
        unlabelled: list[Path] = ()) -> dict:
    """Trains into exp_dir as process `rank` of `world_size` (1: the whole training here; more: the
    process group is initialised already, by emogcn/bin/train.py under torchrun).

    dev_dir None trains without a dev set (a fixed recipe: the dev speaker went back into
    training); the config must then score the last or averaged epochs. stop_after_epoch ends the
    run early (as if interrupted) without writing .done; tests use it. record_as, selection and extra
    are what nested selection records instead (the config with its grid, inner, the choice).
    unlabelled: data dirs whose audio, not labels, the corpus adversary reads where the config's
    domain_adversarial.unlabelled_tests asks for them (ignored otherwise).
    """
    check_config(cfg)
    cfg = resolve_config(cfg, train_dir)
    if dev_dir is None and cfg.inference_checkpoint == "best":
        raise ValueError("no dev set: inference_checkpoint 'best' needs one to pick the epoch; use last or averaged")
    distributed = world_size > 1
    main_process = rank == 0
    made = train_made_from(resolve_config(record_as, train_dir) if record_as is not None else cfg, train_dir, dev_dir,
                           graph_dir, selection, unlabelled)
    ckpt_dir = exp_dir / "checkpoints"
    device = _device_of(rank, world_size, gpu)
    amp = make_amp(cfg.amp, device)
    torch.manual_seed(cfg.seed)

    if cfg.input == "frames" and cfg.cmvn == "speaker":
        check_speaker_cmvn(speaker_emotion_confound(read_map(train_dir / "utt2spk"), read_map(train_dir / "utt2emo")),
                           str(train_dir), cfg.cmvn_confound_limit)
    model, classes = build_experiment_model(cfg, graph_dir, input_dim=input_dim(cfg, train_dir))
    train_set = make_dataset(cfg, train_dir, classes, train=True, global_from=train_dir)
    dev_set = make_dataset(cfg, dev_dir, classes, train=False, global_from=train_dir) if dev_dir is not None else None
    counts = train_set.class_counts()
    missing = [c for c, n in zip(classes, counts) if n == 0]
    if missing:
        raise ValueError(f"{train_dir}: no training examples of class(es) {', '.join(missing)}")
    logger.info("classes %s; training counts %s; %d train / %s dev utterances on %s%s%s", " ".join(classes),
                " ".join(map(str, counts)), len(train_set), len(dev_set) if dev_set is not None else "no",
                device, f", amp {cfg.amp}" if cfg.amp != "none" else "",
                f", process {rank} of {world_size}" if distributed else "")

    model.to(device)
    core = model  # what is saved and evaluated; DDP wraps it for the training steps
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(core, device_ids=[device.index] if device.type == "cuda"
                                                          else None)
    weights = class_weights(counts) if cfg.class_weighting else torch.ones(len(classes))
    train_set, dev_set, corpus_classes = _corpus_label_space(cfg, classes, train_set, dev_set)
    loss_fn = EmotionLoss(weights.to(device), lambda_dims=cfg.lambda_dims)
    unlabelled_sets = ([(make_dataset(cfg, Path(d), classes, train=False, global_from=train_dir, labelled=False),
                         Path(d)) for d in unlabelled] if uses_unlabelled(cfg) else [])
    adversary = build_adversary(cfg.domain_adversarial, core.backbone.out_dim, train_set, train_dir, unlabelled_sets,
                                make_loader=lambda d: make_loader(d, cfg.batch_size, shuffle=True, seed=cfg.seed,
                                                                  max_frames=cfg.max_frames))
    if adversary is not None:
        if distributed:  # its weights would drift apart: they are outside the DDP-wrapped model
            raise ValueError("domain_adversarial: not supported with several processes yet; train with one")
        adversary.to(device)
    # frozen parameters (an in-loop upstream) are no optimiser's business
    optimizer = make_optimizer(cfg, [p for p in core.parameters() if p.requires_grad]
                               + (list(adversary.parameters()) if adversary is not None else []))
    scheduler = make_scheduler(cfg, optimizer)
    shard = {"rank": rank, "world_size": world_size}
    train_loader = make_loader(train_set, cfg.batch_size, shuffle=True, seed=cfg.seed, max_frames=cfg.max_frames,
                               num_workers=cfg.num_workers, groups=corpus_groups(cfg, train_set, train_dir), **shard)
    dev_loader = (make_loader(dev_set, cfg.batch_size, shuffle=False, max_frames=cfg.max_frames,
                              num_workers=cfg.num_workers, **shard) if dev_set is not None else None)

    if main_process:
        exp_dir.mkdir(parents=True, exist_ok=True)
        write_text(exp_dir / "classes.txt", "".join(c + "\n" for c in classes))
        if corpus_classes:  # what inference restricts each corpus's predictions to
            write_corpus_classes(exp_dir / CORPUS_CLASSES, corpus_classes)
        else:
            (exp_dir / CORPUS_CLASSES).unlink(missing_ok=True)
        # A copy of the graph makes the experiment self-contained: inference rebuilds the model from it.
        if (exp_dir / "graph").resolve() != graph_dir.resolve():
            shutil.copytree(graph_dir, exp_dir / "graph", dirs_exist_ok=True)
    start_epoch, history, best = 1, [], {"epoch": 0, "metric": -float("inf")}
    last = ckpt_dir / "last.pt"
    if resume and last.is_file():
        state = load_checkpoint(last, map_location=device)
        if recorded_config(state["config"]) != recorded_config(to_dict(cfg)):  # keys added since: as records
            raise ValueError(f"{last}: was trained with another config; use a new exp dir or --resume false")
        if state.get("made_from", made) != made:
            changed = pv.differences(state["made_from"].get("inputs", {}), made["inputs"])
            raise ValueError(f"{last}: was trained on data or a graph that have been remade since "
                             f"({'; '.join(changed)}); use a new exp dir or --resume false")
        if state.get("world_size", 1) != world_size:
            raise ValueError(f"{last}: was trained by {state.get('world_size', 1)} process(es), not {world_size}: "
                             "resume with the same number, or use a new exp dir")
        core.load_state_dict(state["model"])
        if adversary is not None:
            adversary.load_state_dict(state["adversary"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        if amp.scaler is not None and state.get("scaler"):
            amp.scaler.load_state_dict(state["scaler"])
        start_epoch, history, best = state["epoch"] + 1, state["history"], state["best"]
        logger.info("resuming from %s after epoch %d", last, state["epoch"])
    if main_process:
        dump_config(cfg, exp_dir / "config.yaml")
        if cfg.input == "frames" and cfg.cmvn == "global":  # inference normalises test data with the TRAINING statistics
            np.save(exp_dir / "cmvn_global.npy", load_global_stats(train_dir))

    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.time()
        torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout of this epoch depends only on (seed, epoch)
        train_loader.batch_sampler.set_epoch(epoch)
        if adversary is not None:
            adversary.start_epoch(epoch, (epoch - 1) / max(cfg.epochs - 1, 1))
        sums = train_one_epoch(model, train_loader, optimizer, loss_fn, cfg, amp, desc=f"epoch {epoch}",
                               distributed=distributed, adversary=adversary)
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            scheduler.step()
        dev = (validate(core, dev_loader, classes, loss_fn, cfg, amp, distributed) if dev_loader is not None
               else {"loss": float("nan"), "ua": float("nan"), "wa": float("nan")})
        row = {"epoch": epoch, "lr": lr, "train_loss": sums["loss"], "train_ce": sums["ce"], "train_ccc": sums["ccc"],
               "dev_loss": dev["loss"], "dev_ua": dev["ua"], "dev_wa": dev["wa"], "seconds": time.time() - t0,
               "data_wait": sums["data_wait"]}
        if adversary is not None:  # the corpus classifier: its loss and accuracy (near chance: corpora not told apart)
            row.update(domain_strength=adversary.strength, domain_loss=sums["domain"], domain_acc=sums["domain_acc"])
        history.append(row)
        if dev_loader is None:
            improved = False
            best = {"epoch": epoch, "metric": float("nan")}  # no selection: the last epoch
        else:
            metric = -dev["loss"] if cfg.select_metric == "loss" else dev[cfg.select_metric]
            improved = metric > best["metric"]
            if improved:
                best = {"epoch": epoch, "metric": metric, "dev_ua": dev["ua"], "dev_wa": dev["wa"]}
        if main_process:
            if improved:
                save_checkpoint(ckpt_dir / "best.pt", {"model": core.state_dict(), "epoch": epoch,
                                                       "config": to_dict(cfg), "classes": classes})
            save_checkpoint(last, {"model": core.state_dict(), "optimizer": optimizer.state_dict(),
                                   "scheduler": scheduler.state_dict() if scheduler is not None else {},
                                   "scaler": amp.scaler.state_dict() if amp.scaler is not None else {},
                                   "epoch": epoch, "history": history, "best": best, "config": to_dict(cfg),
                                   "made_from": made, "world_size": world_size,
                                   **({"adversary": adversary.state_dict()} if adversary is not None else {})})
            if epoch > cfg.epochs - cfg.average_last:  # one of the epochs to average at the end
                save_checkpoint(ckpt_dir / f"epoch{epoch}.pt", {"model": core.state_dict(), "epoch": epoch})
            _write_history(history, exp_dir / "history.tsv")
            dev_text = (f"dev loss {dev['loss']:.4f} UA {100 * dev['ua']:.2f}% WA {100 * dev['wa']:.2f}%"
                        if dev_loader is not None else "no dev set")
            domain_text = (f" corpus adversary {row['domain_strength']:.2f}: loss {row['domain_loss']:.4f} "
                           f"accuracy {100 * row['domain_acc']:.1f}%" if adversary is not None else "")
            logger.info("epoch %d/%d: lr %.2g loss %.4f (ce %.4f ccc %.4f)%s %s%s (%.1fs, %.1fs waiting for data)",
                        epoch, cfg.epochs, lr, row["train_loss"], row["train_ce"], row["train_ccc"], domain_text,
                        dev_text, " *" if improved else "", row["seconds"], row["data_wait"])
        if distributed:
            torch.distributed.barrier()  # no process starts the next epoch before the checkpoint is whole
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            return best
    if not main_process:
        return best
    if cfg.average_last > 0:
        _average_last_epochs(ckpt_dir, list(range(cfg.epochs - cfg.average_last + 1, cfg.epochs + 1)),
                             {"config": to_dict(cfg), "classes": classes})
    if history:
        _plot_curves(history, exp_dir / "curves.png")
    if hasattr(core.backbone, "layer_weights"):  # which upstream layers the model listens to
        weights = core.backbone.layer_weights()
        write_text(exp_dir / "layer_weights.txt", "".join(f"{k + 1} {w:.4f}\n" for k, w in enumerate(weights)))
        logger.info("layer weights (last epoch): %s", " ".join(f"{w:.3f}" for w in weights))
    if dev_loader is not None:
        logger.info("best epoch %d: dev UA %.2f%%", best["epoch"], 100 * best.get("dev_ua", 0.0))
    else:
        logger.info("trained %d epochs without a dev set; scoring uses the %s weights", cfg.epochs,
                    cfg.inference_checkpoint)
    pv.write_marker(exp_dir / ".done", "train", made,
                    {**train_labels(cfg, train_dir, dev_dir, graph_dir), "dev": made["options"]["dev"]},
                    best_epoch=best["epoch"], **(extra or {}))
    return best


def _average_last_epochs(ckpt_dir: Path, epochs: list[int], record: dict) -> None:
    """checkpoints/averaged.pt from the epoch<e>.pt of `epochs`, which are then removed: averaged.pt
    is all they were kept for, and five copies of the weights per model fill a disk over a grid of
    folds and seeds. A run resumed after they were removed (killed before its .done) keeps the
    averaged.pt it wrote."""
    averaged_path = ckpt_dir / "averaged.pt"
    epoch_paths = [ckpt_dir / f"epoch{e}.pt" for e in epochs]
    if all(path.is_file() for path in epoch_paths):
        states = [load_checkpoint(path)["model"] for path in epoch_paths]
        save_checkpoint(averaged_path, {"model": average_state_dicts(states), "epochs": epochs, **record})
        logger.info("averaged the weights of epochs %d-%d into %s", epochs[0], epochs[-1], averaged_path)
    elif not (averaged_path.is_file() and load_checkpoint(averaged_path).get("epochs") == epochs):
        missing = next(path for path in epoch_paths if not path.is_file())
        raise FileNotFoundError(f"{missing}: needed to average epochs {epochs[0]}-{epochs[-1]}, and there is "
                                f"no averaged.pt of them; train again with --resume false")
    for path in epoch_paths:
        path.unlink(missing_ok=True)


def feature_dim(data_dir: Path) -> int:
    """The feature dimension of a data directory (from its first feats.scp entry)."""
    import kaldiio

    first = next(iter(read_map(data_dir / "feats.scp").values()))
    return int(kaldiio.load_mat(first).shape[1])
