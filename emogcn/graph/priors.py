"""Canonical valence and arousal of emotion category names, for corpora without dimensions.

A corpus that ships only categorical labels still needs the Emotion-GCN graph, whose
dimensional nodes are tied to classes through the correlation of valence and arousal with the
class indicators. The `prior` graph gives every training utterance its class's canonical
coordinates as pseudo-dimensions, then runs the same correlation -> adjacency pipeline.

Source: the NRC Valence, Arousal, and Dominance Lexicon, version 1 —
    Saif M. Mohammad. "Obtaining Reliable Human Ratings of Valence, Arousal, and Dominance for
    20,000 English Words." Proceedings of the 56th Annual Meeting of the ACL, Melbourne, 2018.
    http://saifmohammad.com/WebPages/nrc-vad.html
Its scores come from best-worst scaling and lie in [0, 1] (0 = lowest, 1 = highest). The
figures below are the lexicon's entries (file NRC-VAD-Lexicon.txt, columns Word, Valence,
Arousal) for the category names of conf/emotions.yaml, copied to three decimals as published;
`scaled_prior` maps them to [-1, 1] with 2x - 1, the range of utt2va.
"""

from __future__ import annotations

from typing import Mapping

from emogcn.config import ConfigError

CITATION = ("NRC VAD Lexicon v1 (Mohammad, ACL 2018), valence/arousal in [0, 1], scaled to [-1, 1] "
            "by 2x - 1")

# word: (valence, arousal), as published in [0, 1].
NRC_VAD_V1: dict[str, tuple[float, float]] = {
    "neutral": (0.469, 0.184),
    "happiness": (0.960, 0.732),
    "sadness": (0.052, 0.288),
    "surprise": (0.875, 0.875),
    "fear": (0.073, 0.840),
    "disgust": (0.052, 0.775),
    "anger": (0.167, 0.865),
    "boredom": (0.167, 0.139),
    "calm": (0.875, 0.100),
    "contempt": (0.206, 0.635),
}


def scaled_prior(label: str) -> tuple[float, float] | None:
    """The published (valence, arousal) of `label` in [-1, 1], or None if the table lacks it."""
    va = NRC_VAD_V1.get(label.lower())
    if va is None:
        return None
    return (2.0 * va[0] - 1.0, 2.0 * va[1] - 1.0)


def class_priors(classes: list[str], overrides: Mapping[str, list[float]] | None = None,
                 where: str = "graph config") -> dict[str, tuple[float, float]]:
    """(valence, arousal) in [-1, 1] for each class; `overrides` (from the graph config's
    `priors:`) replace or extend the table. A class with neither is an error naming it."""
    overrides = dict(overrides or {})
    out: dict[str, tuple[float, float]] = {}
    for name, va in overrides.items():
        if not isinstance(va, (list, tuple)) or len(va) != 2:
            raise ConfigError(f"{where}: priors.{name} must be [valence, arousal], got {va!r}")
        try:
            v, a = float(va[0]), float(va[1])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: priors.{name} must be two numbers, got {va!r}") from None
        if not (-1.0 <= v <= 1.0 and -1.0 <= a <= 1.0):
            raise ConfigError(f"{where}: priors.{name} = {va!r} is outside [-1, 1]")
        out[name] = (v, a)
    for c in classes:
        if c in out:
            continue
        va = scaled_prior(c)
        if va is None:
            raise ConfigError(
                f"{where}: class '{c}' has no valence/arousal prior in the NRC VAD table "
                f"({', '.join(NRC_VAD_V1)}); add it under 'priors:' as {c}: [valence, arousal] in [-1, 1]"
            )
        out[c] = va
    return {c: out[c] for c in classes}
