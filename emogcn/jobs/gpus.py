"""Which GPU each local job gets: run.pl --gpu N gives every running job its own devices.

The visible devices are those of CUDA_VISIBLE_DEVICES when it is set, else those that
`nvidia-smi -L` lists. A job takes a lease on N of them and runs with CUDA_VISIBLE_DEVICES set to
that lease. Leases are lock files, one per (device, slot), held with flock for as long as the job
runs: a job takes the free slot 0 of some device first, and only when every device has a job does
it take a slot 1, and so on. So concurrent jobs never share a GPU while there are enough, and share
them evenly when there are not; and because the locks live in a directory shared by every run.pl
of this user (not in one process), separate run.pl calls running side by side, as the training
stage starts them, do not pile onto one device either. The kernel drops a lock when its holder
exits, however it exits, so no lock is ever left stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from typing import Iterator

LOCK_DIR_ENV = "RUN_PL_GPU_LOCK_DIR"


def visible_gpus(environ: dict | None = None) -> list[str]:
    """Device names as CUDA_VISIBLE_DEVICES would list them ("0", "1" or "GPU-<uuid>")."""
    environ = os.environ if environ is None else environ
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        devices = []
        for d in (x.strip() for x in listed.split(",")):
            if not d or d.startswith("-"):  # CUDA ignores everything from the first invalid entry on ("-1": none)
                break
            devices.append(d)
        return devices
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return re.findall(r"^GPU (\d+):", out, re.MULTILINE)


def lock_dir() -> str:
    d = os.environ.get(LOCK_DIR_ENV) or os.path.join(tempfile.gettempdir(), f"run.pl-gpus-{os.getuid()}")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def _try_lock(path: str) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _file_name(device: str) -> str:
    return re.sub(r"[^\w.-]", "_", device)


@contextlib.contextmanager
def lease(devices: list[str], count: int, directory: str) -> Iterator[list[str]]:
    """Holds `count` of `devices` (all of them if there are fewer), least-used first, until the block ends."""
    count = min(count, len(devices))
    taken: list[str] = []
    fds: list[int] = []
    try:
        slot = 0
        while len(taken) < count:
            for d in devices:
                if d in taken:
                    continue
                fd = _try_lock(os.path.join(directory, f"{_file_name(d)}.slot{slot}"))
                if fd is not None:
                    taken.append(d)
                    fds.append(fd)
                    if len(taken) == count:
                        break
            slot += 1
        yield taken
    finally:
        for fd in fds:
            os.close(fd)
