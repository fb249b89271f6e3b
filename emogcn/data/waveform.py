"""Raw waveforms of a data directory's wav.scp, for a model whose SSL upstream runs in the training
loop (training config `input: waveform`; emogcn/models/upstream.py).

An item is (samples (S,) float32 mono at the upstream's rate, class index, dims), read with the
recipe's own reader (emogcn/features/audio.py: pipes, resampling, mix-down) every time it is
asked for: nothing is cached, as this input exists for corpora too large to store as features.
Training may crop each utterance to a random window (`crop_seconds`), drawn from torch's random
state, which the trainer seeds per epoch (and DataLoader workers inherit), so a resumed run
crops as an uninterrupted one. Batches come from emogcn/data/dataset.py's make_loader and collate
(1-D items pad to (B, S_max) with their lengths); lengths() are the upstream's frame counts, so
`max_frames` means the same as for its features in an ark.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from emogcn.data.dataset import Utterance, label_counts
from emogcn.data.datadir import DataDir, DataDirError, ValidateOptions
from emogcn.features.audio import read_audio
from emogcn.features.ssl import SslConfig
from emogcn.log import get_logger
from emogcn.models.upstream import conv_geometry

logger = get_logger(__name__)


class WaveformDataset(torch.utils.data.Dataset):
    """Audio of one data directory, with labels in the order of `classes`; utterances of other
    labels, and those shorter than one upstream frame, are dropped, counted and logged."""

    def __init__(self, data_dir: str | Path, classes: list[str], upstream: SslConfig, crop_seconds: float = 0.0,
                 num_dims: int = 2):
        self.data = DataDir.load(data_dir, ValidateOptions())
        self.wav_scp = self.data.get("wav.scp")
        if not self.wav_scp:
            raise DataDirError(f"{data_dir}: no wav.scp (a model with input waveform reads the audio)")
        self.classes = classes
        self.num_dims = num_dims
        self.rate = upstream.sample_rate
        self.min_samples, self.hop = conv_geometry(upstream)
        self.crop = int(round(crop_seconds * self.rate))
        if 0 < self.crop < self.min_samples:
            raise ValueError(f"crop_seconds {crop_seconds}: shorter than one upstream frame "
                             f"({self.min_samples} samples at {self.rate} Hz)")
        index = {c: i for i, c in enumerate(classes)}
        utt2emo = self.data.get("utt2emo") or {}
        utt2va = self.data.get("utt2va") or {}
        utt2dur = self.data.get("utt2dur") or {}
        self.items: list[Utterance] = []
        dropped: dict[str, int] = {}
        short = []
        for utt in self.data.utts:
            label = utt2emo.get(utt)
            if label not in index:
                dropped[label] = dropped.get(label, 0) + 1
                continue
            samples = self._samples(utt, utt2dur.get(utt))
            if samples < self.min_samples:
                short.append(utt)
                continue
            dims = tuple(float(v) for v in utt2va[utt].split()[:num_dims]) if utt in utt2va else None
            self.items.append(Utterance(utt, index[label], dims, self._frames(samples)))
        for label, n in sorted(dropped.items()):
            logger.warning("%s: dropped %d utterance(s) labelled '%s', a class not in this model's classes",
                           data_dir, n, label)
        if short:
            logger.warning("%s: dropped %d utterance(s) shorter than one upstream frame (%d samples), e.g. %s",
                           data_dir, len(short), self.min_samples, short[0])
        self.num_dropped = sum(dropped.values()) + len(short)
        if not self.items:
            raise ValueError(f"{data_dir}: no utterances left with a label in {', '.join(classes)}")

    def _samples(self, utt: str, dur: str | None) -> int:
        """Samples at the upstream's rate, from utt2dur, else the file's header (reading the audio
        only for a pipe): enough to sort batches and drop what is too short, without decoding."""
        if dur is not None:
            return int(float(dur) * self.rate)
        spec = self.wav_scp[utt].strip()
        if not spec.endswith("|"):
            try:
                info = sf.info(spec)
                return math.ceil(info.frames * self.rate / info.samplerate)
            except Exception:  # unreadable here: read_audio below says why, naming the file
                pass
        return len(read_audio(spec, self.rate))

    def _frames(self, samples: int) -> int:
        if self.crop:
            samples = min(samples, self.crop)
        return (samples - self.min_samples) // self.hop + 1

    def __len__(self) -> int:
        return len(self.items)

    def wave(self, i: int) -> np.ndarray:
        """The whole utterance: float32 mono at the upstream's rate."""
        wave = read_audio(self.wav_scp[self.items[i].utt], self.rate)
        if len(wave) < self.min_samples:  # utt2dur rounded up past the real end: pad to one frame
            wave = np.pad(wave, (0, self.min_samples - len(wave)))
        return wave

    def lengths(self) -> list[int]:
        """Upstream frames of each utterance (after cropping)."""
        return [it.num_frames for it in self.items]

    def class_counts(self) -> list[int]:
        return label_counts(self.items, len(self.classes))

    def __getitem__(self, i: int) -> dict:
        it = self.items[i]
        wave = self.wave(i)
        if self.crop and len(wave) > self.crop:
            start = int(torch.randint(len(wave) - self.crop + 1, ()))
            wave = wave[start:start + self.crop]
        return {"index": i, "feats": torch.from_numpy(np.ascontiguousarray(wave)), "label": it.label, "dims": it.dims}
