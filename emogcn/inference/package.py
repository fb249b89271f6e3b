"""A self-contained model directory: everything prediction needs, nothing it must fetch.

    <package>/package.yaml     PackageInfo: classes, dimensions, input, normalisation, provenance
              model.pt         the network's state dict (torch.load(..., weights_only=True))
              config.yaml      the experiment's training config (rebuilds the network)
              frontend.yaml    the feature config that made the training features
              classes.txt      one class per line, in the order of the network's outputs
              graph/           the experiment's label graph (node features, propagation)
              cmvn_global.npy  the training set's global statistics (Kaldi layout), speech only
              upstream.pth     an SSL front-end's weights, when the front-end has any
              README.md        the model card

write_package builds it from an experiment directory (exp/<variant>_<tag>_seed<s>/fold<k>, or a
model trained on every speaker); load_package reads and checks it. Written under a temporary name
and renamed when complete, like every output of the recipe.
"""

from __future__ import annotations

import datetime
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from emogcn import __version__
from emogcn.atomic import write_text
from emogcn.config import ConfigError, dump_config, from_dict, load_config, read_yaml, to_dict
from emogcn.data.cmvn import CmvnError, accumulate_stats, load_global_stats, mean_and_scale
from emogcn.data.datadir import DataDirError, read_map
from emogcn.features.frontends import FrontendConfig, load_frontend_config
from emogcn.features.ssl import BUNDLE_PREFIX, SslConfig
from emogcn.graph.build import load_graph
from emogcn.inference.card import experiment_result, git_commit, model_card
from emogcn.inference.model import build_inference_model
from emogcn.inference.normalise import DEFAULT_FOR_SPEAKER_TRAINED, allowed_policies
from emogcn.log import get_logger
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import CHECKPOINTS, load_checkpoint

logger = get_logger(__name__)

FORMAT = 1
WEIGHTS, CONFIG, FRONTEND, CLASSES, GRAPH, STATS, INFO, CARD, UPSTREAM = (
    "model.pt", "config.yaml", "frontend.yaml", "classes.txt", "graph", "cmvn_global.npy", "package.yaml",
    "README.md", "upstream.pth")


class PackageError(ValueError):
    """A package cannot be written or read; the message names the file and the problem."""


@dataclass
class NormalisationInfo:
    trained: str = "none"  # what training normalised with: speaker | global | none
    default: str = "none"  # the policy prediction uses unless told otherwise (emogcn.inference.normalise)
    allowed: list[str] = field(default_factory=list)  # the policies this package supports
    global_stats: str = ""  # file of the training set's global statistics, "" when there is none


@dataclass
class PackageInfo:
    format: int = FORMAT
    emogcn_version: str = ""
    name: str = ""
    input: str = "frames"  # frames (speech) | image (faces)
    input_dim: int = 0  # feature dimension (3 for images)
    sample_rate: int = 0  # the front-end's rate (0 for images)
    classes: list[str] = field(default_factory=list)
    dims: list[str] = field(default_factory=list)  # dimensions the network predicts, e.g. valence, arousal
    checkpoint: str = ""  # best | last | averaged
    normalisation: NormalisationInfo = field(default_factory=NormalisationInfo)
    source: dict = field(default_factory=dict)  # provenance: experiment, fold, train_dir, commands, git commit
    metrics: dict = field(default_factory=dict)  # the experiment's RESULTS.md row, when given


@dataclass
class ModelPackage:
    """A loaded package: its description, configs, statistics and weights (on the CPU)."""

    path: Path
    info: PackageInfo
    train_config: TrainConfig
    frontend: FrontendConfig
    state: dict
    global_stats: np.ndarray | None

    def build_model(self, device: torch.device | str = "cpu") -> torch.nn.Module:
        model, classes = build_inference_model(self.train_config, self.path / GRAPH, self.info.input_dim, self.state)
        if classes != self.info.classes:
            raise PackageError(f"{self.path / GRAPH}: classes {classes} differ from package.yaml's {self.info.classes}")
        return model.to(device)


# ------------------------------------------------------------------------------------------ writing


def training_command(exp_dir: Path) -> list[str] | None:
    """The arguments of the experiment's `python -m emogcn.bin.train` (command.txt), or None."""
    path = exp_dir / "command.txt"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise PackageError(f"{path}: cannot parse the command ({e})") from None
    return words


