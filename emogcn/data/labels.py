"""The shared label space (conf/emotions.yaml) and each corpus's map onto it."""

from __future__ import annotations

from pathlib import Path

from emogcn.config import ConfigError, read_yaml


def load_label_config(path: str | Path) -> dict:
    cfg = read_yaml(path)
    if not isinstance(cfg, dict) or "classes" not in cfg:
        raise ConfigError(f"{path}: expected a mapping with a 'classes' list")
    unknown = set(cfg) - {"classes", "four_class", "corpora"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    classes = set(cfg["classes"])
    for corpus, mapping in (cfg.get("corpora") or {}).items():
        for code, name in mapping.items():
            if name not in classes:
                raise ConfigError(f"{path}: corpora.{corpus}.{code} maps to '{name}', which is not in classes")
    return cfg


def load_label_set(path: str | Path) -> set[str]:
    return set(load_label_config(path)["classes"])


def corpus_label_map(path: str | Path, corpus: str) -> dict[str, str]:
    cfg = load_label_config(path)
    try:
        return dict(cfg["corpora"][corpus])
    except KeyError:
        raise ConfigError(f"{path}: no label map for corpus '{corpus}' under 'corpora'") from None


def resolve_classes(spec: str, labels_yaml: str | Path) -> list[str] | None:
    """A recipe's --classes option: 'all' (None: keep every class), 'four' (the file's four_class,
    angry/happy/neutral/sad), or a comma-separated list of shared class names."""
    if spec == "all":
        return None
    cfg = load_label_config(labels_yaml)
    if spec == "four":
        if not cfg.get("four_class"):
            raise ConfigError(f"{labels_yaml}: --classes four needs a 'four_class' list")
        return list(cfg["four_class"])
    wanted = [c.strip() for c in spec.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in cfg["classes"]]
    if not wanted or unknown:
        raise ConfigError(f"--classes '{spec}': expected all, four or a comma-separated list of classes of "
                          f"{labels_yaml}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return wanted
