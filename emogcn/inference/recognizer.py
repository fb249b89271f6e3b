"""EmotionRecognizer: a packaged model applied to audio files, arrays or face images.

    from emogcn import EmotionRecognizer
    r = EmotionRecognizer.from_dir("exp/model")
    r.predict("a.wav")                    # -> Prediction(label=..., probabilities={...}, valence=..., ...)
    r.predict(samples, sample_rate=8000)  # (n,) or (n, channels) float in [-1, 1], or int PCM
    r.predict_many(paths, speakers=...)   # one Prediction per input; bad inputs get `error`, never raise

Audio goes through the recipe's own stage-1 code: emogcn.features.audio (decode, mix down to
mono, resample to the front-end's rate) and emogcn.features.frontends (the packaged feature
config), then the packaged normalisation policy (emogcn.inference.normalise) and the network.
Faces go through emogcn.features.faces (the crop) and the training pipeline's ImageNet
normalisation. An input that cannot be used (unreadable, empty, too short, silent, no speech
found) gets a Prediction whose `error` names it and the reason; the others are still predicted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emogcn.features.audio import AudioError, prepare_wave, read_audio
from emogcn.features.faces import FaceError
from emogcn.features.frontends import make_extractor
from emogcn.inference.inputs import InputItem
from emogcn.inference.model import forward_batches
from emogcn.inference.normalise import NormalisationError, check_policy, normalise
from emogcn.inference.package import ModelPackage, load_package
from emogcn.inference.results import Prediction, PredictionError, Segment
from emogcn.inference.vad import VadError, VadOptions, log_fallback_once, speech_regions
from emogcn.log import get_logger

logger = get_logger(__name__)

# Inputs that may be predicted together when the policy needs no statistics across inputs: bounds
# the memory a long list takes (features are only held for one chunk).
CHUNK = 64


@dataclass
class _Unit:
    """One network input: a whole recording, one speech region of it, or one face image."""

    owner: int  # index of the input it comes from
    start: float
    end: float
    feats: np.ndarray | torch.Tensor  # (rows, dim) features, or (3, H, W) image


def _where(item) -> str:
    return item.key if isinstance(item, InputItem) else str(item)


class EmotionRecognizer:
    def __init__(self, package: ModelPackage, device: str | torch.device = "cpu", normalisation: str | None = None,
                 batch_size: int = 16, min_duration: float = 0.1, silence_db: float = -60.0):
        self.package = package
        info = package.info
        self.classes: list[str] = list(info.classes)
        self.dims: list[str] = list(info.dims)
        self.input = info.input
        self.sample_rate = info.sample_rate
        self.normalisation = normalisation or info.normalisation.default
        check_policy(self.normalisation, info.normalisation.allowed)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.min_duration = min_duration
        self.silence_db = silence_db
        self.device = torch.device(device)
        self.model = package.build_model(self.device)
        self.extractor = make_extractor(package.frontend)

    @classmethod
    def from_dir(cls, path: str | Path, device: str | torch.device | None = None, **options) -> "EmotionRecognizer":
        """A recognizer from a package directory (emogcn.bin.package); device: CUDA when
        present unless given ('cpu', 'cuda:1', ...). Options: normalisation, batch_size,
        min_duration (seconds), silence_db (peak level under which audio counts as silent)."""
        if device is None:
            device = "cuda:0" if torch.cuda.is_available() else "cpu"
        return cls(load_package(path), device=device, **options)

    # ------------------------------------------------------------------------------ public

    def predict(self, x, sample_rate: int | None = None, segment: VadOptions | None = None) -> Prediction:
        """One input (a path, or an array with its sample_rate; for face models an image path or an
        (H, W[, 3]) array); raises PredictionError when it cannot be predicted."""
        [result] = self.predict_many([x], sample_rate=sample_rate, segment=segment)
        if result.error is not None:
            raise PredictionError(result.error)
        return result

    def predict_many(self, inputs: Sequence, sample_rate: int | None = None, speakers: Sequence[str | None] | None = None,
                     segment: VadOptions | None = None, progress: bool = False) -> list[Prediction]:
        """One Prediction per input, in order; see iter_predictions."""
        return list(self.iter_predictions(inputs, sample_rate, speakers, segment, progress))

    def iter_predictions(self, inputs: Sequence, sample_rate: int | None = None,
                         speakers: Sequence[str | None] | None = None, segment: VadOptions | None = None,
                         progress: bool = False) -> Iterator[Prediction]:
        """Predictions of `inputs` (paths, InputItems, arrays) in order. `speakers` (one name or
        None per input) groups them for the `speaker` policy; `segment` cuts audio into speech
        regions first. Statistics of the `batch` and `speaker` policies span all the inputs, so
        these policies hold every input's features at once; the others go CHUNK inputs at a time."""
        if speakers is not None and len(speakers) != len(inputs):
            raise ValueError(f"{len(speakers)} speakers for {len(inputs)} inputs")
        if segment is not None:
            if self.input != "frames":
                raise ValueError("segmentation is for speech models; this one takes face images")
            log_fallback_once(segment)
        chunk = len(inputs) if self.normalisation in ("batch", "speaker") else CHUNK
        bar = _progress_bar(len(inputs), progress)
        try:
            for first in range(0, len(inputs), max(chunk, 1)):
                part = list(inputs[first:first + chunk])
                spk = list(speakers[first:first + chunk]) if speakers is not None else None
                yield from self._predict_chunk(part, sample_rate, spk, segment, bar)
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------------------------ inputs to units

    def _load_wave(self, x, sample_rate: int | None, where: str) -> np.ndarray:
        rate = self.sample_rate
        min_samples = getattr(self.extractor, "min_samples", 1)
        if isinstance(x, tuple):
            x, sample_rate = x
        if isinstance(x, np.ndarray):
            if sample_rate is None:
                raise PredictionError(f"{where}: an array of samples needs its sample_rate")
            if np.issubdtype(x.dtype, np.integer):  # PCM integers -> [-1, 1), as soundfile reads them
                x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
            wave = prepare_wave(x, int(sample_rate), rate, min_samples, where)
        else:
            wave = read_audio(x.spec if isinstance(x, InputItem) else str(x), rate, min_samples)
        seconds = wave.shape[0] / rate
        if seconds < self.min_duration:
            raise PredictionError(f"{where}: too short: {seconds:.3f} s, under the minimum of {self.min_duration:g} s")
        peak = float(np.max(np.abs(wave)))
        level = 20 * math.log10(peak) if peak > 0 else -math.inf
        if level < self.silence_db:
            raise PredictionError(f"{where}: silent: peak level {level:.1f} dBFS, under {self.silence_db:g} dBFS")
        return wave

    def _features(self, wave: np.ndarray, where: str) -> np.ndarray:
        try:
            feats = self.extractor(wave)
        except ValueError as e:
            raise PredictionError(f"{where}: {' '.join(str(e).split())}") from None
        if not np.isfinite(feats).all():
            raise PredictionError(f"{where}: features hold NaN or infinite values")
        return feats

    def _audio_units(self, index: int, x, sample_rate, segment: VadOptions | None) -> tuple[list[_Unit], float]:
        where = _where(x)
        wave = self._load_wave(x, sample_rate, where)
        rate = self.sample_rate
        duration = wave.shape[0] / rate
        if segment is None:
            return [_Unit(index, 0.0, duration, self._features(wave, where))], duration
        try:
            regions, method = speech_regions(wave, rate, segment)
        except VadError as e:
            raise PredictionError(f"{where}: {e}") from None
        min_samples = max(getattr(self.extractor, "min_samples", 1), int(self.min_duration * rate))
        units, dropped = [], 0
        for start, end in regions:
            piece = wave[int(round(start * rate)):int(round(end * rate))]
            if piece.shape[0] < min_samples:
                dropped += 1
                continue
            units.append(_Unit(index, start, end, self._features(piece, where)))
        if dropped:
            logger.info("%s: %d speech region(s) shorter than %.3f s dropped", where, dropped, min_samples / rate)
        if not units:
            raise PredictionError(f"{where}: no speech found (the {method} voice-activity detector)")
        return units, duration

    def _image_unit(self, index: int, x) -> _Unit:
        from PIL import Image

        from emogcn.data.images import crop_to_image, imagenet_normalise

        where = _where(x)
        if isinstance(x, np.ndarray):
            if x.ndim not in (2, 3) or x.size == 0:
                raise PredictionError(f"{where}: expected an image array (H, W) or (H, W, 3), got {x.shape}")
            array = x if x.dtype == np.uint8 else np.clip(x, 0, 255).astype(np.uint8)
            crop = self.extractor.crop(Image.fromarray(array).convert("RGB"), name=where)
        else:
            crop = self.extractor(x.spec if isinstance(x, InputItem) else str(x))
        return _Unit(index, 0.0, 0.0, imagenet_normalise(crop_to_image(crop, where)))

    # ------------------------------------------------------------------------------ prediction

    def _predict_chunk(self, inputs: list, sample_rate, speakers, segment, bar) -> Iterator[Prediction]:
        errors: dict[int, str] = {}
        durations: dict[int, float] = {}
        units: list[_Unit] = []
        for i, x in enumerate(inputs):
            try:
                if self.input == "image":
                    units.append(self._image_unit(i, x))
                else:
                    found, durations[i] = self._audio_units(i, x, sample_rate, segment)
                    units += found
            except (PredictionError, AudioError, FaceError) as e:
                errors[i] = " ".join(str(e).split())
            if bar is not None:
                bar.update(1)
        if self.input == "frames":
            units = self._normalise(units, speakers, inputs, errors)
        outputs = self._forward([u.feats for u in units])
        by_owner: dict[int, list[tuple[_Unit, np.ndarray, np.ndarray | None]]] = {}
        for unit, (probs, dims) in zip(units, outputs):
            by_owner.setdefault(unit.owner, []).append((unit, probs, dims))
        for i, x in enumerate(inputs):
            where = _where(x)
            if i in errors:
                logger.warning("%s", errors[i])
                yield Prediction(input=where, error=errors[i], duration=durations.get(i))
                continue
            yield self._result(where, by_owner[i], durations.get(i), segmented=segment is not None)

    def _normalise(self, units: list[_Unit], speakers, inputs, errors: dict[int, str]) -> list[_Unit]:
        policy = self.normalisation
        if policy == "speaker":
            for u in units:
                if speakers is None or speakers[u.owner] is None:
                    errors.setdefault(u.owner, f"{_where(inputs[u.owner])}: no speaker given for it, which "
                                               "speaker normalisation needs")
        if policy == "utterance":
            for u in units:
                if u.feats.shape[0] < 2:
                    errors.setdefault(u.owner, f"{_where(inputs[u.owner])}: {u.feats.shape[0]} feature row(s), "
                                               "utterance normalisation needs at least 2")
        units = [u for u in units if u.owner not in errors]
        groups = [speakers[u.owner] for u in units] if policy == "speaker" else None
        try:
            normed = normalise([u.feats for u in units], policy, self.package.global_stats, groups)
        except NormalisationError as e:
            raise ValueError(str(e)) from None
        for u, f in zip(units, normed):
            u.feats = f
        return units

    def _forward(self, items: list) -> list[tuple[np.ndarray, np.ndarray | None]]:
        return forward_batches(self.model, items, self.device, self.batch_size, image=self.input == "image")

    def _result(self, where: str, parts, duration: float | None, segmented: bool) -> Prediction:
        def dims_of(values) -> dict:
            if values is None:
                return {}
            named = dict(zip(self.dims, (float(v) for v in values)))
            return {k: named.get(k) for k in ("valence", "arousal")}

        if not segmented:
            _, probs, dims = parts[0]
            return Prediction(input=where, label=self.classes[int(np.argmax(probs))],
                              probabilities=dict(zip(self.classes, map(float, probs))), duration=duration,
                              **dims_of(dims))
        segments = []
        for unit, probs, dims in sorted(parts, key=lambda p: p[0].start):
            segments.append(Segment(start=round(unit.start, 3), end=round(unit.end, 3),
                                    label=self.classes[int(np.argmax(probs))],
                                    probabilities=dict(zip(self.classes, map(float, probs))), **dims_of(dims)))
        # the recording as a whole: the speech regions' outputs, weighted by their durations
        weights = np.array([u.end - u.start for u, _, _ in parts])
        weights = weights / weights.sum()
        probs = np.sum([w * p for w, (_, p, _) in zip(weights, parts)], axis=0)
        dims = np.sum([w * d for w, (_, _, d) in zip(weights, parts)], axis=0) if parts[0][2] is not None else None
        return Prediction(input=where, label=self.classes[int(np.argmax(probs))],
                          probabilities=dict(zip(self.classes, map(float, probs))), duration=duration,
                          segments=segments, **dims_of(dims))


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, unit="input", desc="emogcn-predict", file=sys.stderr, mininterval=1.0,
                disable=None)  # None: off when stderr is not a terminal