def train_dir_of(exp_dir: Path, recipe_dir: Path) -> Path | None:
    """The training data directory named in the experiment's command.txt (<config> <train> <dev>
    <graph> <exp> are its last five arguments), relative to the recipe directory it ran from."""
    words = training_command(exp_dir)
    if not words or len(words) < 5:
        return None
    train = Path(words[-4])
    return train if train.is_absolute() else recipe_dir / train


def find_feat_config(train_dir: Path) -> Path | None:
    """The front-end config kept beside the data by steps/make_feats.sh: <dir>/conf/feats.yaml of
    the training set itself, else of the `all` set its folds were cut from (data[/<tag>]/all)."""
    candidates = [train_dir / "conf" / "feats.yaml"]
    for parent in list(train_dir.parents)[:4]:
        candidates.append(parent / "all" / "conf" / "feats.yaml")
    return next((c for c in candidates if c.is_file()), None)


def _protocol(train_dir: Path | None) -> str:
    if train_dir is None:
        return "unknown (no training data directory)"
    fold = train_dir.parent
    if fold.name.startswith("fold") and fold.name[4:].isdigit() and (fold / "test" / "utt2spk").is_file():
        num_folds = sum(1 for p in fold.parent.glob("fold*") if p.name[4:].isdigit())
        try:
            test_speakers = sorted(set(read_map(fold / "test" / "utt2spk").values()))
        except DataDirError:
            test_speakers = []
        shown = ", ".join(test_speakers[:6]) + (" ..." if len(test_speakers) > 6 else "")
        return (f"speaker-independent folds: trained on {fold.name} of {num_folds} ({train_dir.name}); "
                f"its test speakers, never seen in training: {shown or '-'}")
    return f"trained on every speaker of {train_dir} (no held-out test speakers)"


def _corpus(train_dir: Path | None) -> str:
    if train_dir is None or not (train_dir / "utt2corpus").is_file():
        return "unknown"
    return ", ".join(sorted(set(read_map(train_dir / "utt2corpus").values())))


def _global_stats(exp_dir: Path, train_dir: Path | None) -> np.ndarray | None:
    """The training set's global statistics: the experiment's own copy (cmvn global), the training
    set's cmvn_global.scp, else accumulated from its features."""
    if (exp_dir / STATS).is_file():
        return np.load(exp_dir / STATS, allow_pickle=False)
    if train_dir is None:
        return None
    if (train_dir / "cmvn_global.scp").is_file():
        return load_global_stats(train_dir)
    if (train_dir / "feats.scp").is_file():
        import kaldiio

        logger.info("%s has no cmvn_global.scp: accumulating the global statistics from its features", train_dir)
        return accumulate_stats(mat for _, mat in kaldiio.load_scp_sequential(str(train_dir / "feats.scp")))
    return None


def _frontend_text(cfg: FrontendConfig, path: Path, out: Path) -> str:
    """The front-end YAML to store; an SSL front-end's local weights are copied into the package
    (and named relative to it); a torchaudio bundle, which would be downloaded, is refused."""
    if not isinstance(cfg, SslConfig) or cfg.weights == "none":
        return path.read_text(encoding="utf-8")
    if cfg.weights.startswith(BUNDLE_PREFIX):
        raise PackageError(f"{path}: weights '{cfg.weights}' would be downloaded when the package is used; "
                           "write the front-end config with the local state-dict file (emogcn/features/ssl.py) "
                           "and pass it with --feat-config")
    weights = Path(cfg.weights)
    if not weights.is_file():
        raise PackageError(f"{path}: SSL weights file {weights} not found")
    shutil.copyfile(weights, out / UPSTREAM)
    raw = read_yaml(path)
    raw["weights"] = UPSTREAM
    return yaml.safe_dump(raw, sort_keys=False)


def _input_dim(cfg: TrainConfig, frontend: FrontendConfig, train_dir: Path | None) -> int:
    if cfg.input == "image":
        return 3
    if train_dir is not None and (train_dir / "feats.scp").is_file():
        from emogcn.training.trainer import feature_dim

        return feature_dim(train_dir)
    dim = getattr(frontend, "dim", None)
    if isinstance(dim, int):
        return dim
    raise PackageError("cannot tell the feature dimension without the training data directory (--train-dir)")


