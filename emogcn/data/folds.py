"""Speaker-independent evaluation folds (docs/DESIGN.md, "Evaluation").

Each fold is three data directories, fold<k>/{train,dev,test}. Test speakers never appear in train
or dev; dev is carved from the training side only, so model selection never sees a test speaker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from emogcn.data.datadir import DataDirError, combine_data, read_map, subset_data_dir
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


# Refreshing the folds once features exist (end of stage 2, python -m emogcn.bin.refresh_folds):
# stage 0 cut the folds before any feature existed; each set is cut again from data/all with the
# same utterances, so that it carries feats.scp, utt2num_frames and cmvn.scp.

refresh_logger = get_logger("emogcn.refresh_folds")  # the name these lines have in the stage logs
DERIVED = ("train_sp", "train_dev", "train_dev_sp")


def add_train_dev_sets(folds_dir: Path) -> int:
    """fold<k>/train_dev = fold<k>/train + fold<k>/dev, for every fold with both."""
    folds = sorted(p.parent.parent for p in folds_dir.glob("fold*/dev/utt2spk") if (p.parent.parent / "train").is_dir())
    for fold in folds:
        shutil.rmtree(fold / "train_dev", ignore_errors=True)
        combine_data(fold / "train_dev", [fold / "train", fold / "dev"])
    return len(folds)


def refresh_folds(all_dir: Path, folds_dir: Path) -> int:
    """Cuts every fold<k>/<set> (but the derived ones) again from `all_dir`, with the same utterances
    less those without features (dropped, counted and logged per set); returns the number of sets."""
    available = set(read_map(all_dir / "utt2spk"))
    # train_sp of an earlier run is rebuilt from train by add_perturbed_train_sets
    # sets derived from others are rebuilt from them below
    sets = sorted(p.parent for p in folds_dir.glob("fold*/*/utt2spk") if p.parent.name not in DERIVED)
    if not sets:
        raise DataDirError(f"{folds_dir}: no fold<k>/<set> data directories")
    dropped_total = 0
    for set_dir in sets:
        utts = list(read_map(set_dir / "utt2spk"))
        kept = [u for u in utts if u in available]
        dropped = len(utts) - len(kept)
        if dropped:
            refresh_logger.warning("%s: %d of %d utterances have no features and are dropped", set_dir, dropped,
                                   len(utts))
        if not kept:
            raise DataDirError(f"{set_dir}: no utterances left with features")
        subset_data_dir(all_dir, set_dir, utts=kept)
        dropped_total += dropped
    refresh_logger.info("refreshed %d sets under %s from %s (%d utterances dropped)", len(sets), folds_dir, all_dir,
                        dropped_total)
    return len(sets)


def add_perturbed_train_sets(folds_dir: Path, perturbed_dirs: list[Path]) -> int:
    """Writes fold<k>/train_sp = train + the copies of its utterances in each perturbed directory
    (and train_dev_sp from train_dev)."""
    train_sets = sorted(p.parent for p in [*folds_dir.glob("fold*/train/utt2spk"), *folds_dir.glob("fold*/train_dev/utt2spk")])
    if not train_sets:
        raise DataDirError(f"{folds_dir}: no fold<k>/train data directories")
    copies = {d: set(read_map(d / "utt2spk")) for d in perturbed_dirs}
    for train in train_sets:
        utts = list(read_map(train / "utt2spk"))
        parts = [train]
        for d in perturbed_dirs:
            # the copy's prefix: sp0.9- of sp0.9-<utt>, the same for every utterance of the directory
            prefix = next(iter(copies[d])).split("-", 1)[0] + "-" if copies[d] else ""
            kept = [prefix + u for u in utts if prefix + u in copies[d]]
            if len(kept) < len(utts):
                refresh_logger.warning("%s: %d of %d utterances have no copy in %s (no features)", train,
                                       len(utts) - len(kept), len(utts), d)
            part = train.parent / f".{train.name}_{d.name}.tmp"
            subset_data_dir(d, part, utts=kept)
            parts.append(part)
        target = train.parent / f"{train.name}_sp"
        shutil.rmtree(target, ignore_errors=True)
        combine_data(target, parts)
        for part in parts[1:]:
            shutil.rmtree(part)
        refresh_logger.info("%s: %d utterances with their perturbed copies", target, len(read_map(target / "utt2spk")))
    return len(train_sets)


def refresh_fold_sets(all_dir: Path, folds_dir: Path, perturbed_dirs: list[Path] | None = None) -> None:
    """Everything python -m emogcn.bin.refresh_folds does: the sets re-cut (refresh_folds), train_dev
    added, and with `perturbed_dirs` train_sp (and train_dev_sp) added."""
    refresh_folds(all_dir, folds_dir)
    add_train_dev_sets(folds_dir)
    if perturbed_dirs:
        add_perturbed_train_sets(folds_dir, perturbed_dirs)
