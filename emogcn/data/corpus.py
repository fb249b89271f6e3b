"""What every local/prepare_<corpus>.py shares: finding the audio, reporting what is skipped,
looking labels up, writing the data directory and its folds.

A prepare script holds only its corpus's naming rules. It walks the corpus with `find_audio`,
parses each name, and hands each utterance to `CorpusData.add`, which maps the corpus's emotion
code to the shared label (conf/emotions.yaml, `corpora.<corpus>`), rejects duplicates and bad
ids, and records every skipped audio file with its reason. `CorpusData.write` writes the Kaldi
data directory (docs/DESIGN.md, "The data directory"), spk2utt last, and prints the counts. Audio
is never decoded here: stage 1 reads it (sniffing the real format), resamples, mixes down and
counts failures.

    skips = Skips("prepare_x")
    data = CorpusData("x", LabelMap(labels_yaml, "x"), skips)
    for path in find_audio(root, skips):
        ...  # parse the name, or skips.add(path, "name does not parse", "...")
        data.add(utt=..., spk=..., path=path, code=..., lang="en", gender="f")
    data.write(out)
    write_folds(out, folds_dir, ...)  # when asked for folds

Real releases carry typos (TESS holds OAF_neutral/OA_bite_neutral.wav). Where the name's speaker
or emotion is not a known one but a folder above the file names one, `name_or_folder` takes it
from the folder, and `CorpusData` lists each such file and counts them; a folder that names
another speaker or emotion than the name does is a conflict, and the file is skipped. The file
name stays the primary source. Which folder words name what is the corpus's knowledge
(`FolderCodes`, built in its prepare script).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from emogcn.config import ConfigError
from emogcn.data.datadir import (SPK_FILES, UTT_FILES, DataDirError, ValidateOptions, read_map,
                                 spk2utt_from_utt2spk, subset_data_dir, validate_data_dir, write_map)
from emogcn.data.folds import folds_from_groups, make_folds
from emogcn.data.labels import load_label_config

# Extensions of audio files. A file with one of these that a corpus does not use is reported as
# skipped; anything else (documentation, spreadsheets, videos) is ignored silently.
AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".mp3", ".ogg", ".opus", ".aif", ".aiff", ".aifc",
                            ".m4a", ".wma", ".au", ".snd", ".sph", ".pcm", ".amr"})
# Above this many speakers the per-speaker counts are summarised (MSP-Podcast gives every
# utterance of an unknown speaker its own speaker id: tens of thousands).
MAX_LISTED_SPEAKERS = 200
_WHITESPACE = re.compile(r"\s")
_FOLD = re.compile(r"^fold\d+$")
_WORD_BREAK = re.compile(r"[\W_]+")


class CorpusError(ValueError):
    """A corpus that cannot be prepared (nothing found, a missing label file); one clear line."""


def say(prog: str, message: str) -> None:
    print(f"{prog}: {message}", file=sys.stderr)


def normalize_name(name: str) -> str:
    """A file name in NFC form: macOS (HFS+) stores names decomposed, other systems composed, so
    the same accented name (MESD's Spanish words) compares equal after this."""
    return unicodedata.normalize("NFC", name)


# ---------------------------------------------------------------------------------------------
# Skipped files


@dataclass
class Skips:
    """Every audio file a prepare script does not use, with the reason; printed per file and
    totalled per reason. `reason` is the category (totals group by it), `detail` the specifics."""

    prog: str
    items: list[tuple[Path, str, str]] = field(default_factory=list)
    noun: str = "audio"  # what the files are, in the messages ("image" for faces)

    def add(self, path: Path, reason: str, detail: str = "") -> None:
        self.items.append((path, reason, detail))

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> Counter:
        return Counter(reason for _, reason, _ in self.items)

    def report(self) -> None:
        for path, reason, detail in self.items:
            say(self.prog, f"skipped {path}: {reason}" + (f" ({detail})" if detail else ""))
        if self.items:
            totals = "; ".join(f"{n} {reason}" for reason, n in sorted(self.counts().items(), key=lambda kv: -kv[1]))
            say(self.prog, f"skipped {len(self.items)} {self.noun} file(s) in all: {totals}")


@dataclass
class FolderNotes:
    """Every file whose speaker or emotion was taken from a folder because its name did not give
    a known one (a typo in the release): printed per file and counted, never silent."""

    prog: str
    items: dict[str, tuple[Path, str]] = field(default_factory=dict)  # utterance id -> (path, detail)

    def add(self, utt: str, path: Path, detail: str) -> None:
        self.items[utt] = (path, detail)

    def pop(self, utt: str) -> None:
        del self.items[utt]

    def __contains__(self, utt: str) -> bool:
        return utt in self.items

    def __len__(self) -> int:
        return len(self.items)

    def report(self) -> None:
        for path, detail in sorted(self.items.values()):
            say(self.prog, f"took from the folder {path}: {detail}")
        if self.items:
            say(self.prog, f"took the speaker or emotion of {len(self.items)} file(s) from the folder")


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


def find_images(root: str | Path, skips: Skips) -> list[Path]:
    """Image files under `root` (any case of .jpg/.jpeg/.png/.bmp), sorted by path; macOS
    AppleDouble files are reported as skipped, other files ignored."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder not found" if not root.exists() else f"{root}: not a folder")
    found = []
    for path in walk_files(root):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.name.startswith("._"):
            skips.add(path, "macOS metadata file (._ prefix), not an image")
        else:
            found.append(path)
    if not found and not skips:
        raise CorpusError(f"{root}: no image files found")
    return found


def find_audio(root: str | Path, skips: Skips, suffixes: Iterable[str] = (".wav",)) -> list[Path]:
    """Audio files under `root` whose extension (any case) is in `suffixes`, sorted by path.

    Folder names and case differ between releases, so the whole tree is walked. Other audio
    files (an MP3 copy, a stray FLAC) are reported as skipped; non-audio files are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: corpus folder not found" if not root.exists() else f"{root}: not a folder")
    wanted = {s.lower() for s in suffixes}
    found = []
    for path in walk_files(root):
        suffix = path.suffix.lower()
        if suffix not in wanted and suffix not in AUDIO_SUFFIXES:
            continue
        if path.name.startswith("._"):
            # AppleDouble metadata that macOS zips carry next to each file: not audio.
            skips.add(path, "macOS metadata file (._ prefix), not audio")
        elif suffix not in wanted:
            skips.add(path, f"not a {'/'.join(sorted(wanted))} file")
        else:
            found.append(path)
    if not found and not skips:
        raise CorpusError(f"{root}: no {'/'.join(sorted(wanted))} files found")
    return found


def walk_files(root: str | Path) -> Iterator[Path]:
    """Every file under `root`, folders and files in sorted order, following links."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def find_file(root: str | Path, name: str) -> Path | None:
    """The first file named `name` (any case) under `root`, in sorted walk order, or None."""
    name = name.lower()
    return next((p for p in walk_files(root) if p.name.lower() == name and not p.name.startswith("._")), None)


# ---------------------------------------------------------------------------------------------
# Labels


class LabelMap:
    """A corpus's emotion codes -> shared class names, from conf/emotions.yaml `corpora.<corpus>`.

    With ignore_case the codes match in any case (folder names such as ESD's `Angry`/`angry`).
    """

    def __init__(self, labels_yaml: str | Path, corpus: str, ignore_case: bool = False):
        self.path = Path(labels_yaml)
        self.corpus = corpus
        self.ignore_case = ignore_case
        cfg = load_label_config(self.path)
        corpora = cfg.get("corpora") or {}
        if corpus not in corpora or not isinstance(corpora[corpus], dict):
            raise ConfigError(f"{self.path}: no label map for corpus '{corpus}' under 'corpora' "
                              f"(add `{corpus}: {{<code>: <class>, ...}}`)")
        self.classes: list[str] = list(cfg["classes"])
        self.four_class: list[str] = list(cfg.get("four_class") or [])
        # YAML reads an unquoted code such as 01 as a number; codes are compared as text.
        self._map: dict[str, str] = {}
        self.codes: list[str] = [str(code) for code in corpora[corpus]]  # as spelled in the YAML
        for code, name in corpora[corpus].items():
            key = self._key(str(code))
            if key in self._map and self._map[key] != name:
                raise ConfigError(f"{self.path}: corpora.{corpus} maps '{code}' and another code that differs "
                                  f"only in case to different classes; {corpus} codes are matched in any case")
            self._map[key] = name

    def _key(self, code: str) -> str:
        return code.casefold() if self.ignore_case else code

    def get(self, code: str) -> str | None:
        return self._map.get(self._key(code))

    def unknown_reason(self, code: str) -> str:
        return f"emotion code '{code}' is not in {self.path} corpora.{self.corpus}"


# ---------------------------------------------------------------------------------------------
# Speakers and emotions named by folders


@lru_cache(maxsize=4096)
def folder_words(name: str) -> frozenset[str]:
    """A folder name's words in lower case, and every run of consecutive words joined by '_', so
    that a folder names a code as a whole word only: 'OAF_Pleasant_surprise' gives oaf, pleasant,
    surprise, oaf_pleasant, pleasant_surprise and oaf_pleasant_surprise, and never 'ps'."""
    words = [w for w in _WORD_BREAK.split(normalize_name(name).casefold()) if w]
    return frozenset("_".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1))


def _as_word(text: str) -> str:
    return "_".join(w for w in _WORD_BREAK.split(normalize_name(text).casefold()) if w)


class FolderCodes:
    """The words by which a corpus's folders name its speakers or emotion codes.

    `codes` are matched as folder words themselves (TESS's 'OAF', 'angry'); `aliases` map other
    folder words onto a code (TESS's 'Pleasant_surprise' -> 'ps', RAVDESS's 'Actor_01' -> '01').
    A code that any folder might hold as a word (a single letter, a small number) is better
    given only as an alias's target: a folder 'A' or '01' then names nothing by accident. Words
    match in any case, whatever separates them.
    """

    def __init__(self, what: str, codes: Iterable[str] = (), aliases: Mapping[str, str] | None = None):
        self.what = what  # "speaker" or "emotion", for the messages
        self.words: dict[str, str] = {}
        for word, code in [*((c, c) for c in codes), *(aliases or {}).items()]:
            key = _as_word(word)
            if not key:
                raise ValueError(f"folder word '{word}' for {what} '{code}' has no letters or digits")
            if self.words.setdefault(key, code) != code:
                raise ValueError(f"folder word '{word}' would name both {what} '{self.words[key]}' and '{code}'")

    def named_by(self, path: Path, root: Path) -> dict[str, str]:
        """The codes named by the folders between `root` (not included: the user chose its name)
        and the file: code -> the nearest folder naming it."""
        named: dict[str, str] = {}
        for folder in reversed(Path(path).parent.relative_to(root).parts):
            for word in sorted(folder_words(folder) & self.words.keys()):
                named.setdefault(self.words[word], folder)
        return named


@dataclass(frozen=True)
class Pick:
    """A speaker or emotion code for one file; `note` says so when it came from a folder in
    place of the name's (CorpusData.add lists it if the file is kept)."""

    code: str
    note: str | None = None


def name_or_folder(path: Path, root: Path, folders: FolderCodes, *, name_code: str | None, name_text: str | None,
                   skips: Skips, unknown: tuple[str, str]) -> Pick | None:
    """The speaker or emotion of one file: the name's where it gives a known one, else the folders'.

    `name_code` is the known code the name gives (None when it is not a known one), `name_text`
    what the name holds in that place (None where the layout leaves it out of the name, as
    SAVEE's AudioData/DC/a01.wav: the folder is then the source, and no note is made).
    Returns None after recording the skip: a folder that names only other codes than the name's
    (a conflict, never settled silently), folders that name several codes when the name gives
    none, or neither name nor folder giving one (`unknown`: reason and detail).
    """
    what = folders.what
    named = folders.named_by(path, root)
    if name_code is not None:
        if named and name_code.casefold() not in {c.casefold() for c in named}:
            code, folder = next(iter(named.items()))
            skips.add(path, f"{what} folder and file name disagree",
                      f"the name has {what} '{name_text}', folder '{folder}' names '{code}'")
            return None
        return Pick(name_code)
    if len(named) == 1:
        code, folder = next(iter(named.items()))
        if name_text is None:
            return Pick(code)
        return Pick(code, f"{what} '{code}' (folder '{folder}'; the name has '{name_text}', not a known {what})")
    if named:
        skips.add(path, f"folders name several {what}s",
                  ", ".join(f"'{c}' ({f})" for c, f in named.items())
                  + ("" if name_text is None else f"; the name has '{name_text}', not a known {what}"))
        return None
    skips.add(path, *unknown)
    return None


# ---------------------------------------------------------------------------------------------
# The data directory


@dataclass
class Utterance:
    spk: str
    path: Path
    emotion: str
    lang: str | None  # None for faces
    va: tuple[float, ...] | None = None
    face: str | None = None  # utt2face value (box and landmarks) of an image


class CorpusData:
    """The utterances of one corpus, collected one by one and written as a data directory."""

    def __init__(self, corpus: str, labels: LabelMap, skips: Skips, media: str = "wav.scp"):
        if media not in ("wav.scp", "img.scp"):
            raise ValueError(f"media must be wav.scp or img.scp, not {media}")
        self.media = media
        if media == "img.scp":
            skips.noun = "image"
        self.corpus = corpus
        self.labels = labels
        self.skips = skips
        self.utts: dict[str, Utterance] = {}
        self.genders: dict[str, str] = {}
        self.notes: list[str] = []
        self.from_folder = FolderNotes(skips.prog)

    @property
    def prog(self) -> str:
        return self.skips.prog

    def note(self, message: str) -> None:
        """A line for the summary (counts of label rows without audio and the like)."""
        self.notes.append(message)

    def add(self, *, utt: str, spk: str, path: Path, code: str, lang: str | None, gender: str | None = None,
            va: Sequence[float] | None = None, face: str | None = None,
            from_folder: Iterable[str | None] = ()) -> bool:
        """Adds one utterance; returns False (and records why) if it is skipped.

        `code` is the corpus's emotion code, mapped through the label map. `utt` must begin with
        `spk` (docs/DESIGN.md, "The data directory"), and both with the corpus name, so that ids
        stay unique and sorted alike when corpora are combined. `va` is already scaled to [-1, 1]. `from_folder`
        holds the notes of `name_or_folder` (None where the name served): listed if the file is kept.
        """
        emotion = self.labels.get(code)
        if emotion is None:
            self.skips.add(path, "emotion code not in the label map", self.labels.unknown_reason(code))
            return False
        return self.add_label(utt=utt, spk=spk, path=path, emotion=emotion, lang=lang, gender=gender, va=va,
                              face=face, from_folder=from_folder)

    def add_label(self, *, utt: str, spk: str, path: Path, emotion: str, lang: str | None, gender: str | None = None,
                  va: Sequence[float] | None = None, face: str | None = None,
                  from_folder: Iterable[str | None] = ()) -> bool:
        """As `add`, with the shared label already looked up (IEMOCAP filters on it first)."""
        given = path
        # Ids come from file names; these checks are guards against a script's own mistakes
        # and against names that no rule foresaw, so they skip the file rather than stop.
        if _WHITESPACE.search(utt) or _WHITESPACE.search(spk):
            self.skips.add(path, "utterance or speaker id would contain whitespace", f"'{utt}'")
            return False
        if not spk.startswith(f"{self.corpus}-") or not (utt == spk or utt.startswith(f"{spk}-")):
            raise ValueError(f"{self.prog}: bad ids from {path}: utterance '{utt}' must begin with speaker "
                             f"'{spk}', which must begin with '{self.corpus}-'")
        path = Path(path).resolve()
        if "\n" in str(path) or "\r" in str(path):
            self.skips.add(path, "path holds a line break, which wav.scp cannot hold")
            return False
        notes = [n for n in from_folder if n]
        # A file whose name gives the id outranks one that got it from a folder, whatever the
        # walk order: OAF_bite_neutral.wav beside the mended OA_bite_neutral.wav is the one kept.
        displace = utt in self.utts and utt in self.from_folder and not notes
        if utt in self.utts and not displace:
            self.skips.add(path, "duplicate utterance id", f"'{utt}' is already {self.utts[utt].path}")
            return False
        if va is not None:
            va = tuple(float(x) for x in va)
            if not all(math.isfinite(x) and -1.0 <= x <= 1.0 for x in va):
                self.skips.add(path, "dimensional label outside the rating scale", " ".join(f"{x:g}" for x in va))
                return False
        if gender is not None:
            if self.genders.setdefault(spk, gender) != gender:
                self.skips.add(path, "gender differs from the speaker's other files",
                               f"'{gender}' for {spk}, which is '{self.genders[spk]}'")
                return False
        if displace:
            self.skips.add(self.utts[utt].path, "duplicate utterance id",
                           f"'{utt}', taken from the folder, is also {path}, whose name gives it: that one is kept")
            self.from_folder.pop(utt)
        self.utts[utt] = Utterance(spk, path, emotion, lang, va, face)
        if notes:
            self.from_folder.add(utt, given, "; ".join(notes))
        return True

    def utt2spk(self) -> dict[str, str]:
        return {u: x.spk for u, x in self.utts.items()}

    def write(self, out: str | Path) -> None:
        """Writes the data directory, spk2utt last, then prints the skips and the counts."""
        out = Path(out)
        self.skips.report()
        self.from_folder.report()
        if not self.utts:
            raise CorpusError(f"no usable utterances ({len(self.skips)} {self.skips.noun} file(s) skipped)")
        with_va = [u for u, x in self.utts.items() if x.va is not None]
        if with_va and len(with_va) != len(self.utts):
            raise ValueError(f"{self.prog}: {len(self.utts) - len(with_va)} utterance(s) have no dimensional "
                             "labels while others do")
        out.mkdir(parents=True, exist_ok=True)
        files = {
            self.media: {u: str(x.path) for u, x in self.utts.items()},
            "utt2spk": self.utt2spk(),
            "utt2emo": {u: x.emotion for u, x in self.utts.items()},
            "utt2corpus": {u: self.corpus for u in self.utts},
        }
        if any(x.lang is not None for x in self.utts.values()):
            files["utt2lang"] = {u: x.lang or "und" for u, x in self.utts.items()}
        with_face = [u for u, x in self.utts.items() if x.face is not None]
        if with_face and len(with_face) != len(self.utts):
            raise ValueError(f"{self.prog}: {len(self.utts) - len(with_face)} image(s) have no face box while others do")
        if with_face:
            files["utt2face"] = {u: x.face for u, x in self.utts.items()}
        if with_va:
            files["utt2va"] = {u: " ".join(f"{v:.4f}" for v in x.va) for u, x in self.utts.items()}
        speakers = sorted(set(files["utt2spk"].values()))
        if self.genders:
            # Kaldi's spk2gender covers every speaker; 'u' where the corpus does not say.
            files["spk2gender"] = {s: self.genders.get(s, "u") for s in speakers}
        # Files of an earlier run that this one does not write would no longer match; spk2utt
        # goes first so that a directory interrupted here does not look complete.
        for name in ("spk2utt", *UTT_FILES, *SPK_FILES):
            if name not in files and (out / name).is_file():
                (out / name).unlink()
                say(self.prog, f"removed {out / name} of an earlier run")
        for name, mapping in files.items():
            write_map(out / name, mapping)
        write_map(out / "spk2utt", spk2utt_from_utt2spk(files["utt2spk"]))  # last: marks the dir complete
        # A self-check: what a prepare script writes must pass the check every stage runs.
        validate_data_dir(out, ValidateOptions(need_media=True, labels=set(self.labels.classes)))
        self.print_counts(out)

    def print_counts(self, out: Path) -> None:
        per_class = Counter(x.emotion for x in self.utts.values())
        per_spk = Counter(x.spk for x in self.utts.values())
        per_lang = Counter(x.lang for x in self.utts.values())
        from_folder = f", {len(self.from_folder)} with speaker or emotion from the folder" if self.from_folder else ""
        say(self.prog, f"wrote {out}: {len(self.utts)} utterances, {len(per_spk)} speakers, "
                       f"{len(self.skips)} {self.skips.noun} file(s) skipped{from_folder}")
        for message in self.notes:
            say(self.prog, message)
        say(self.prog, "per class: " + " ".join(f"{k}={v}" for k, v in sorted(per_class.items())))
        if len(per_lang) > 1:
            say(self.prog, "per language: " + " ".join(f"{k}={v}" for k, v in sorted(per_lang.items())))
        if len(per_spk) <= MAX_LISTED_SPEAKERS:
            say(self.prog, "per speaker: " + " ".join(f"{k}={v}" for k, v in sorted(per_spk.items())))
        else:
            n = sorted(per_spk.values())
            say(self.prog, f"per speaker: {len(n)} speakers, utterances min {n[0]}, median "
                           f"{statistics.median(n):g}, max {n[-1]} (more than {MAX_LISTED_SPEAKERS}: not listed)")


# ---------------------------------------------------------------------------------------------
# Folds


def emotion_of(path: Path, root: Path, folders: FolderCodes, labels: LabelMap, code: str, skips: Skips) -> Pick | None:
    """The emotion of a file whose name holds the label-map code `code`: the name's when the label
    map knows the code, else the folders' (name_or_folder), the label map's reason when neither."""
    return name_or_folder(path, root, folders, name_code=code if labels.get(code) else None, name_text=code,
                          skips=skips, unknown=("emotion code not in the label map", labels.unknown_reason(code)))

def default_protocol(num_speakers: int) -> tuple[str, int | None]:
    """Leave-one-speaker-out up to 12 speakers; above, test groups of about four speakers:
    ceil(n / 4) folds (docs/CORPORA.md, "Protocols")."""
    if num_speakers <= 12:
        return "loso", None
    return "groups", math.ceil(num_speakers / 4)


def clear_folds(folds_dir: Path, prog: str) -> None:
    """Removes fold<k> folders of an earlier run, which a run with fewer folds would leave stale."""
    if folds_dir.is_dir():
        for d in sorted(folds_dir.iterdir()):
            if d.is_dir() and _FOLD.match(d.name):
                shutil.rmtree(d)
                say(prog, f"removed {d} of an earlier run")


def write_folds(data_dir: str | Path, folds_dir: str | Path, prog: str, protocol: str | None = None,
                num_groups: int | None = None, num_dev_speakers: int = 1) -> list[Path]:
    """Speaker-independent folds of `data_dir` via emogcn.data.folds.make_folds; the protocol
    defaults to `default_protocol` of the number of speakers."""
    data_dir, folds_dir = Path(data_dir), Path(folds_dir)
    num_speakers = len(set(read_map(data_dir / "utt2spk").values()))
    if protocol is None:
        protocol, default_groups = default_protocol(num_speakers)
        num_groups = num_groups or default_groups
    elif protocol == "groups" and num_groups is None:
        num_groups = max(2, math.ceil(num_speakers / 4))
    clear_folds(folds_dir, prog)
    folds = make_folds(data_dir, folds_dir, protocol, num_groups, num_dev_speakers)
    say(prog, f"wrote {len(folds)} fold(s) under {folds_dir}: {protocol}"
              + (f", {num_groups} speaker groups" if protocol == "groups" else "")
              + f", {num_dev_speakers} dev speaker(s) per fold")
    return folds


def write_group_folds(data_dir: str | Path, folds_dir: str | Path, prog: str, test_groups: list[list[str]],
                      num_dev_speakers: int = 1) -> list[Path]:
    """Folds with given test-speaker groups (IEMOCAP's sessions); dev speakers are the ones after
    the test group in sorted order, as make_folds picks them."""
    folds_dir = Path(folds_dir)
    clear_folds(folds_dir, prog)
    folds = folds_from_groups(data_dir, folds_dir, test_groups, num_dev_speakers)
    say(prog, f"wrote {len(folds)} fold(s) under {folds_dir}")
    return folds


def write_fold_sets(data_dir: str | Path, fold_dir: str | Path, sets: dict[str, Iterable[str]]) -> None:
    """One fold from given utterance lists, e.g. {'train': [...], 'dev': [...], 'test': [...]}."""
    for name, utts in sets.items():
        utts = list(utts)
        if not utts:
            raise DataDirError(f"{data_dir}: the {name} set of {fold_dir} would be empty")
        subset_data_dir(data_dir, Path(fold_dir) / name, utts=utts)


# ---------------------------------------------------------------------------------------------
# Command line


def argument_parser(doc: str | None, protocol_options: bool = True) -> argparse.ArgumentParser:
    """The options every prepare script takes:
    [--labels conf/emotions.yaml] [--folds-dir DIR] [--protocol ...] <corpus-root> <data-dir>."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=Path("conf/emotions.yaml"),
                        help="the shared label space with this corpus's code map (default: %(default)s)")
    parser.add_argument("--folds-dir", type=Path, help="also write the protocol's folds here: fold<k>/{train,dev,test}")
    if protocol_options:
        parser.add_argument("--protocol", choices=["loso", "groups"],
                            help="fold protocol (default: loso up to 12 speakers, else groups of about 4)")
        parser.add_argument("--num-groups", type=int, help="speaker groups for --protocol groups")
        parser.add_argument("--num-dev-speakers", type=int, default=1, help="dev speakers per fold (default: 1)")
    parser.add_argument("root", type=Path, help="the corpus folder as unpacked")
    parser.add_argument("out", type=Path, help="the data directory to write")
    return parser


def run(prog: str, body: Callable[[], None]) -> int:
    """Runs a prepare script's body; bad input ends in one line on stderr and exit status 1."""
    try:
        body()
    except ValueError as e:  # CorpusError, ConfigError, DataDirError, and make_folds' bad options
        say(prog, f"error: {e}")
        return 1
    return 0
