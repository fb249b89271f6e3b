"""Cepstral mean and variance normalisation (CMVN) with Kaldi-format statistics.

Statistics are a 2 x (D + 1) float64 matrix, as Kaldi's compute-cmvn-stats writes them:
row 0 holds the per-dimension sums and, in the last column, the frame count; row 1 holds the
per-dimension sums of squares (last column 0). Per-speaker statistics live in a data directory's
cmvn.scp (keyed by speaker), global ones in cmvn_global.scp (one key, `global`). A test set is
normalised globally with its TRAINING set's global statistics, so the global loader takes any data
directory (or scp) to read them from. Per-corpus statistics (mode `corpus`: each set normalised
with the statistics of its own utterances of each corpus, by utt2corpus) are accumulated when the
set is loaded: across corpora they are the statistics of the unlabelled test corpus, which travel
where the training corpus's do not. They are per set: a test set of one speaker (a corpus recipe's
fold) or a dev set of one speaker gets that speaker's statistics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import kaldiio
import numpy as np

from emogcn.atomic import atomic_path, repoint_scp, write_text
from emogcn.data.datadir import DataDirError, read_map
from emogcn.log import get_logger

logger = get_logger("compute_cmvn")  # the name write_cmvn's line has in the job logs

GLOBAL_KEY = "global"
MODES = ("speaker", "corpus", "global", "none")
ONE_CORPUS = "<all>"  # the group of every utterance of a set without utt2corpus
# Variances below this are floored (Kaldi floors at 1e-20): a constant dimension, such as the
# log-energy floor of digital silence, then keeps its mean removed and is not blown up by noise.
VARIANCE_FLOOR = 1e-10


class CmvnError(ValueError):
    """Unusable CMVN statistics or a missing speaker; the message names the file."""


def accumulate_stats(feats_iter: Iterable[np.ndarray], stats: np.ndarray | None = None) -> np.ndarray:
    """Adds the frames of every (frames, D) matrix to `stats` (a new 2 x (D+1) matrix if None)."""
    for feats in feats_iter:
        if feats.ndim != 2:
            raise ValueError(f"expected a (frames, dim) matrix, got shape {feats.shape}")
        if stats is None:
            stats = np.zeros((2, feats.shape[1] + 1), dtype=np.float64)
        dim = stats.shape[1] - 1
        if feats.shape[1] != dim:
            raise ValueError(f"feature dimension {feats.shape[1]} does not match the statistics' {dim}")
        x = feats.astype(np.float64, copy=False)
        stats[0, :dim] += x.sum(axis=0)
        stats[1, :dim] += np.square(x).sum(axis=0)
        stats[0, dim] += x.shape[0]
    if stats is None:
        raise ValueError("no features to accumulate statistics from")
    return stats


def mean_and_scale(stats: np.ndarray, norm_vars: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean and (with norm_vars) 1 / standard deviation from Kaldi-format statistics."""
    if stats.ndim != 2 or stats.shape[0] != 2 or stats.shape[1] < 2:
        raise CmvnError(f"CMVN statistics must be a 2 x (dim + 1) matrix, got shape {stats.shape}")
    count = stats[0, -1]
    if not count >= 1:
        raise CmvnError(f"CMVN statistics have a frame count of {count}")
    mean = stats[0, :-1] / count
    if not norm_vars:
        return mean, None
    variance = np.maximum(stats[1, :-1] / count - np.square(mean), VARIANCE_FLOOR)
    return mean, 1.0 / np.sqrt(variance)


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = True) -> np.ndarray:
    """(feats - mean) [/ std] with the mean and variance of `stats`; keeps the input's dtype."""
    return _normalise(feats, *mean_and_scale(stats, norm_vars), what="features")


def _normalise(feats: np.ndarray, mean: np.ndarray, scale: np.ndarray | None, what: str) -> np.ndarray:
    if feats.shape[-1] != mean.shape[0]:
        raise CmvnError(f"CMVN: {what} of dimension {feats.shape[-1]} but statistics of dimension {mean.shape[0]}")
    out = feats - mean
    if scale is not None:
        out = out * scale
    return out.astype(feats.dtype, copy=False)


