"""What each stage's output was made from: completion markers that record their inputs.

Every stage ends by writing a marker (its `.done` file) that says what the output was made from:

    stage: features
    id: 3f9c2a1b7d4e            # new each time the stage completes
    made: 2026-12-01 20:15:03
    made_from:
      configs: {features: {type: fbank, num_mel_bins: 80, ...}}   # the content of every config read
      options: {speed_perturb: ''}                                  # options that change the output
      inputs: {data: 9a1f0c2e33b1}                                  # ids of the markers it consumed
    labels: {features: fbank}   # what results tables call it
    ...                          # anything else the stage keeps (best_epoch, ...)

Before work, a stage compares what it is asked to make with its marker (`check`):
- no marker: the stage runs;
- the same configs and options, and inputs with the same ids: done, skipped;
- other configs or options: refused with one line naming what differs and the two ways on (another
  tag, or remove the output), since the user asked for something else than what is there;
- inputs remade since (an upstream stage ran again, so its id changed): the stage runs again when
  that is cheap and loses nothing (statistics, graphs, scores), or is refused the same way
  (trained models).

A data directory that a later stage consumes carries the marker of the stage that made it, so
`data_id` can name it; a directory without one (made by hand) is named by the content of its
index files instead.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from emogcn.atomic import write_text
from emogcn.config import ConfigError, read_yaml

# Marker name of a data directory's features and normalisation (written by stage 2 into every set
# it makes, and into data/all): what training and scoring record as their data's id.
DATA_MARKER = ".cmvn.done"
FEATS_MARKER = ".feats.done"
# The index files that name a data directory without a marker (content hash).
INDEX_FILES = ("utt2spk", "utt2emo", "utt2va", "utt2lang", "utt2corpus", "feats.scp", "cmvn.scp",
               "cmvn_global.scp", "wav.scp", "img.scp")


class ProvenanceError(ValueError):
    """A stage asked to make something other than what its marker records (one line)."""


@dataclass
class Status:
    """What `check` found: `done` (skip), else the reason the stage must run (absent, inputs remade)."""

    done: bool
    reason: str = ""
    marker: dict | None = None


def new_id() -> str:
    return secrets.token_hex(6)


def now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def config_content(path: str | Path | None) -> Any:
    """A config's parsed content (comments and layout do not count); None for no config."""
    if path is None or str(path) == "":
        return None
    return read_yaml(path)


def file_digest(path: str | Path) -> str:
    """sha1 of a file's bytes, for inputs that are files rather than stage outputs (word vectors)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def read_marker(path: str | Path) -> dict | None:
    """The marker's record; None when there is none. A marker of an older emogcn (plain text,
    no record) reads as {'legacy': text}, which matches nothing."""
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        record = yaml.safe_load(text)
    except yaml.YAMLError:
        record = None
    if not isinstance(record, dict) or "made_from" not in record:
        return {"legacy": text.strip()}
    return record


def marker_id(path: str | Path) -> str | None:
    record = read_marker(path)
    return None if record is None else record.get("id", "legacy")


def data_id(data_dir: str | Path) -> str:
    """The id of a data directory: its stage marker's id, else a hash of its index files."""
    data_dir = Path(data_dir)
    for name in (DATA_MARKER, FEATS_MARKER):
        found = marker_id(data_dir / name)
        if found is not None:
            return found
    h = hashlib.sha1()
    for name in INDEX_FILES:
        p = data_dir / name
        if p.is_file():
            h.update(name.encode() + b"\0" + p.read_bytes())
    return "sha1:" + h.hexdigest()[:12]


def data_labels(data_dir: str | Path) -> dict:
    """The labels (front-end name, ...) of the stage that made a data directory, if recorded."""
    data_dir = Path(data_dir)
    for name in (DATA_MARKER, FEATS_MARKER):
        record = read_marker(data_dir / name)
        if record is not None and "labels" in record:
            return dict(record["labels"])
    return {}


def made_from(configs: dict | None = None, options: dict | None = None, inputs: dict | None = None) -> dict:
    return {"configs": dict(configs or {}), "options": dict(options or {}), "inputs": dict(inputs or {})}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


# Keys that name what a thing is come first in a list of differences (type: fbank -> mfcc).
_KIND_KEYS = ("type", "method", "variant", "backbone", "feature_set")


def differences(recorded: dict, wanted: dict) -> list[str]:
    """`key: recorded -> wanted` for every leaf that differs, keys dotted (configs.features.type)."""
    a, b = _flat(recorded), _flat(wanted)
    out = []
    for key in sorted(set(a) | set(b), key=lambda k: (k.rsplit(".", 1)[-1] not in _KIND_KEYS, k)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            out.append(f"{key}: {_short(a.get(key, '<absent>'))} -> {_short(b.get(key, '<absent>'))}")
    return out


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, (dict, list)):
        text = yaml.safe_dump(value, default_flow_style=True, width=1 << 16).strip()
    else:
        text = "null" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check(marker: str | Path, wanted: dict, *, what: str, ways: str, redo_on_new_inputs: bool = True) -> Status:
    """Compares a stage's marker with what it is asked to make (a `made_from` dict).

    Raises ProvenanceError when the configs or options differ, or the inputs were remade and
    redo_on_new_inputs is False; `what` names the output, `ways` says how on ('use another
    --feat-tag, or remove data/all/.feats.done to redo it')."""
    marker = Path(marker)
    record = read_marker(marker)
    if record is None:
        return Status(False, "not made yet")
    if "legacy" in record:
        raise ProvenanceError(f"{what}: made by an older emogcn that did not record what it was made from "
                              f"({marker}): {ways}")
    recorded = record.get("made_from") or {}
    asked = {k: wanted.get(k, {}) for k in ("configs", "options")}
    had = {k: recorded.get(k, {}) for k in ("configs", "options")}
    changed = differences(had, asked)
    if changed:
        raise ProvenanceError(f"{what}: made with other settings than this run asks for ({_listed(changed)}): {ways}")
    remade = differences(recorded.get("inputs", {}), wanted.get("inputs", {}))
    if remade:
        if not redo_on_new_inputs:
            raise ProvenanceError(f"{what}: made from inputs that have been remade since ({_listed(remade)}): {ways}")
        return Status(False, f"its inputs were remade ({_listed(remade)})", record)
    return Status(True, f"made {record.get('made', '?')}", record)


def _listed(changed: list[str], most: int = 3) -> str:
    shown = "; ".join(changed[:most])
    return shown + (f"; and {len(changed) - most} more" if len(changed) > most else "")


def write_marker(path: str | Path, stage: str, made: dict, labels: dict | None = None, **extra: Any) -> dict:
    """Writes a stage's marker (atomically) with a new id; returns the record."""
    record = {"stage": stage, "id": new_id(), "made": now(), "made_from": made}
    if labels:
        record["labels"] = dict(labels)
    record.update(extra)
    write_text(path, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
    return record


__all__ = ["ConfigError", "DATA_MARKER", "FEATS_MARKER", "ProvenanceError", "Status", "check", "config_content",
           "data_id", "data_labels", "differences", "file_digest", "made_from", "marker_id", "read_marker",
           "write_marker"]
