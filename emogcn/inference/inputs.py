"""What `emogcn-predict` is asked to predict on: files, folders, Kaldi scp lists, or a list on stdin.

    file.wav        one input (whatever its name, soundfile sniffs the format; an unreadable one
                    becomes an error row, not a stop)
    folder/         every audio (or image) file below it, by extension, in sorted order
    list.scp        Kaldi `<key> <path>` or `<key> <command> |` lines (wav.scp, img.scp): keys name the rows
    -               one of the above per line of standard input
A malformed scp is an error before any work, with its file and line.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from emogcn.log import get_logger

logger = get_logger(__name__)

# soundfile's formats, by the extensions their files usually carry (the format itself is sniffed)
AUDIO_EXTENSIONS = frozenset({"wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "au",
                              "snd", "caf", "w64", "rf64", "sph", "nist", "voc", "wv", "mat", "sd2", "htk",
                              "pvf", "xi", "paf", "svx", "ircam", "sf", "mpc2k", "avr"})
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp", "ppm", "pgm", "pbm"})


class InputError(ValueError):
    """An input list that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class InputItem:
    key: str  # what names the input's row: the path as given, or the scp key
    spec: str  # a file path, or a Kaldi pipe `<command> |`


def read_scp(path: Path) -> list[InputItem]:
    items, seen = [], {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the list: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2:
            raise InputError(f"{path}:{n}: expected '<key> <path>' or '<key> <command> |', got '{line.strip()[:60]}'")
        key, spec = parts
        if key in seen:
            raise InputError(f"{path}:{n}: duplicate key '{key}' (first on line {seen[key]})")
        seen[key] = n
        items.append(InputItem(key, spec))
    return items


def walk_folder(folder: Path, extensions: frozenset[str]) -> list[InputItem]:
    """Files below `folder` with one of `extensions`, sorted; the others counted and logged."""
    found, skipped = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            (found if name.rsplit(".", 1)[-1].lower() in extensions else skipped).append(path)
    if skipped:
        logger.info("%s: %d file(s) of other types skipped (e.g. %s)", folder, len(skipped), skipped[0])
    if not found:
        logger.warning("%s: no %s files below it", folder, "/".join(sorted(extensions)[:4]) + "/...")
    return [InputItem(p, p) for p in found]


def expand_inputs(args: list[str], images: bool = False, stdin: IO[str] | None = None) -> list[InputItem]:
    """The inputs named by command-line arguments, in order."""
    extensions = IMAGE_EXTENSIONS if images else AUDIO_EXTENSIONS
    items: list[InputItem] = []
    for arg in args:
        if arg == "-":
            stream = stdin if stdin is not None else sys.stdin
            lines = [ln.strip() for ln in stream.read().splitlines()]
            items += expand_inputs([ln for ln in lines if ln and not ln.startswith("#") and ln != "-"], images)
            continue
        path = Path(arg)
        if path.is_dir():
            items += walk_folder(path, extensions)
        elif path.suffix == ".scp" and path.is_file():
            items += read_scp(path)
        else:
            items.append(InputItem(arg, arg))
    return items