def resolve_experiment(exp: Path, fold: int | None) -> Path:
    """The experiment directory of one model: `exp` itself, or exp/fold<k>."""
    if fold is not None:
        exp = exp / f"fold{fold}"
    if not (exp / "config.yaml").is_file():
        folds = sorted(p.name for p in exp.glob("fold*") if (p / "config.yaml").is_file())
        hint = f"; it holds {', '.join(folds)}: choose one with --fold" if folds else ""
        raise PackageError(f"{exp}: not an experiment directory (no config.yaml){hint}")
    return exp


def experiment_name(exp_dir: Path) -> str:
    """The RESULTS.md name of an experiment: exp/<name>/fold<k> -> <name>."""
    return exp_dir.parent.name if exp_dir.name.startswith("fold") and exp_dir.name[4:].isdigit() else exp_dir.name


def write_package(exp_dir: Path, out_dir: Path, checkpoint: str | None = None, feat_config: Path | None = None,
                  train_dir: Path | None = None, norm_default: str | None = None, results: Path | None = None,
                  corpus: str | None = None, name: str | None = None, recipe_dir: Path = Path("."),
                  command: str = "", input_dim: int | None = None, results_name: str | None = None) -> Path:
    """Writes the package of experiment `exp_dir` to out_dir (replaced when it exists).
    `results_name`: the RESULTS.md row to report (default: the experiment's name; a final model
    trained on every speaker names the cross-validated experiment of its config). `input_dim` is
    needed only when neither the training data nor the front-end config tells it."""
    cfg = load_config(TrainConfig, exp_dir / CONFIG)
    if cfg.input == "waveform":  # a package runs a stage-1 front-end, then the model on its rows
        raise PackageError(f"{exp_dir}: its SSL upstream runs inside the model (input: waveform), which packages "
                           "do not hold yet; score it with steps/infer.sh")
    if not (exp_dir / ".done").is_file():
        raise PackageError(f"{exp_dir}: training has not finished (no .done)")
    checkpoint = checkpoint or cfg.inference_checkpoint
    if checkpoint not in CHECKPOINTS:
        raise PackageError(f"checkpoint '{checkpoint}' is not one of {', '.join(CHECKPOINTS)}")
    ckpt_path = exp_dir / "checkpoints" / f"{checkpoint}.pt"
    if not ckpt_path.is_file():
        raise PackageError(f"{ckpt_path}: no such checkpoint")
    ckpt = load_checkpoint(ckpt_path)
    if "config" in ckpt and ckpt["config"] != to_dict(cfg):
        raise PackageError(f"{ckpt_path}: was written with another config than {exp_dir / CONFIG}")
    state = ckpt["model"]

    classes = (exp_dir / CLASSES).read_text(encoding="utf-8").split()
    graph = load_graph(exp_dir / GRAPH)
    if list(graph.classes) != classes:
        raise PackageError(f"{exp_dir}: classes.txt ({classes}) differs from graph/classes.txt ({graph.classes})")

    train_dir = train_dir or train_dir_of(exp_dir, recipe_dir)
    if train_dir is not None and not train_dir.is_dir():
        logger.warning("the training data directory %s is not there: provenance and statistics without it", train_dir)
        train_dir = None
    feat_config = feat_config or (find_feat_config(train_dir) if train_dir is not None else None)
    if feat_config is None:
        raise PackageError(f"{exp_dir}: no front-end config found (looked for conf/feats.yaml beside "
                           f"{train_dir or 'the training data'}); give it with --feat-config")
    frontend = load_frontend_config(feat_config)
    is_face = frontend.type == "face"
    if is_face != (cfg.input == "image"):
        raise PackageError(f"{feat_config}: a '{frontend.type}' front-end for a model whose input is '{cfg.input}'")

    input_dim = input_dim or _input_dim(cfg, frontend, train_dir)
    model, _ = build_inference_model(cfg, exp_dir / GRAPH, input_dim, state)  # the weights must fit, now
    dims = list(graph.nodes[len(classes):])[: model.num_dims]

    trained = "none" if is_face else cfg.cmvn
    stats = None if is_face else _global_stats(exp_dir, train_dir)
    if stats is not None:
        mean_and_scale(stats)  # refuses unusable statistics here rather than at prediction
        if stats.shape[1] - 1 != input_dim:
            raise PackageError(f"global statistics of dimension {stats.shape[1] - 1}, features of {input_dim}")
    one_row = getattr(frontend, "feature_level", "") == "functionals"  # openSMILE functionals
    allowed = allowed_policies(trained, has_global=stats is not None, is_image=is_face, one_row=one_row)
    if norm_default is None:
        preferred = {"global": ["global"], "none": ["none"]}.get(trained, DEFAULT_FOR_SPEAKER_TRAINED)
        norm_default = next((p for p in preferred if p in allowed), "none")
    if norm_default not in allowed:
        raise PackageError(f"normalisation '{norm_default}' is not possible for this model (trained with "
                           f"'{trained}'); possible: {', '.join(allowed)}")

    exp_name = experiment_name(exp_dir)
    metrics = experiment_result(results, results_name or exp_name) if results is not None else {}
    words = training_command(exp_dir)
    info = PackageInfo(
        emogcn_version=__version__, name=name or exp_name, input=cfg.input, input_dim=input_dim,
        sample_rate=0 if is_face else int(frontend.sample_rate), classes=classes, dims=dims, checkpoint=checkpoint,
        normalisation=NormalisationInfo(trained=trained, default=norm_default, allowed=allowed,
                                        global_stats=STATS if stats is not None else ""),
        source={
            "experiment": str(exp_dir), "train_dir": str(train_dir) if train_dir else "-",
            "feat_config": str(feat_config), "frontend": frontend.type,
            "model": f"{cfg.model.variant} / {cfg.model.backbone}", "corpus": corpus or _corpus(train_dir),
            "protocol": _protocol(train_dir), "git_commit": git_commit(),
            "created": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": command or "-", "train_command": " ".join(shlex.quote(w) for w in words) if words else "-",
        },
        metrics=metrics,
    )

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        torch.save(state, tmp / WEIGHTS)
        dump_config(cfg, tmp / CONFIG)
        write_text(tmp / FRONTEND, _frontend_text(frontend, Path(feat_config), tmp))
        write_text(tmp / CLASSES, "".join(c + "\n" for c in classes))
        shutil.copytree(exp_dir / GRAPH, tmp / GRAPH)
        if stats is not None:
            np.save(tmp / STATS, stats)
        write_text(tmp / CARD, model_card(info, info.source["train_command"]))
        write_text(tmp / INFO, yaml.safe_dump(to_dict(info), sort_keys=False, allow_unicode=True))
        tmp.chmod(0o755)
        if out_dir.exists():  # replaced whole: a reader never sees a mix of two packages' files
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    logger.info("packaged %s (%s checkpoint, %d classes, dims %s, normalisation %s) into %s",
                exp_dir, checkpoint, len(classes), dims or "none", norm_default, out_dir)
    return out_dir