def load_stats_scp(path: str | Path) -> dict[str, np.ndarray]:
    """Every matrix of a CMVN scp (small: one per speaker), read into memory."""
    path = Path(path)
    if not path.is_file():
        raise CmvnError(f"{path}: file not found")
    try:
        stats = {key: np.asarray(mat, dtype=np.float64) for key, mat in kaldiio.load_scp(str(path)).items()}
    except (OSError, ValueError, KeyError) as e:
        raise CmvnError(f"{path}: cannot read CMVN statistics: {e}") from None
    for key, mat in stats.items():
        try:
            mean_and_scale(mat)
        except CmvnError as e:
            raise CmvnError(f"{path}: '{key}': {e}") from None
    return stats


def load_global_stats(source: str | Path) -> np.ndarray:
    """The global statistics of a data directory (its cmvn_global.scp) or of a cmvn_global.scp."""
    source = Path(source)
    path = source / "cmvn_global.scp" if source.is_dir() else source
    stats = load_stats_scp(path)
    if list(stats) != [GLOBAL_KEY]:
        raise CmvnError(f"{path}: expected the single key '{GLOBAL_KEY}', got {', '.join(stats) or 'none'}")
    return stats[GLOBAL_KEY]


class Cmvn:
    """Normalises one utterance's features: `cmvn(utt, feats) -> feats`.

    mode 'speaker': with the statistics of the utterance's speaker (cmvn.scp + utt2spk);
    mode 'corpus': with the statistics of the set's utterances of its corpus (utt2corpus);
    mode 'global': with one set of statistics for every utterance (the training set's);
    mode 'none': features unchanged.
    """

    def __init__(self, mode: str = "none", spk_stats: dict[str, np.ndarray] | None = None,
                 utt2spk: dict[str, str] | None = None, global_stats: np.ndarray | None = None,
                 norm_vars: bool = True):
        if mode not in MODES:
            raise CmvnError(f"CMVN mode '{mode}' is not one of {', '.join(MODES)}")
        if mode in ("speaker", "corpus") and (spk_stats is None or utt2spk is None):
            raise CmvnError(f"{mode} CMVN needs per-{mode} statistics and the map of utterances to them")
        if mode == "global" and global_stats is None:
            raise CmvnError("global CMVN needs global statistics")
        self.mode = mode
        self.norm_vars = norm_vars
        self.utt2spk = utt2spk or {}  # utterance -> speaker, or corpus
        # Mean and scale once per speaker rather than once per utterance.
        self._spk = {s: mean_and_scale(st, norm_vars) for s, st in (spk_stats or {}).items()}
        self._global = mean_and_scale(global_stats, norm_vars) if global_stats is not None else None

    @classmethod
    def from_data_dir(cls, data: str | Path, mode: str, norm_vars: bool = True,
                      global_from: str | Path | None = None) -> "Cmvn":
        """CMVN for the utterances of data directory `data`.

        speaker: reads <data>/cmvn.scp and <data>/utt2spk. corpus: accumulates the statistics of
        <data>'s own features per corpus (<data>/utt2corpus; without it, one group). global: reads
        the cmvn_global.scp of `global_from` (a data directory or the scp; pass the TRAINING
        set's), else of `data`.
        """
        data = Path(data)
        if mode == "corpus":
            try:
                utts = read_map(data / "utt2spk")
                utt2corpus = read_map(data / "utt2corpus") if (data / "utt2corpus").is_file() else {}
            except DataDirError as e:
                raise CmvnError(str(e)) from None
            groups = {u: utt2corpus.get(u, ONE_CORPUS) for u in utts}
            try:
                stats = group_stats(data, groups, "corpus")
            except DataDirError as e:
                raise CmvnError(str(e)) from None
            return cls("corpus", spk_stats=stats, utt2spk=groups, norm_vars=norm_vars)
        if mode == "speaker":
            try:
                utt2spk = read_map(data / "utt2spk")
            except DataDirError as e:
                raise CmvnError(str(e)) from None
            spk_stats = load_stats_scp(data / "cmvn.scp")
            missing = sorted(set(utt2spk.values()) - set(spk_stats))
            if missing:
                raise CmvnError(f"{data}/cmvn.scp: no statistics for speaker '{missing[0]}' "
                                f"({len(missing)} missing); run steps/compute_cmvn.sh on {data}")
            return cls("speaker", spk_stats=spk_stats, utt2spk=utt2spk, norm_vars=norm_vars)
        if mode == "global":
            return cls("global", global_stats=load_global_stats(global_from or data), norm_vars=norm_vars)
        return cls(mode, norm_vars=norm_vars)

    def __call__(self, utt: str, feats: np.ndarray) -> np.ndarray:
        if self.mode == "none":
            return feats
        if self.mode == "global":
            mean, scale = self._global
        else:
            spk = self.utt2spk.get(utt)
            if spk is None or spk not in self._spk:
                raise CmvnError(f"CMVN: no {self.mode} statistics for utterance '{utt}' ({self.mode} {spk})")
            mean, scale = self._spk[spk]
        return _normalise(feats, mean, scale, what=f"'{utt}'")


