"""Speaker-independent evaluation folds (docs/DESIGN.md, "Evaluation").

Each fold is three data directories, fold<k>/{train,dev,test}. Test speakers never appear in train
or dev; dev is carved from the training side only, so model selection never sees a test speaker.
"""

from __future__ import annotations

from pathlib import Path

from emogcn.data.datadir import DataDirError, read_map, subset_data_dir
from emogcn.log import get_logger

logger = get_logger(__name__)


def speaker_groups(speakers: list[str], protocol: str, num_groups: int | None = None) -> list[list[str]]:
    """Test-speaker groups: one per speaker (`loso`) or `num_groups` round-robin groups (`groups`).

    Round-robin over the sorted speaker list spreads speakers whose ids share a prefix (a language,
    a sex, a recording session) over the groups instead of stacking them in one.
    """
    speakers = sorted(speakers)
    if protocol == "loso":
        return [[s] for s in speakers]
    if protocol == "groups":
        if not num_groups or num_groups < 2:
            raise ValueError("protocol 'groups' needs num_groups >= 2")
        if num_groups > len(speakers):
            raise ValueError(f"cannot make {num_groups} groups from {len(speakers)} speakers")
        return [speakers[i::num_groups] for i in range(num_groups)]
    raise ValueError(f"unknown fold protocol '{protocol}' (loso, groups)")


def dev_speakers_for(speakers: list[str], test: list[str], num_dev: int) -> list[str]:
    """The `num_dev` training speakers that follow the test group in sorted order, cyclically, so
    that across folds each speaker serves as dev about equally often."""
    speakers = sorted(speakers)
    train = [s for s in speakers if s not in set(test)]
    if num_dev >= len(train):
        raise ValueError(f"need at least {num_dev + 1} training speakers to carve {num_dev} dev speaker(s)")
    start = (max(speakers.index(s) for s in test) + 1) % len(speakers)
    ordered = speakers[start:] + speakers[:start]
    return [s for s in ordered if s in train][:num_dev]


def make_folds(all_dir: str | Path, out_dir: str | Path, protocol: str = "loso", num_groups: int | None = None,
               num_dev_speakers: int = 1, max_folds: int | None = None) -> list[Path]:
    """Writes out_dir/fold<k>/{train,dev,test} for every fold; returns the fold directories."""
    all_dir, out_dir = Path(all_dir), Path(out_dir)
    utt2spk = read_map(all_dir / "utt2spk")
    speakers = sorted(set(utt2spk.values()))
    if len(speakers) < 3:
        raise DataDirError(f"{all_dir}: {len(speakers)} speaker(s); speaker-independent folds need at least 3")
    groups = speaker_groups(speakers, protocol, num_groups)
    if max_folds is not None:
        groups = groups[:max_folds]
    return folds_from_groups(all_dir, out_dir, groups, num_dev_speakers)


def folds_from_groups(all_dir: str | Path, out_dir: str | Path, test_groups: list[list[str]],
                      num_dev_speakers: int = 1) -> list[Path]:
    """One fold per test-speaker group (a protocol's groups, or a corpus's own, e.g. IEMOCAP's
    sessions); dev speakers follow the test group in sorted order (dev_speakers_for)."""
    all_dir, out_dir = Path(all_dir), Path(out_dir)
    speakers = sorted(set(read_map(all_dir / "utt2spk").values()))
    folds = []
    for k, test in enumerate(test_groups, start=1):
        dev = dev_speakers_for(speakers, test, num_dev_speakers)
        train = [s for s in speakers if s not in set(test) | set(dev)]
        fold = out_dir / f"fold{k}"
        for name, spks in (("train", train), ("dev", dev), ("test", test)):
            subset_data_dir(all_dir, fold / name, spks=spks)
        logger.info("fold%d: test %s, dev %s, train %d speakers", k, " ".join(test), " ".join(dev), len(train))
        folds.append(fold)
    return folds
