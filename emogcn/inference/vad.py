"""Speech regions of a long recording: Silero VAD when installed, an energy detector otherwise.

Silero VAD (the `silero-vad` package, optional extra `vad`) ships its TorchScript model inside the
wheel and runs it through torch.jit: nothing is downloaded and onnxruntime is not needed. It
takes 8 or 16 kHz audio; other rates are resampled to 16 kHz for it. The energy detector marks
25 ms frames (10 ms hop) louder than both 35 dB under the loudest frame and 10 dB over the noise
floor (the 10th percentile of frame energies), then applies the same minimum speech, minimum
silence and padding rules. Regions longer than `max_segment_s` are cut into equal pieces, so each
piece is about as long as the utterances the model was trained on.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from emogcn.features.audio import resample
from emogcn.log import get_logger

logger = get_logger(__name__)

METHODS = ("auto", "silero", "energy")


@dataclass
class VadOptions:
    method: str = "auto"  # auto: silero when installed, else energy
    threshold: float = 0.5  # silero's speech probability threshold
    min_speech_s: float = 0.25  # shorter speech regions are dropped
    min_silence_s: float = 0.3  # shorter pauses do not split a region
    pad_s: float = 0.05  # added before and after each region
    max_segment_s: float = 10.0  # longer regions are cut into equal pieces (<= 0: never)


class VadError(ValueError):
    pass


def silero_available() -> bool:
    try:
        import silero_vad  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _silero_model():
    import torch

    threads = torch.get_num_threads()
    import silero_vad  # its import sets torch's thread count to 1 for the whole process

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's and importlib.resources' deprecation notices
        model = silero_vad.load_silero_vad()  # the TorchScript model inside the wheel
    torch.set_num_threads(threads)
    return model


def silero_regions(wave: np.ndarray, rate: int, opts: VadOptions) -> list[tuple[float, float]]:
    import torch
    from silero_vad import get_speech_timestamps

    if rate not in (8000, 16000):
        wave, rate = resample(wave, rate, 16000), 16000
    threads = torch.get_num_threads()
    try:
        stamps = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), _silero_model(),
                                       threshold=opts.threshold, sampling_rate=rate,
                                       min_speech_duration_ms=int(1000 * opts.min_speech_s),
                                       min_silence_duration_ms=int(1000 * opts.min_silence_s),
                                       speech_pad_ms=int(1000 * opts.pad_s))
    finally:
        torch.set_num_threads(threads)
    return [(s["start"] / rate, s["end"] / rate) for s in stamps]


def energy_regions(wave: np.ndarray, rate: int, opts: VadOptions) -> list[tuple[float, float]]:
    wave = np.ascontiguousarray(wave, dtype=np.float32)
    frame, hop = int(0.025 * rate), int(0.010 * rate)
    if wave.shape[0] < frame:
        return []
    count = 1 + (wave.shape[0] - frame) // hop
    frames = np.lib.stride_tricks.as_strided(wave, (count, frame), (wave.strides[0] * hop, wave.strides[0]))
    energy_db = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    threshold = max(energy_db.max() - 35.0, np.percentile(energy_db, 10) + 10.0)
    speech = energy_db > threshold
    # runs of speech frames -> regions in seconds, pauses under min_silence_s closed
    edges = np.flatnonzero(np.diff(np.concatenate(([0], speech.astype(np.int8), [0]))))
    runs = [[s * hop / rate, ((e - 1) * hop + frame) / rate] for s, e in zip(edges[::2], edges[1::2])]
    merged: list[list[float]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < opts.min_silence_s:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    duration = wave.shape[0] / rate
    return [(float(max(0.0, s - opts.pad_s)), float(min(duration, e + opts.pad_s))) for s, e in merged
            if e - s >= opts.min_speech_s]


def split_long(regions: list[tuple[float, float]], max_s: float) -> list[tuple[float, float]]:
    if max_s <= 0:
        return regions
    out = []
    for start, end in regions:
        pieces = max(1, int(np.ceil((end - start) / max_s - 1e-9)))
        step = (end - start) / pieces
        out += [(start + k * step, start + (k + 1) * step) for k in range(pieces)]
    return out


def speech_regions(wave: np.ndarray, rate: int, opts: VadOptions) -> tuple[list[tuple[float, float]], str]:
    """(start, end) seconds of the speech in mono `wave`, and the detector that found them."""
    if opts.method not in METHODS:
        raise VadError(f"VAD method '{opts.method}' is not one of {', '.join(METHODS)}")
    method = opts.method
    if method == "auto":
        method = "silero" if silero_available() else "energy"
    elif method == "silero" and not silero_available():
        raise VadError("the silero VAD needs the silero-vad package: pip install 'emogcn[vad]' (or silero-vad)")
    regions = silero_regions(wave, rate, opts) if method == "silero" else energy_regions(wave, rate, opts)
    return split_long(regions, opts.max_segment_s), method


def log_fallback_once(opts: VadOptions) -> None:
    if opts.method == "auto" and not silero_available():
        logger.warning("silero-vad is not installed (pip install 'emogcn[vad]'): segmenting with the energy detector")
