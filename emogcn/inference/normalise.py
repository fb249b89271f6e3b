"""Feature normalisation at prediction time, where a speaker's other recordings may not be there.

Policies (the statistics are Kaldi-format CMVN statistics, emogcn/data/cmvn.py):
  global     the training set's global statistics, packaged with the model
  utterance  each input's own frames (needs at least two rows: not for one-row functionals)
  batch      every input of one call pooled, as if they were one speaker's
  speaker    the inputs of one call grouped by speaker (a mapping the caller gives)
  none       the features as the front-end wrote them
`global`, `utterance` and `none` need nothing but the input itself (INPUT_ONLY); a package's
default (package.yaml normalisation.default) is one of them, chosen by measuring each policy on a
finished recipe (emogcn.bin.norm_policies). A model trained without normalisation only takes
`none`; face models take `none` (their images are ImageNet-normalised inside the pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emogcn.data.cmvn import accumulate_stats, apply_cmvn

POLICIES = ("global", "utterance", "batch", "speaker", "none")
INPUT_ONLY = ("global", "utterance", "none")
# The default written into packages of speaker-normalised models: the first of these that the
# model allows. Measured with emogcn.bin.norm_policies on the mini corpus (benchmarks/README.md):
# global beat utterance statistics by 10 UA points (44.6 against 34.2; per-speaker 53.8); EmoDB is
# to be measured the same way, and a package can always be written with another --norm-default.
DEFAULT_FOR_SPEAKER_TRAINED = ("global", "utterance")


class NormalisationError(ValueError):
    """A policy that this model or this input cannot use; the message says why."""


def allowed_policies(trained: str, has_global: bool, is_image: bool = False, one_row: bool = False) -> list[str]:
    """The policies a model normalised with `trained` in training can be used with (`one_row`: its
    front-end gives one row per utterance, which utterance statistics would turn into zeros)."""
    if is_image or trained == "none":
        return ["none"]
    return [p for p in POLICIES if (p != "global" or has_global) and (p != "utterance" or not one_row)]


def check_policy(policy: str, allowed: Sequence[str]) -> None:
    if policy not in POLICIES:
        raise NormalisationError(f"normalisation '{policy}' is not one of {', '.join(POLICIES)}")
    if policy not in allowed:
        raise NormalisationError(f"normalisation '{policy}' is not possible for this model; possible: "
                                 f"{', '.join(allowed)}")


def normalise(feats: Sequence[np.ndarray], policy: str, global_stats: np.ndarray | None = None,
              groups: Sequence[str] | None = None) -> list[np.ndarray]:
    """The features of one call's inputs, normalised by `policy`; `groups` (one speaker name per
    input) for `speaker`. Float32 out, the inputs unchanged."""
    if policy == "none":
        return [np.asarray(f, dtype=np.float32) for f in feats]
    if policy == "global":
        if global_stats is None:
            raise NormalisationError("global normalisation needs the training set's statistics")
        return [apply_cmvn(np.asarray(f, dtype=np.float32), global_stats) for f in feats]
    if policy == "utterance":
        short = [i for i, f in enumerate(feats) if f.shape[0] < 2]
        if short:
            raise NormalisationError(f"utterance normalisation needs at least 2 feature rows, input {short[0]} has "
                                     f"{feats[short[0]].shape[0]}")
        return [apply_cmvn(np.asarray(f, dtype=np.float32), accumulate_stats([f])) for f in feats]
    if policy == "batch":
        groups = ["batch"] * len(feats)
    elif policy == "speaker":
        if groups is None or len(groups) != len(feats):
            raise NormalisationError("speaker normalisation needs one speaker per input")
    else:
        raise NormalisationError(f"normalisation '{policy}' is not one of {', '.join(POLICIES)}")
    stats: dict[str, np.ndarray] = {}
    for f, g in zip(feats, groups):
        stats[g] = accumulate_stats([f], stats.get(g))
    return [apply_cmvn(np.asarray(f, dtype=np.float32), stats[g]) for f, g in zip(feats, groups)]
