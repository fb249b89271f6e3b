"""Kaldi-style data directories with emotion files (docs/DESIGN.md, "The data directory").

A data directory is a folder of `<key> <value...>` text files, UTF-8, sorted by key in byte order
(what `LC_ALL=C sort` gives). Per-utterance files share one key set, the utterances of utt2spk;
per-speaker files (spk2utt, cmvn.scp) are keyed by speaker. Everything here reads and writes
those files; the utils/*.sh tools are thin command-line shells over these functions.
"""

from __future__ import annotations

import math
import re
import shutil
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from emogcn.atomic import atomic_open
from emogcn.features.copy_pipes import copy_pipe
from emogcn.log import get_logger

logger = get_logger(__name__)

# Files keyed by utterance, in the order they are reported. Any of these present in a data
# directory must hold exactly the utterances of utt2spk.
UTT_FILES = (
    "wav.scp",
    "img.scp",
    "utt2emo",
    "utt2va",
    "utt2votes",
    "utt2lang",
    "utt2corpus",
    "utt2dur",
    "utt2num_frames",
    "utt2face",
    "feats.scp",
    "text",
)
# Per-utterance files that may cover only SOME utterances: the dimensions of a set pooled from
# corpora with and without valence/arousal (training masks the missing ones), and raters' votes
# (`<utt> <label>:<count> ...`), which only some corpora ship.
PARTIAL_UTT_FILES = ("utt2va", "utt2votes")
# Files keyed by speaker.
SPK_FILES = ("spk2utt", "cmvn.scp", "spk2gender")
# Files that may hold FEWER utterances than utt2spk without the directory being broken: they are
# written by a stage and fix_data_dir.sh restricts the directory to them.
REQUIRED = ("utt2spk", "spk2utt", "utt2emo")
MEDIA = ("wav.scp", "img.scp", "feats.scp")

_LANG = re.compile(r"^[a-z]{2,3}$")


class DataDirError(ValueError):
    """A problem with a data directory; the message names the file, the line and the problem."""


@dataclass
class Entry:
    key: str
    value: str
    line: int


