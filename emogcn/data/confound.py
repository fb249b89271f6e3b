"""How far speakers and emotions are confounded in a data directory.

Per-speaker normalisation (CMVN over each speaker's utterances) assumes every speaker speaks many
emotions: it removes what is constant over a speaker's recordings. Where each speaker speaks
mostly one emotion (talk-show clips, podcasts with one clip per speaker), that constant IS the
emotion, and normalising per speaker removes it. Two measures say how uneven the spread is:

- the mutual information of speaker and label, as a share of the label's entropy
  (I(S; E) / H(E): 0 when every speaker has the corpus's class mix, 1 when the speaker decides
  the label);
- the share of speakers whose utterances cover every class.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

# Above this share of the label entropy explained by the speaker, per-speaker statistics are
# refused (the acted corpora, where each actor speaks every emotion, are below 0.05).
CONFOUND_LIMIT = 0.2


@dataclass
class Confound:
    num_speakers: int
    num_classes: int
    mutual_information: float  # bits
    label_entropy: float  # bits
    coverage: float  # share of speakers with every class

    @property
    def share(self) -> float:
        """I(S; E) / H(E), 0 for a single-class set."""
        return self.mutual_information / self.label_entropy if self.label_entropy > 0 else 0.0

    def summary(self) -> str:
        return (f"speaker-emotion confound: I(speaker; emotion) = {self.mutual_information:.3f} bits, "
                f"{100 * self.share:.1f}% of the emotion entropy ({self.label_entropy:.3f} bits); "
                f"{100 * self.coverage:.0f}% of {self.num_speakers} speakers cover all {self.num_classes} classes")


def _entropy(counts) -> float:
    total = sum(counts)
    return -sum(n / total * math.log2(n / total) for n in counts if n)


def speaker_emotion_confound(utt2spk: dict[str, str], utt2emo: dict[str, str]) -> Confound:
    """The measures over the utterances that have both a speaker and a label."""
    pairs = [(utt2spk[u], e) for u, e in utt2emo.items() if u in utt2spk]
    if not pairs:
        raise ValueError("no utterance has both a speaker and an emotion label")
    classes = Counter(e for _, e in pairs)
    per_speaker: dict[str, Counter] = {}
    for spk, emo in pairs:
        per_speaker.setdefault(spk, Counter())[emo] += 1
    h_label = _entropy(classes.values())
    n = len(pairs)
    h_label_given_spk = sum(sum(c.values()) / n * _entropy(c.values()) for c in per_speaker.values())
    covering = sum(len(c) == len(classes) for c in per_speaker.values())
    return Confound(len(per_speaker), len(classes), max(0.0, h_label - h_label_given_spk), h_label,
                    covering / len(per_speaker))


def resolve_cmvn(mode: str, utt2spk: dict[str, str], utt2emo: dict[str, str],
                 limit: float = CONFOUND_LIMIT) -> tuple[str, str]:
    """(mode, why) for a normalisation mode of a training set: `auto` is per-speaker statistics
    unless the set's speakers and emotions are confounded, then the training set's global ones;
    other modes are returned as they are."""
    if mode != "auto":
        return mode, ""
    c = speaker_emotion_confound(utt2spk, utt2emo)
    chosen = "speaker" if c.share <= limit else "global"
    return chosen, f"cmvn auto: {chosen} ({c.summary()}; per-speaker statistics up to {limit:.0%})"


def check_speaker_cmvn(confound: Confound, where: str, limit: float = CONFOUND_LIMIT) -> None:
    """Refuses per-speaker normalisation on a confounded set, saying why and how to override."""
    if confound.share > limit:
        raise ValueError(
            f"{where}: per-speaker normalisation (cmvn: speaker) on data whose speakers and emotions are "
            f"confounded ({confound.summary()}): normalising each speaker would remove the emotion. Use "
            f"--cmvn global (or none), or set cmvn_confound_limit above {confound.share:.2f} in the training "
            "config to train so anyway")
