"""Atomic file writes: a reader never sees a half-written file under its final name.

Each writer writes to a temporary name in the destination directory and renames it into place
only when the content is complete, so a stage killed midway leaves nothing that a later stage
could take as finished. The temporary name is fixed (`.<name>.tmp`, as Kaldi's scripts do it), so
the stage run again after a kill writes the same temporary file and leaves nothing behind; two
writers of one file at once would share it, which the recipe lock (one run per recipe directory)
and the per-file locks of shared files (RESULTS.md) rule out.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Callable, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path next to `path`; renames it to `path` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_name(f".{path.name}.tmp")
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 & ~_umask()))
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """open() for writing whose result appears under `path` only once closed without error."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def rewrite_lines(path: str | os.PathLike, edit: Callable[[list[str]], str]) -> None:
    """Read-modify-write of a text file shared by concurrent writers (RESULTS.md rows): `edit` gets
    the current lines (ends kept, the last one ending in a newline; [] when the file is absent) and
    returns the new text, written under a temporary name and renamed, all under a lock on the
    directory (no lock file left behind), so that no writer loses another's change."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        import fcntl

        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        write_text(path, edit(old.splitlines(keepends=True)))
    finally:
        os.close(dir_fd)  # also releases the lock


def repoint_scp(scp: str | os.PathLike, ark: str | os.PathLike) -> str:
    """Points every `<key> <ark>:<offset>` line of `scp` at `ark`, in place; returns the new text.

    For an ark and its scp written under temporary names (kaldiio's `ark,scp:` writer records the
    temporary ark's name): called on the temporary scp before the renames, so that the scp names
    the ark where it will be. Offsets are kept.
    """
    lines = []
    for line in Path(scp).read_text(encoding="utf-8").splitlines():
        key, location = line.split(" ", 1)
        lines.append(f"{key} {ark}:{location.rsplit(':', 1)[1]}\n")
    text = "".join(lines)
    Path(scp).write_text(text, encoding="utf-8")
    return text