# ------------------------------------------------------------------------------------------ reading


def load_package(path: str | Path) -> ModelPackage:
    """Reads a package directory and checks that its parts agree; raises PackageError."""
    path = Path(path)
    if not (path / INFO).is_file():
        raise PackageError(f"{path}: not a model package (no {INFO}); make one with python -m emogcn.bin.package")
    try:
        info = from_dict(PackageInfo, read_yaml(path / INFO), str(path / INFO))
    except ConfigError as e:
        raise PackageError(str(e)) from None
    if info.format != FORMAT:
        raise PackageError(f"{path / INFO}: package format {info.format}, this emogcn reads {FORMAT}")
    for name in (WEIGHTS, CONFIG, FRONTEND, CLASSES, GRAPH):
        if not (path / name).exists():
            raise PackageError(f"{path}: {name} is missing")
    classes = (path / CLASSES).read_text(encoding="utf-8").split()
    if classes != info.classes:
        raise PackageError(f"{path / CLASSES}: {classes} differ from {INFO}'s classes {info.classes}")
    norm = info.normalisation
    if norm.default not in norm.allowed:
        raise PackageError(f"{path / INFO}: default normalisation '{norm.default}' is not among allowed {norm.allowed}")
    train_config = load_config(TrainConfig, path / CONFIG)
    frontend = load_frontend_config(path / FRONTEND)
    if isinstance(frontend, SslConfig) and frontend.weights not in ("none", "") \
            and not Path(frontend.weights).is_absolute():
        frontend.weights = str(path / frontend.weights)  # the package's own copy
    try:
        state = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
    except Exception as e:
        raise PackageError(f"{path / WEIGHTS}: not a loadable state dict ({type(e).__name__}: {e})") from None
    stats = None
    if norm.global_stats:
        stats = np.load(path / norm.global_stats, allow_pickle=False)
        try:
            mean_and_scale(stats)
        except CmvnError as e:
            raise PackageError(f"{path / norm.global_stats}: {e}") from None
    return ModelPackage(path, info, train_config, frontend, state, stats)
