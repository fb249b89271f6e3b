"""What prediction returns: one Prediction per input (with its Segments when segmented)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Segment:
    """One speech region of a segmented recording and the model's output on it."""

    start: float  # seconds from the start of the recording
    end: float
    label: str
    probabilities: dict[str, float]
    valence: float | None = None
    arousal: float | None = None


@dataclass
class Prediction:
    """The model's output on one input, or why there is none (`error`)."""

    input: str  # the path (or scp key) as given
    label: str | None = None  # the most probable class
    probabilities: dict[str, float] = field(default_factory=dict)  # class -> probability, in the model's order
    valence: float | None = None  # where the model predicts dimensions (scaled like utt2va: [-1, 1])
    arousal: float | None = None
    duration: float | None = None  # seconds of audio (None for images)
    error: str | None = None  # one line naming the input and the reason it could not be predicted
    segments: list[Segment] | None = None  # with segmentation: each speech region, in time order

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.segments is None:
            del out["segments"]
        return out


class PredictionError(ValueError):
    """An input that could not be predicted (raised by EmotionRecognizer.predict)."""
