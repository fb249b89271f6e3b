"""conf/svm.yaml: the SVM baseline's grid and inner cross-validation, read strictly (SvmConfig)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emogcn.config import ConfigError, load_config
from emogcn.data.cmvn import MODES

# Kernels in order of complexity: a tie in inner-CV UA goes to the earlier one (then the smaller C).
KERNELS = ("linear", "rbf")
GAMMA_NAMES = ("scale", "auto")  # scikit-learn's: 1 / (dim * X.var()) and 1 / dim


@dataclass
class SvmConfig:
    kernels: list[str] = field(default_factory=lambda: list(KERNELS))
    c_values: list[float] = field(default_factory=lambda: [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0])
    gamma: str | float = "scale"  # rbf only: scale | auto | a positive number
    class_weight: str = "balanced"  # balanced (n / (classes * count), per fit) | none
    tol: float = 1e-3  # libsvm's stopping tolerance
    cmvn: str = "speaker"  # speaker | corpus | global | none | auto (speaker unless confounded; --cmvn overrides)
    loso_max_speakers: int = 12  # inner CV leaves one speaker out up to this many training speakers
    group_folds: int = 5  # otherwise: this many folds of whole speakers
    labels: str = "conf/emotions.yaml"  # default class order: training labels in this file's order


def check_config(cfg: SvmConfig, where: str = "svm config") -> SvmConfig:
    """Rejects values the dataclass types cannot: unknown kernels, non-positive C, and the like."""
    if not cfg.kernels:
        raise ConfigError(f"{where}: kernels is empty; choose from {', '.join(KERNELS)}")
    for k in cfg.kernels:
        if k not in KERNELS:
            raise ConfigError(f"{where}: kernel '{k}' is not one of {', '.join(KERNELS)}")
    if len(set(cfg.kernels)) != len(cfg.kernels):
        raise ConfigError(f"{where}: kernels lists a kernel twice")
    if not cfg.c_values:
        raise ConfigError(f"{where}: c_values is empty")
    values = []
    for c in cfg.c_values:
        # YAML 1.1 reads 1e-3 (no dot) as a string: say so rather than fail obscurely later.
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0:
            raise ConfigError(f"{where}: c_values: {c!r} is not a positive number (write 1.0e-3, not 1e-3)")
        values.append(float(c))
    if len(set(values)) != len(values):
        raise ConfigError(f"{where}: c_values lists a value twice")
    cfg.c_values = values
    if isinstance(cfg.gamma, str):
        if cfg.gamma not in GAMMA_NAMES:
            raise ConfigError(f"{where}: gamma '{cfg.gamma}' is not one of {', '.join(GAMMA_NAMES)} or a number")
    elif isinstance(cfg.gamma, bool) or not isinstance(cfg.gamma, (int, float)) or not cfg.gamma > 0:
        raise ConfigError(f"{where}: gamma {cfg.gamma!r} is not a positive number")
    else:
        cfg.gamma = float(cfg.gamma)
    if cfg.class_weight not in ("balanced", "none"):
        raise ConfigError(f"{where}: class_weight '{cfg.class_weight}' is not balanced or none")
    if not isinstance(cfg.tol, float) or not cfg.tol > 0:
        raise ConfigError(f"{where}: tol {cfg.tol!r} is not a positive number (write 1.0e-3, not 1e-3)")
    if cfg.cmvn not in (*MODES, "auto"):
        raise ConfigError(f"{where}: cmvn '{cfg.cmvn}' is not one of {', '.join(MODES)}, auto")
    if cfg.loso_max_speakers < 2:
        raise ConfigError(f"{where}: loso_max_speakers must be at least 2, got {cfg.loso_max_speakers}")
    if cfg.group_folds < 2:
        raise ConfigError(f"{where}: group_folds must be at least 2, got {cfg.group_folds}")
    return cfg


def load_svm_config(path: str | Path | None, overrides: dict | None = None) -> SvmConfig:
    where = str(path) if path is not None else "svm config"
    return check_config(load_config(SvmConfig, path, overrides), where)
