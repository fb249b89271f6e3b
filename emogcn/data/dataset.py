"""Utterance datasets over a data directory's feats.scp, and length-bucketed batching.

Shared by training and inference: an item is (features (T, F) after CMVN, class index, dims,
dims mask). Batches are padded to their longest utterance and carry the true lengths, so models
can mask padding (pooling, attention) and never learn from it.
"""

from __future__ import annotations

import functools
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


MB = 1 << 20


class FeatureCache:
    """Feature matrices kept in memory up to a budget of bytes, first come first kept.

    Nothing is evicted: a shuffled epoch touches every utterance once, so any eviction policy
    would trade one cached matrix for another without saving reads; keeping a fixed set that
    fits saves the same reads every epoch, and memory does not grow with the corpus."""

    def __init__(self, budget_bytes: int):
        if budget_bytes < 0:
            raise ValueError(f"cache budget must be >= 0 bytes, got {budget_bytes}")
        self.budget = budget_bytes
        self.nbytes = 0
        self._items: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: int) -> np.ndarray | None:
        return self._items.get(key)

    def put(self, key: int, value: np.ndarray) -> bool:
        """Keeps `value` if it fits in what is left of the budget; says whether it did."""
        if key in self._items or self.nbytes + value.nbytes > self.budget:
            return False
        self._items[key] = value
        self.nbytes += value.nbytes
        return True


class FeatureDataset(torch.utils.data.Dataset):
    """Features of one data directory, CMVN-normalised, with labels in the order of `classes`.

    Utterances whose label is not in `classes` (a class absent from this fold's training data)
    are dropped, counted and logged: a model cannot be scored on a class it was never shown.

    Features are read through kaldiio when needed; up to `cache_mb` MiB of normalised matrices
    are kept in memory (FeatureCache), the rest is read again each time, so memory is bounded
    whatever the corpus size. `validate` reads every matrix once at construction (see validate()).
    """

    def __init__(self, data_dir: str | Path, classes: list[str], cmvn: Cmvn, num_dims: int = 2,
                 cache_mb: float = 0, validate: bool = True, labelled: bool = True):
        """labelled False: every utterance, label -1, utt2emo not read (audio of an unlabelled
        target corpus, as domain-adversarial training uses it)."""
        self.data = DataDir.load(data_dir, ValidateOptions(need_feats=True, need_emo=labelled))
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
            label = utt2emo.get(utt) if labelled else None
            if labelled and label not in index:
                dropped[label] = dropped.get(label, 0) + 1
                continue
            dims = None
            if utt in utt2va:
                dims = tuple(float(v) for v in utt2va[utt].split()[:num_dims])
            frames = int(utt2frames[utt]) if utt in utt2frames else 0
            self.items.append(Utterance(utt, index[label] if labelled else -1, dims, frames))
        for label, n in sorted(dropped.items()):
            logger.warning("%s: dropped %d utterance(s) labelled '%s', a class not in this model's classes",
                           data_dir, n, label)
        self.num_dropped = sum(dropped.values())
        if not self.items:
            raise ValueError(f"{data_dir}: no utterances left with a label in {', '.join(classes)}")
        self.cache = FeatureCache(int(cache_mb * MB))
        if validate:
            self.validate()

    def __len__(self) -> int:
        return len(self.items)

    def validate(self) -> None:
        """Reads every matrix once, so bad features fail before any training step; memory stays
        within the cache's budget (what fits is kept, the rest is read again when needed), and
        the frame counts are noted for lengths()."""
        for i, it in enumerate(self.items):
            it.num_frames = len(self.features(i))

    def features(self, i: int) -> np.ndarray:
        """(T, F) float32 after CMVN, whatever the ark holds (float16 SSL layers included)."""
        feats = self.cache.get(i)
        if feats is not None:
            return feats
        utt = self.items[i].utt
        raw = np.asarray(kaldiio.load_mat(self.feats_scp[utt]), dtype=np.float32)
        if not np.isfinite(raw).all():  # one NaN would silently poison every weight it reaches
            raise DataDirError(f"{self.data.path}/feats.scp: features of '{utt}' ({self.feats_scp[utt]}) "
                               f"hold NaN or infinite values")
        feats = self.cmvn(utt, raw)
        # DataLoader workers hold copies of the dataset: what they added would be held once per
        # worker, so only the main process fills the cache (workers forked later share it)
        if torch.utils.data.get_worker_info() is None:
            self.cache.put(i, feats)
        return feats

    def lengths(self) -> list[int]:
        """Frame counts (from utt2num_frames, else by reading the features)."""
        for i, it in enumerate(self.items):
            if not it.num_frames:
                it.num_frames = len(self.features(i))
        return [it.num_frames for it in self.items]

    def class_counts(self) -> list[int]:
        return label_counts(self.items, len(self.classes))

    def __getitem__(self, i: int) -> dict:
        it = self.items[i]
        return {"index": i, "feats": torch.from_numpy(self.features(i)), "label": it.label, "dims": it.dims}