def speaker_stats(data: Path) -> dict[str, np.ndarray]:
    """Per-speaker statistics from <data>/feats.scp and <data>/utt2spk."""
    return group_stats(data, read_map(data / "utt2spk"), "speaker")


def group_stats(data: Path, utt2group: dict[str, str], what: str) -> dict[str, np.ndarray]:
    """Statistics of <data>/feats.scp per group of utterances (`what`: speaker, corpus)."""
    stats: dict[str, np.ndarray] = {}
    for utt, feats in kaldiio.load_scp_sequential(str(data / "feats.scp")):
        group = utt2group.get(utt)
        if group is None:
            raise DataDirError(f"{data}/feats.scp: utterance '{utt}' is not in utt2spk")
        stats[group] = accumulate_stats([feats], stats.get(group))
    missing = sorted(set(utt2group.values()) - set(stats))
    if missing:
        raise DataDirError(f"{data}/feats.scp: no features for {what} '{missing[0]}' ({len(missing)} in all)")
    return dict(sorted(stats.items()))


def write_stats(matrices: dict[str, np.ndarray], ark: Path) -> str:
    """Writes <ark> and <ark>.scp (ark -> scp) atomically; returns the scp text (absolute paths)."""
    scp = ark.with_suffix(".scp")
    with atomic_path(ark) as tmp_ark, atomic_path(scp) as tmp_scp:
        with kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}") as writer:
            for key, mat in matrices.items():
                writer(key, mat)
        # kaldiio wrote the temporary ark's name; point the lines at the final one.
        text = repoint_scp(tmp_scp, ark)
    return text


def write_global_stats(data: str | Path, cmvn_dir: str | Path, name: str) -> np.ndarray:
    """The statistics over all of a data directory's features, as <data>/cmvn_global.scp (the ark in
    cmvn_dir); returns them."""
    data, cmvn_dir = Path(data), Path(cmvn_dir)
    total = sum(speaker_stats(data).values())
    write_text(data / "cmvn_global.scp", write_stats({GLOBAL_KEY: total}, cmvn_dir.resolve() / f"cmvn_global_{name}.ark"))
    return total


def write_cmvn(data: str | Path, cmvn_dir: str | Path, per_speaker: dict[str, np.ndarray],
               name: str | None = None) -> None:
    """Writes the per-speaker statistics `per_speaker` (speaker_stats of `data`) and their sum (key
    `global`) as <cmvn_dir>/cmvn_<name>.{ark,scp} and cmvn_global_<name>.{ark,scp}, and the same scp
    lines as <data>/cmvn_global.scp and <data>/cmvn.scp, the latter last (the job of
    steps/compute_cmvn.sh). `name` defaults to the data path with / as _."""
    data = Path(data)
    cmvn_dir = Path(os.path.abspath(cmvn_dir))
    name = name or str(data).strip("/").replace("/", "_")
    total = sum(per_speaker.values())
    cmvn_dir.mkdir(parents=True, exist_ok=True)
    global_scp = write_stats({GLOBAL_KEY: total}, cmvn_dir / f"cmvn_global_{name}.ark")
    speaker_scp = write_stats(per_speaker, cmvn_dir / f"cmvn_{name}.ark")
    write_text(data / "cmvn_global.scp", global_scp)
    write_text(data / "cmvn.scp", speaker_scp)
    frames = int(total[0, -1])
    logger.info("%s: statistics of %d speakers, %d frames of dimension %d -> %s/cmvn.scp, cmvn_global.scp",
                data, len(per_speaker), frames, total.shape[1] - 1, data)
