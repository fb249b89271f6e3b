"""Utterance datasets over a data directory's feats.scp, and length-bucketed batching.

Shared by training and inference: an item is (features (T, F) after CMVN, class index, dims,
dims mask). Batches are padded to their longest utterance and carry the true lengths, so models
can mask padding (pooling, attention) and never learn from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
import torch

from emogcn.data.cmvn import Cmvn
from emogcn.data.datadir import DataDir, DataDirError, ValidateOptions
from emogcn.log import get_logger

logger = get_logger(__name__)


@dataclass
class Utterance:
    utt: str
    label: int  # index into classes, -1 when unlabelled
    dims: tuple[float, ...] | None
    num_frames: int


class FeatureDataset(torch.utils.data.Dataset):
    """Features of one data directory, CMVN-normalised, with labels in the order of `classes`.

    Utterances whose label is not in `classes` (a class absent from this fold's training data)
    are dropped, counted and logged: a model cannot be scored on a class it was never shown.
    """

    def __init__(self, data_dir: str | Path, classes: list[str], cmvn: Cmvn, num_dims: int = 2,
                 cache: bool = True):
        self.data = DataDir.load(data_dir, ValidateOptions(need_feats=True))
        self.classes = classes
        self.cmvn = cmvn
        self.num_dims = num_dims
        index = {c: i for i, c in enumerate(classes)}
        utt2emo = self.data.get("utt2emo") or {}
        utt2va = self.data.get("utt2va") or {}
        utt2frames = self.data.get("utt2num_frames") or {}
        self.feats_scp = self.data.get("feats.scp")
        self.items: list[Utterance] = []
        dropped: dict[str, int] = {}
        for utt in self.data.utts:
            label = utt2emo.get(utt)
            if label not in index:
                dropped[label] = dropped.get(label, 0) + 1
                continue
            dims = None
            if utt in utt2va:
                dims = tuple(float(v) for v in utt2va[utt].split()[:num_dims])
            frames = int(utt2frames[utt]) if utt in utt2frames else 0
            self.items.append(Utterance(utt, index[label], dims, frames))
        for label, n in sorted(dropped.items()):
            logger.warning("%s: dropped %d utterance(s) labelled '%s', a class not in this model's classes",
                           data_dir, n, label)
        self.num_dropped = sum(dropped.values())
        if not self.items:
            raise ValueError(f"{data_dir}: no utterances left with a label in {', '.join(classes)}")
        self._cache: dict[int, np.ndarray] | None = {} if cache else None
        if cache:  # read (and check) everything now: bad features fail before any training step
            for i in range(len(self.items)):
                self.features(i)

    def __len__(self) -> int:
        return len(self.items)

    def features(self, i: int) -> np.ndarray:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        utt = self.items[i].utt
        raw = np.asarray(kaldiio.load_mat(self.feats_scp[utt]), dtype=np.float32)
        if not np.isfinite(raw).all():  # one NaN would silently poison every weight it reaches
            raise DataDirError(f"{self.data.path}/feats.scp: features of '{utt}' ({self.feats_scp[utt]}) "
                               f"hold NaN or infinite values")
        feats = self.cmvn(utt, raw)
        if self._cache is not None:
            self._cache[i] = feats
        return feats

    def lengths(self) -> list[int]:
        """Frame counts (from utt2num_frames, else by reading the features)."""
        return [it.num_frames or len(self.features(i)) for i, it in enumerate(self.items)]

    def class_counts(self) -> list[int]:
        counts = [0] * len(self.classes)
        for it in self.items:
            counts[it.label] += 1
        return counts

    def __getitem__(self, i: int) -> dict:
        it = self.items[i]
        return {"index": i, "feats": torch.from_numpy(self.features(i)), "label": it.label, "dims": it.dims}


def collate(batch: list[dict], num_dims: int = 2) -> dict:
    """Pads (T, F) features to (B, T_max, F) and stacks labels, dims and their mask."""
    lengths = torch.tensor([b["feats"].shape[0] for b in batch], dtype=torch.long)
    feats = torch.nn.utils.rnn.pad_sequence([b["feats"] for b in batch], batch_first=True)
    dims = torch.zeros(len(batch), num_dims)
    mask = torch.zeros(len(batch), dtype=torch.bool)
    for row, b in enumerate(batch):
        if b["dims"] is not None:
            dims[row] = torch.tensor(b["dims"][:num_dims])
            mask[row] = True
    return {
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
        "feats": feats,
        "lengths": lengths,
        "labels": torch.tensor([b["label"] for b in batch], dtype=torch.long),
        "dims": dims,
        "dims_mask": mask,
    }


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of utterances of similar length, so little of each batch is padding.

    Each epoch shuffles with a generator seeded by (seed, epoch): the batches of an epoch depend
    only on those two numbers, so a resumed run sees exactly the batches of an uninterrupted one.
    """

    def __init__(self, lengths: list[int], batch_size: int, shuffle: bool = True, seed: int = 0,
                 bucket_batches: int = 20):
        self.lengths = lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.bucket = batch_size * bucket_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            order = sorted(range(n), key=lambda i: self.lengths[i])
            return [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        perm = torch.randperm(n, generator=g).tolist()
        batches = []
        for start in range(0, n, self.bucket):
            chunk = sorted(perm[start:start + self.bucket], key=lambda i: self.lengths[i])
            batches.extend(chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        order = torch.randperm(len(batches), generator=g).tolist()
        return [batches[i] for i in order]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size) if not self.shuffle else len(self._batches())


def make_loader(dataset: FeatureDataset, batch_size: int, shuffle: bool, seed: int = 0) -> torch.utils.data.DataLoader:
    sampler = BucketBatchSampler(dataset.lengths(), batch_size, shuffle=shuffle, seed=seed)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler,
                                       collate_fn=lambda b: collate(b, dataset.num_dims))
