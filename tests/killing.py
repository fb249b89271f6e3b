"""SIGKILL at a moment inside a running stage, for the interruption tests and the kill soak.

A kill counts only when it lands inside the stage: the command was running, the stage had begun
(`started`) and had not finished (`finished`) at the moment of the kill. A delay that misses (the
stage not begun yet, or over already) is retried with the next one, so that every test asserts on
kills that really interrupted the work, however fast or slow the machine is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence


def start(cmd: str, cwd: Path, log: Path | None = None) -> subprocess.Popen:
    """The command in a session of its own, so that a kill reaches every process it started."""
    out = open(log, "ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=cwd, start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL)
    finally:
        if log is not None:
            out.close()


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL to the command's whole process group; returns once every member is gone (a member
    still dying would hold the recipe's lock against the next run)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    deadline = time.time() + 10
    while _live_members(proc.pid) and time.time() < deadline:
        time.sleep(0.01)


def _live_members(pgid: int) -> list[int]:
    """Processes of a process group that are not zombies (from /proc)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            live.append(int(stat.parent.name))
    return live


def kill_inside(cmd: str, cwd: Path, started: Callable[[], bool], finished: Callable[[], bool],
                wanted: int, after: Callable[[], None], before: Callable[[], None] | None = None,
                delays: Sequence[float] = (0.0, 0.2, 0.5, 1.0, 1.5, 2.5, 4.0), timeout: float = 120.0,
                start_over: Callable[[], bool] | None = None) -> list[float]:
    """Runs `cmd` again and again (after `before()`), each time killing it `delay` seconds after
    `started()` held, until `wanted` kills landed inside the stage: the command still running,
    started() true and finished() false at the kill. `after()` (the caller's assertions on what a
    killed stage leaves) runs after every landed kill. Returns the delays of the landed kills.

    For a chain of runs that each resume the last, `start_over()`, asked before each try, says
    the chain ran to its end (a try outlived its delay): the kills landed so far no longer count,
    and `before()` must clear the chain's outputs."""
    landed: list[float] = []
    tries = 0
    while len(landed) < wanted:
        delay = delays[tries % len(delays)]
        tries += 1
        if tries > 4 * len(delays) + wanted:
            raise AssertionError(f"only {len(landed)} of {wanted} kills landed inside `{cmd}` in {tries - 1} tries")
        if start_over is not None and start_over():
            landed = []
        if before is not None:
            before()
        proc = start(cmd, cwd)
        deadline = time.time() + timeout
        while not started() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        inside = proc.poll() is None and started() and not finished()
        kill(proc)
        if inside:
            landed.append(delay)
            after()
    return landed