def read_entries(path: str | Path, allow_empty_value: bool = False) -> list[Entry]:
    """Reads a `<key> <value>` file, keeping line numbers; raises DataDirError on a bad line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataDirError(f"{path}: file not found") from None
    entries = []
    for lineno, line_bytes in enumerate(raw.split(b"\n"), start=1):
        if not line_bytes.strip():
            if line_bytes == b"" and lineno == raw.count(b"\n") + 1:
                break  # the (empty) remainder after the final newline
            raise DataDirError(f"{path}:{lineno}: empty line")
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataDirError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
        if line.endswith("\r"):
            raise DataDirError(f"{path}:{lineno}: line ends in a carriage return (DOS line endings)")
        if line[0].isspace():
            raise DataDirError(f"{path}:{lineno}: line begins with whitespace")
        parts = line.split(maxsplit=1)
        key = parts[0]
        value = parts[1].strip() if len(parts) > 1 else ""
        if not value and not allow_empty_value:
            raise DataDirError(f"{path}:{lineno}: key '{key}' has no value")
        entries.append(Entry(key, value, lineno))
    return entries


def read_map(path: str | Path, check_sorted: bool = True) -> dict[str, str]:
    """Reads a `<key> <value>` file into a dict; duplicate or (optionally) unsorted keys are errors."""
    entries = read_entries(path)
    check_keys(path, entries, check_sorted=check_sorted)
    return {e.key: e.value for e in entries}


def check_keys(path: str | Path, entries: list[Entry], check_sorted: bool = True) -> None:
    seen: dict[str, int] = {}
    previous = None
    for e in entries:
        if e.key in seen:
            raise DataDirError(f"{path}:{e.line}: duplicate key '{e.key}' (first on line {seen[e.key]})")
        seen[e.key] = e.line
        if check_sorted and previous is not None and e.key < previous.key:
            raise DataDirError(
                f"{path}:{e.line}: not sorted: key '{e.key}' comes after '{previous.key}' "
                f"(line {previous.line}); run utils/fix_data_dir.sh"
            )
        previous = e


def write_map(path: str | Path, mapping: dict[str, str] | Iterable[tuple[str, str]]) -> None:
    """Writes `<key> <value>` lines sorted by key (byte order), atomically."""
    items = mapping.items() if isinstance(mapping, dict) else mapping
    with atomic_open(path) as f:
        for key, value in sorted(items, key=lambda kv: kv[0]):
            f.write(f"{key} {value}\n")


def read_list(path: str | Path) -> list[str]:
    """Reads one key per line (the first field), e.g. an utterance or speaker list."""
    return [e.key for e in read_entries(path, allow_empty_value=True)]


def spk2utt_from_utt2spk(utt2spk: dict[str, str]) -> dict[str, str]:
    spk2utt: dict[str, list[str]] = {}
    for utt, spk in sorted(utt2spk.items()):
        spk2utt.setdefault(spk, []).append(utt)
    return {spk: " ".join(utts) for spk, utts in spk2utt.items()}


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass
class ValidateOptions:
    need_media: bool = True  # one of wav.scp / img.scp / feats.scp
    need_feats: bool = False
    need_emo: bool = True
    labels: set[str] | None = None  # allowed utt2emo labels, when given


def _check_values(path: Path, name: str, entries: list[Entry], labels: set[str] | None) -> None:
    for e in entries:
        where = f"{path}:{e.line}"
        if name == "utt2va":
            fields = e.value.split()
            if len(fields) not in (2, 3):
                raise DataDirError(f"{where}: expected 2 or 3 values (valence arousal [dominance]), got {len(fields)}")
            for v in fields:
                try:
                    x = float(v)
                except ValueError:
                    raise DataDirError(f"{where}: '{v}' is not a number") from None
                if not math.isfinite(x) or not -1.0 <= x <= 1.0:
                    raise DataDirError(f"{where}: value {v} outside [-1, 1]")
        elif name == "utt2votes":
            for vote in e.value.split():
                label, _, count = vote.partition(":")
                if not label or not count.isdigit():
                    raise DataDirError(f"{where}: '{vote}' is not <label>:<count>")
        elif name == "utt2emo":
            if len(e.value.split()) != 1:
                raise DataDirError(f"{where}: expected one label, got '{e.value}'")
            if labels is not None and e.value not in labels:
                raise DataDirError(f"{where}: unknown label '{e.value}'; known: {', '.join(sorted(labels))}")
        elif name == "utt2lang":
            if not _LANG.match(e.value):
                raise DataDirError(f"{where}: '{e.value}' is not an ISO 639 language code")
        elif name == "utt2dur":
            try:
                ok = float(e.value) > 0 and math.isfinite(float(e.value))
            except ValueError:
                ok = False
            if not ok:
                raise DataDirError(f"{where}: duration '{e.value}' is not a positive number")
        elif name == "utt2num_frames":
            if not e.value.isdigit() or int(e.value) <= 0:
                raise DataDirError(f"{where}: frame count '{e.value}' is not a positive integer")


def validate_data_dir(data: str | Path, opts: ValidateOptions | None = None) -> int:
    """Checks a data directory; returns the number of utterances or raises DataDirError."""
    opts = opts or ValidateOptions()
    data = Path(data)
    if not data.is_dir():
        raise DataDirError(f"{data}: not a directory")
    required = ["utt2spk", "spk2utt"] + (["utt2emo"] if opts.need_emo else [])
    if opts.need_feats:
        required.append("feats.scp")
    for name in required:
        if not (data / name).is_file():
            raise DataDirError(f"{data}/{name}: required file is missing")
    if opts.need_media and not any((data / m).is_file() for m in MEDIA):
        raise DataDirError(f"{data}: has none of {', '.join(MEDIA)}")

    utt2spk_entries = read_entries(data / "utt2spk")
    check_keys(data / "utt2spk", utt2spk_entries)
    if not utt2spk_entries:
        raise DataDirError(f"{data}/utt2spk: no utterances")
    utt2spk = {e.key: e.value for e in utt2spk_entries}
    for e in utt2spk_entries:
        if len(e.value.split()) != 1:
            raise DataDirError(f"{data}/utt2spk:{e.line}: expected one speaker id, got '{e.value}'")
        if not e.key.startswith(e.value):
            raise DataDirError(
                f"{data}/utt2spk:{e.line}: utterance id '{e.key}' does not begin with its speaker id "
                f"'{e.value}' (needed so that sorting by utterance also sorts by speaker)"
            )

    spk2utt_path = data / "spk2utt"
    spk_entries = read_entries(spk2utt_path)
    check_keys(spk2utt_path, spk_entries)
    expected = spk2utt_from_utt2spk(utt2spk)
    for e in spk_entries:
        if e.key not in expected:
            raise DataDirError(f"{spk2utt_path}:{e.line}: speaker '{e.key}' is not in utt2spk")
        if e.value.split() != expected[e.key].split():
            raise DataDirError(
                f"{spk2utt_path}:{e.line}: utterances of '{e.key}' differ from utt2spk; "
                f"run utils/fix_data_dir.sh (or utils/utt2spk_to_spk2utt.pl)"
            )
    missing_spk = sorted(set(expected) - {e.key for e in spk_entries})
    if missing_spk:
        raise DataDirError(f"{spk2utt_path}: speaker '{missing_spk[0]}' of utt2spk is missing")

    for name in UTT_FILES:
        path = data / name
        if not path.is_file():
            continue
        entries = read_entries(path)
        check_keys(path, entries)
        for e in entries:
            if e.key not in utt2spk:
                raise DataDirError(f"{path}:{e.line}: utterance '{e.key}' is not in utt2spk (dangling entry)")
        if len(entries) != len(utt2spk) and name not in PARTIAL_UTT_FILES:
            have = {e.key for e in entries}
            missing = next(u for u in utt2spk if u not in have)
            raise DataDirError(
                f"{path}: utterance '{missing}' of utt2spk is missing "
                f"({len(utt2spk) - len(entries)} missing in all); run utils/fix_data_dir.sh"
            )
        _check_values(path, name, entries, opts.labels)

    for name in SPK_FILES[1:]:
        path = data / name
        if path.is_file():
            entries = read_entries(path)
            check_keys(path, entries)
            for e in entries:
                if e.key not in expected:
                    raise DataDirError(f"{path}:{e.line}: speaker '{e.key}' is not in utt2spk")
    return len(utt2spk)


# ---------------------------------------------------------------------------------------------
# Fixing, subsetting, combining, splitting


def _present(data: Path, names: Iterable[str]) -> list[str]:
    return [n for n in names if (data / n).is_file()]


def _read_loose(path: Path) -> tuple[dict[str, str], int]:
    """Reads a map keeping the first of duplicate keys; returns it and the number of duplicates."""
    out: dict[str, str] = {}
    dups = 0
    for e in read_entries(path):
        if e.key in out:
            dups += 1
            continue
        out[e.key] = e.value
    return out, dups


def fix_data_dir(data: str | Path, backup: bool = True) -> dict[str, int]:
    """Sorts every file, drops duplicates and keeps only utterances present in every per-utterance
    file (Kaldi's fix_data_dir.sh). Returns a count of removed utterances per reason and logs them.
    """
    data = Path(data)
    if not (data / "utt2spk").is_file():
        raise DataDirError(f"{data}/utt2spk: required file is missing")
    names = ["utt2spk"] + _present(data, UTT_FILES)
    maps = {}
    report: dict[str, int] = {}
    for name in names:
        maps[name], dups = _read_loose(data / name)
        if dups:
            report[f"duplicate keys in {name}"] = dups
    keep = set(maps["utt2spk"])
    for name in names[1:]:
        if name not in PARTIAL_UTT_FILES:
            keep &= set(maps[name])
    for name in names:
        removed = len(set(maps[name]) - keep)
        if removed:
            report[f"not in every file, removed from {name}"] = removed
    utt2spk = {u: s for u, s in maps["utt2spk"].items() if u in keep}
    bad_prefix = [u for u, s in utt2spk.items() if not u.startswith(s)]
    if bad_prefix:
        raise DataDirError(
            f"{data}/utt2spk: utterance '{bad_prefix[0]}' does not begin with its speaker id "
            f"'{utt2spk[bad_prefix[0]]}'; fix the ids in data preparation"
        )
    if backup:
        backup_dir = data / ".backup"
        backup_dir.mkdir(exist_ok=True)
        for name in names + _present(data, SPK_FILES):
            shutil.copyfile(data / name, backup_dir / name)
    for name in names:
        write_map(data / name, {u: v for u, v in maps[name].items() if u in keep})
    spk2utt = spk2utt_from_utt2spk(utt2spk)
    write_map(data / "spk2utt", spk2utt)
    for name in _present(data, SPK_FILES[1:]):
        per_spk, _ = _read_loose(data / name)
        write_map(data / name, {s: v for s, v in per_spk.items() if s in spk2utt})
    kept = len(utt2spk)
    total = len(set().union(*[set(m) for m in maps.values()]))
    logger.info("fix_data_dir %s: kept %d of %d utterances", data, kept, total)
    for reason, n in report.items():
        logger.info("fix_data_dir %s: %d %s", data, n, reason)
    if kept == 0:
        raise DataDirError(f"{data}: no utterances left after fixing")
    return report


def subset_data_dir(src: str | Path, dest: str | Path, utts: Iterable[str] | None = None,
                    spks: Iterable[str] | None = None) -> int:
    """Copies the utterances `utts` (or those of speakers `spks`) with every file they appear in."""
    src, dest = Path(src), Path(dest)
    utt2spk = read_map(src / "utt2spk")
    if utts is not None:
        wanted = set(utts)
    elif spks is not None:
        spk_set = set(spks)
        wanted = {u for u, s in utt2spk.items() if s in spk_set}
    else:
        raise ValueError("subset_data_dir needs utts or spks")
    unknown = wanted - set(utt2spk)
    if unknown:
        raise DataDirError(f"{src}: {len(unknown)} requested utterance(s) not in utt2spk, e.g. '{sorted(unknown)[0]}'")
    dest.mkdir(parents=True, exist_ok=True)
    kept_utt2spk = {u: s for u, s in utt2spk.items() if u in wanted}
    write_map(dest / "utt2spk", kept_utt2spk)
    for name in _present(src, UTT_FILES):
        m = read_map(src / name)
        write_map(dest / name, {u: v for u, v in m.items() if u in wanted})
    spk2utt = spk2utt_from_utt2spk(kept_utt2spk)
    write_map(dest / "spk2utt", spk2utt)
    for name in _present(src, SPK_FILES[1:]):
        m = read_map(src / name)
        write_map(dest / name, {s: v for s, v in m.items() if s in spk2utt})
    return len(kept_utt2spk)


def combine_data(dest: str | Path, srcs: list[str | Path]) -> int:
    """Concatenates data directories; a key present in two sources is an error."""
    dest = Path(dest)
    srcs = [Path(s) for s in srcs]
    if not srcs:
        raise ValueError("combine_data needs at least one source")
    # A file is kept only if every source has it, as Kaldi's combine_data.sh does (with a warning);
    # a partial file (utt2va) is kept if any source has it, covering that source's utterances.
    names = ["utt2spk"] + [n for n in UTT_FILES if all((s / n).is_file() for s in srcs)
                           or (n in PARTIAL_UTT_FILES and any((s / n).is_file() for s in srcs))]
    for n in UTT_FILES:
        if n not in names and any((s / n).is_file() for s in srcs):
            logger.warning("combine_data: %s is not in every source; left out of %s", n, dest)
    merged: dict[str, dict[str, str]] = {n: {} for n in names}
    for src in srcs:
        for name in names:
            if not (src / name).is_file():  # a partial file this source lacks
                continue
            for k, v in read_map(src / name).items():
                if k in merged[name]:
                    raise DataDirError(f"{src}/{name}: key '{k}' is also in another source; ids must be unique")
                merged[name][k] = v
    # Speaker files too (cmvn.scp, spk2gender): speaker ids are corpus-prefixed, so unique across corpora.
    spk_names = [n for n in SPK_FILES[1:] if all((s / n).is_file() for s in srcs)]
    spk_merged: dict[str, dict[str, str]] = {n: {} for n in spk_names}
    for src in srcs:
        for name in spk_names:
            for k, v in read_map(src / name).items():
                if spk_merged[name].setdefault(k, v) != v:
                    raise DataDirError(f"{src}/{name}: speaker '{k}' differs from another source's entry")
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_map(dest / name, merged[name])
    for name in spk_names:
        write_map(dest / name, spk_merged[name])
    write_map(dest / "spk2utt", spk2utt_from_utt2spk(merged["utt2spk"]))
    return len(merged["utt2spk"])


def select_classes(data: str | Path, classes: Iterable[str]) -> dict[str, int]:
    """Keeps, in place, the utterances whose utt2emo label is one of `classes`; returns the count
    dropped per label. The directory is rebuilt beside it and swapped in, so a crash leaves
    either the old or the new directory, never a mix."""
    data = Path(data)
    keep = set(classes)
    utt2emo = read_map(data / "utt2emo")
    dropped: dict[str, int] = {}
    for label in utt2emo.values():
        if label not in keep:
            dropped[label] = dropped.get(label, 0) + 1
    if not dropped:
        return {}
    if sum(dropped.values()) == len(utt2emo):
        raise DataDirError(f"{data}: no utterance has one of the classes {', '.join(sorted(keep))}")
    tmp, old = data.with_name(data.name + ".select.tmp"), data.with_name(data.name + ".select.old")
    for p in (tmp, old):
        if p.exists():
            shutil.rmtree(p)
    subset_data_dir(data, tmp, utts=[u for u, label in utt2emo.items() if label in keep])
    for extra in data.iterdir():  # markers and logs that are not data files travel too
        if not (tmp / extra.name).exists() and extra.name not in UTT_FILES + SPK_FILES and extra.name != "utt2spk":
            if extra.is_file():
                shutil.copy2(extra, tmp / extra.name)
    data.rename(old)
    tmp.rename(data)
    shutil.rmtree(old)
    return dropped


def split_data(data: str | Path, num_jobs: int, per_utt: bool = False) -> list[Path]:
    """Splits into `num_jobs` parts under data/split<N>[utt]/<n>, keeping speakers whole unless
    per_utt. Parts are contiguous in sorted order with balanced utterance counts. Reuses an
    existing split that is newer than every source file (Kaldi's split_data.sh does the same).
    """
    data = Path(data)
    if num_jobs < 1:
        raise ValueError("num_jobs must be at least 1")
    utt2spk = read_map(data / "utt2spk")
    top = data / f"split{num_jobs}{'utt' if per_utt else ''}"
    parts = [top / str(i + 1) for i in range(num_jobs)]
    sources = [data / n for n in ["utt2spk", "spk2utt", *UTT_FILES, *SPK_FILES] if (data / n).is_file()]
    newest = max(p.stat().st_mtime for p in sources)
    if all((p / "utt2spk").is_file() and (p / "utt2spk").stat().st_mtime >= newest for p in parts):
        return parts

    if per_utt:
        units = [[u] for u in utt2spk]
    else:
        by_spk: dict[str, list[str]] = {}
        for u, s in utt2spk.items():
            by_spk.setdefault(s, []).append(u)
        units = list(by_spk.values())
    if len(units) < num_jobs:
        what = "utterances" if per_utt else "speakers"
        raise DataDirError(f"{data}: cannot split {len(units)} {what} into {num_jobs} parts; use fewer jobs"
                           + ("" if per_utt else " or --per-utt"))
    groups = _balanced_contiguous(units, num_jobs)
    for part_dir, utts in zip(parts, groups):
        subset_data_dir(data, part_dir, utts=utts)
    return parts


def _balanced_contiguous(units: list[list[str]], num_parts: int) -> list[list[str]]:
    """Cuts the sequence of units into contiguous parts of about equal total length, none empty."""
    total = sum(len(u) for u in units)
    groups: list[list[str]] = [[] for _ in range(num_parts)]
    i = done = 0
    for part in range(num_parts - 1):
        boundary = total * (part + 1) / num_parts
        # Take a unit if its midpoint falls before the boundary, leaving one unit per later part.
        while len(units) - i > num_parts - part - 1 and (not groups[part] or done + len(units[i]) / 2 <= boundary):
            groups[part].extend(units[i])
            done += len(units[i])
            i += 1
    for unit in units[i:]:
        groups[-1].extend(unit)
    return groups


def filter_scp(keys: Iterable[str], lines: Iterable[str], exclude: bool = False) -> Iterator[str]:
    """Yields the lines whose first field is (or with exclude, is not) in `keys`."""
    keyset = set(keys)
    for line in lines:
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if (first in keyset) != exclude:
            yield line


@dataclass
class DataDir:
    """A loaded data directory: the maps a stage needs, by name."""

    path: Path
    utt2spk: dict[str, str]
    files: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path, opts: ValidateOptions | None = None) -> "DataDir":
        path = Path(path)
        validate_data_dir(path, opts)
        files = {n: read_map(path / n) for n in _present(path, UTT_FILES)}
        return cls(path, read_map(path / "utt2spk"), files)

    @property
    def utts(self) -> list[str]:
        return list(self.utt2spk)

    def get(self, name: str) -> dict[str, str] | None:
        return self.files.get(name)

    def class_counts(self) -> Counter:
        return Counter(self.files.get("utt2emo", {}).values())


PERTURB_CARRIED = ("utt2emo", "utt2va", "utt2votes", "utt2lang", "utt2corpus", "text")


# kind: (id prefix, the values it accepts); the wav.scp pipes are emogcn.features.copy_pipes'
PERTURBATIONS = {
    "speed": ("sp", (0.5, 2.0)),
    "noise": ("noise", (-10.0, 60.0)),
    "reverb": ("reverb", (0.05, 3.0)),
}


TOKEN_FORMS = {"speed": "a speed factor (0.9)", "noise": "noise<SNR dB> (noise10)", "reverb": "reverb<RT60 s> (reverb0.5)"}


def perturbation_of(token: str, kinds: tuple[str, ...] = tuple(PERTURBATIONS)) -> tuple[str, float]:
    """(kind, value) of a recipe's perturbation token: a number is a speed factor (0.9), noise<SNR dB>
    (noise10) adds noise, reverb<RT60 s> (reverb0.5) reverberates. The kind must be one of `kinds`
    and the value in the kind's range."""
    kind, value = "speed", token
    for name in ("noise", "reverb"):
        if token.startswith(name):
            kind, value = name, token[len(name):]
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or kind not in kinds:
        forms = [TOKEN_FORMS[k] for k in kinds]
        expected = " or ".join(forms) if len(forms) < 3 else f"{', '.join(forms[:-1])} or {forms[-1]}"
        raise ValueError(f"'{token}': expected {expected}")
    try:
        _check_perturbation(kind, number)
    except ValueError as e:
        raise ValueError(f"'{token}': {e}") from None
    return kind, number


def perturbation_name(kind: str, value: float) -> str:
    """The name of a perturbed copy, and the prefix of its ids: sp0.9, noise10, reverb0.5."""
    return f"{PERTURBATIONS[kind][0]}{value:g}"


# the id prefix of a perturbed copy (sp0.9-, noise10-, noise-5-, reverb0.5-): copies are made of
# unperturbed data directories, so an id carries at most one
_COPY_PREFIX = re.compile(r"^(?:%s)-?\d+(?:\.\d+)?-" % "|".join(v[0] for v in PERTURBATIONS.values()))


def is_perturbed(utt_or_spk: str) -> bool:
    """Whether an utterance or speaker id is of a perturbed copy (perturb_data_dir's prefix)."""
    return _COPY_PREFIX.match(utt_or_spk) is not None


def source_speaker(spk: str) -> str:
    """The speaker a perturbed copy's speaker was made from (noise10-emodb-03 -> emodb-03): the unit
    that speaker-independent selection must keep together. Other ids are returned unchanged."""
    return _COPY_PREFIX.sub("", spk, count=1)


def _check_perturbation(kind: str, value: float) -> None:
    if kind not in PERTURBATIONS:
        raise ValueError(f"perturbation '{kind}': expected one of {', '.join(PERTURBATIONS)}")
    low, high = PERTURBATIONS[kind][1]
    if not low <= value <= high:
        what = {"speed": "speed factor", "noise": "SNR (dB)", "reverb": "RT60 (s)"}[kind]
        raise ValueError(f"{what} {float(value)} outside [{low}, {high}]")


def perturb_data_dir(factor: float, src: str | Path, dest: str | Path, kind: str = "speed") -> tuple[int, list[str]]:
    """A perturbed copy of `src` in `dest`, as Kaldi's perturb_data_dir_speed.sh (speed) and
    reverberate_data_dir.py (noise, reverberation) make them; `factor` is the speed factor, the
    SNR in dB or the RT60 in seconds.

    Utterance and speaker ids are prefixed with sp<factor>- (noise<snr>-, reverb<rt60>-); wav.scp
    entries become pipes (emogcn.features.copy_pipes) through `python -m emogcn.bin.perturb_speed audio`
    or `corrupt_audio audio` (emogcn.features.corrupt, seeded by the utterance id: a copy made
    again is the same), so that stage 1 reads the perturbed audio; labels, languages and dimensions
    are carried, durations divided by a speed factor. Returns the number of utterances and the files
    of `src` not carried (features and CMVN describe the unperturbed audio: stage 1 recomputes them).
    """
    src, dest = Path(src), Path(dest)
    _check_perturbation(kind, factor)
    if not (src / "wav.scp").is_file():
        raise DataDirError(f"{src}/wav.scp: required file is missing ({kind} perturbation is for audio)")
    prefix = perturbation_name(kind, factor) + "-"
    utt2spk = read_map(src / "utt2spk")
    dest.mkdir(parents=True, exist_ok=True)
    write_map(dest / "utt2spk", {prefix + u: prefix + s for u, s in utt2spk.items()})
    wav = read_map(src / "wav.scp")
    write_map(dest / "wav.scp", {prefix + u: copy_pipe(kind, factor, zlib.crc32(u.encode()), v)
                                 for u, v in wav.items()})
    for name in PERTURB_CARRIED:
        if (src / name).is_file():
            write_map(dest / name, {prefix + u: v for u, v in read_map(src / name).items()})
    if (src / "utt2dur").is_file():
        speed = factor if kind == "speed" else 1.0
        write_map(dest / "utt2dur", {prefix + u: f"{float(v) / speed:.4f}" for u, v in read_map(src / "utt2dur").items()})
    if (src / "spk2gender").is_file():
        write_map(dest / "spk2gender", {prefix + s: g for s, g in read_map(src / "spk2gender").items()})
    write_map(dest / "spk2utt", spk2utt_from_utt2spk(read_map(dest / "utt2spk")))
    left = sorted(n for n in UTT_FILES + SPK_FILES if (src / n).is_file() and not (dest / n).is_file())
    return len(utt2spk), left