def label_counts(items: list, num_classes: int) -> list[int]:
    """Utterances per class index, of items with a `label` (FeatureDataset's, WaveformDataset's)."""
    counts = [0] * num_classes
    for it in items:
        counts[it.label] += 1
    return counts


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
    out = {
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
        "feats": feats,
        "lengths": lengths,
        "labels": torch.tensor([b["label"] for b in batch], dtype=torch.long),
        "dims": dims,
        "dims_mask": mask,
    }
    # per-corpus label spaces (emogcn/data/label_space.py): each utterance's classes and loss weight
    if "allowed" in batch[0]:
        out["allowed"] = torch.stack([b["allowed"] for b in batch])
    if "weight" in batch[0]:
        out["weight"] = torch.tensor([b["weight"] for b in batch], dtype=torch.float32)
    return out


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of utterances of similar length, so little of each batch is padding.

    A batch holds batch_size utterances, or with max_frames > 0 as many as fit max_frames frames of
    padded input (its longest utterance times its size; at least one): long utterances then come
    in smaller batches, short ones in larger. Each epoch shuffles with a generator seeded by
    (seed, epoch): the batches of an epoch depend only on those two numbers, so a resumed run sees
    exactly the batches of an uninterrupted one. In a distributed run (world_size > 1) every
    process draws the same global batches and takes its share of each (rank::world_size), so
    batch_size and max_frames are the GLOBAL batch, whatever the number of processes.

    groups (one integer per utterance, e.g. its corpus): each shuffled epoch gives every group an
    equal share of the epoch's len(lengths) utterances (see balanced_draw), so a small corpus is
    repeated and a large one subsampled instead of the large one setting the gradient alone.
    """

    def __init__(self, lengths: list[int], batch_size: int, shuffle: bool = True, seed: int = 0,
                 bucket_batches: int = 20, max_frames: int = 0, rank: int = 0, world_size: int = 1,
                 groups: list[int] | None = None):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size {world_size})")
        if groups is not None and len(groups) != len(lengths):
            raise ValueError(f"groups: {len(groups)} entries for {len(lengths)} utterances")
        self.groups = groups
        self.lengths = lengths
        self.batch_size = batch_size
        self.max_frames = max_frames
        self.shuffle = shuffle
        self.seed = seed
        self.bucket = batch_size * bucket_batches
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _cut(self, order: list[int]) -> list[list[int]]:
        """Consecutive batches of an ordering (sorted by length within a bucket)."""
        if self.max_frames <= 0:
            return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        batches, current, longest = [], [], 0
        for i in order:
            longest_then = max(longest, self.lengths[i])
            if current and longest_then * (len(current) + 1) > self.max_frames:
                batches.append(current)
                current, longest_then = [], self.lengths[i]
            current.append(i)
            longest = longest_then
        if current:
            batches.append(current)
        return batches

    def _global_batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            return self._cut(sorted(range(n), key=lambda i: self.lengths[i]))
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        perm = torch.randperm(n, generator=g).tolist() if self.groups is None else balanced_draw(self.groups, g)
        batches = []
        for start in range(0, n, self.bucket):
            batches.extend(self._cut(sorted(perm[start:start + self.bucket], key=lambda i: self.lengths[i])))
        order = torch.randperm(len(batches), generator=g).tolist()
        return [batches[i] for i in order]

    def _batches(self) -> list[list[int]]:
        batches = self._global_batches()
        if self.world_size == 1:
            return batches
        # every process takes its share; a batch too small to share leaves some processes nothing
        # in it, so those are dropped for all (an empty step would hang the gradient all-reduce)
        return [b[self.rank::self.world_size] for b in batches if len(b) >= self.world_size]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


def balanced_draw(groups: list[int], generator: torch.Generator) -> list[int]:
    """len(groups) indices in random order, each group's share equal (the first len % G groups one
    more): a group draws its members in a fresh random order, again and again while its share
    lasts, so within a group no utterance repeats before every one has been drawn."""
    members: dict[int, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    keys = sorted(members)
    share, extra = divmod(len(groups), len(keys))
    drawn = []
    for k, key in enumerate(keys):
        want, mine = share + (k < extra), members[key]
        while want > 0:
            take = min(want, len(mine))
            drawn.extend(mine[j] for j in torch.randperm(len(mine), generator=generator)[:take].tolist())
            want -= take
    return [drawn[j] for j in torch.randperm(len(drawn), generator=generator).tolist()]


def make_loader(dataset: FeatureDataset, batch_size: int, shuffle: bool, seed: int = 0, max_frames: int = 0,
                num_workers: int = 0, rank: int = 0, world_size: int = 1,
                groups: list[int] | None = None) -> torch.utils.data.DataLoader:
    """Length-bucketed batches of a dataset; with num_workers > 0 read in that many processes
    (the collate function is a module-level function, so it pickles). groups: equal shares per
    group in every shuffled epoch (BucketBatchSampler)."""
    sampler = BucketBatchSampler(dataset.lengths(), batch_size, shuffle=shuffle, seed=seed, max_frames=max_frames,
                                 rank=rank, world_size=world_size, groups=groups)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers,
                                       collate_fn=functools.partial(collate, num_dims=dataset.num_dims),
                                       persistent_workers=num_workers > 0)
