"""The command line that run.pl and slurm.pl share (Kaldi's), and the log format they both write.

  <runner> [options] [JOB=1:N] <log-file> <command> [<args>...]

Options and the JOB range may come in any order before the log file, as in Kaldi, so that
`cuda_cmd="utils/run.pl --gpu 1"` can be followed by more options; a later option overrides an
earlier one. `--opt value` and `--opt=value` are both accepted.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import sys
from dataclasses import dataclass
from typing import Sequence

# Slurm's time formats: minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s, or no limit.
_TIME = re.compile(r"\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|UNLIMITED|INFINITE", re.IGNORECASE)
_MEM = re.compile(r"[1-9]\d*[KMGT]?", re.IGNORECASE)
_RANGE = re.compile(r"([A-Za-z_]\w*)=(\d+)(?::(\d+))?")
_ENDED = re.compile(r"^# Ended \(code (-?\d+)\)", re.MULTILINE)


class UsageError(Exception):
    """A bad command line: the message says what is wrong."""


@dataclass
class JobSpec:
    log: str
    command: str
    job_var: str | None = None
    first: int = 1
    last: int = 1
    max_jobs_run: int | None = None
    num_threads: int = 1
    gpu: int = 0
    mem: str | None = None
    time: str | None = None
    config: str | None = None
    partition: str | None = None

    @property
    def job_ids(self) -> range:
        return range(self.first, self.last + 1)

    def substitute(self, text: str, job_id: int) -> str:
        if self.job_var is None:
            return text
        return re.sub(rf"\b{self.job_var}\b", str(job_id), text)

    def log_of(self, job_id: int) -> str:
        return self.substitute(self.log, job_id)

    def command_of(self, job_id: int) -> str:
        return self.substitute(self.command, job_id)


def _positive(opt: str, value: str, minimum: int = 1) -> int:
    if not value.isdigit() or int(value) < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise UsageError(f"{opt} takes {kind}, not '{value}'")
    return int(value)


def _set_option(spec: dict, opt: str, value: str) -> None:
    if opt == "--max-jobs-run":
        spec["max_jobs_run"] = _positive(opt, value)
    elif opt == "--num-threads":
        spec["num_threads"] = _positive(opt, value)
    elif opt == "--gpu":
        spec["gpu"] = _positive(opt, value, minimum=0)
    elif opt == "--mem":
        if not _MEM.fullmatch(value):
            raise UsageError(f"--mem takes an amount like 500M or 4G, not '{value}'")
        spec["mem"] = value.upper()
    elif opt == "--time":
        if not _TIME.fullmatch(value):
            raise UsageError(f"--time takes a time limit like 1:00:00 or 2-00:00:00, not '{value}'")
        spec["time"] = value
    elif opt == "--config":
        spec["config"] = value
    elif opt == "--partition":
        if not value:
            raise UsageError("--partition takes a partition name")
        spec["partition"] = value


def build_command(args: list[str]) -> str:
    """Words without whitespace reach the shell as written (so "|" or ">" work as in Kaldi); others are quoted."""
    return " ".join(a if a and not re.search(r"\s", a) else shlex.quote(a) for a in args)


def parse(argv: list[str], options: set[str]) -> JobSpec:
    """Reads the runner's command line; `options` are those this runner takes."""
    spec: dict = {}
    argv = list(argv)
    while argv:
        m = _RANGE.fullmatch(argv[0])
        if m:
            first = int(m.group(2))
            last = int(m.group(3)) if m.group(3) is not None else first
            if last < first:
                raise UsageError(f"empty job range {argv[0]}")
            spec.update(job_var=m.group(1), first=first, last=last)
            argv = argv[1:]
            continue
        if not argv[0].startswith("--"):
            break
        opt, eq, value = argv[0].partition("=")
        if opt not in options:
            raise UsageError(f"unknown option {opt}")
        if not eq:
            if len(argv) < 2:
                raise UsageError(f"option {opt} needs a value")
            value = argv[1]
            argv = argv[1:]
        _set_option(spec, opt, value)
        argv = argv[1:]
    if len(argv) < 2:
        raise UsageError("need a log file and a command")
    job = JobSpec(log=argv[0], command=build_command(argv[1:]), **spec)
    if job.job_var is not None and job.last > job.first and not re.search(rf"\b{job.job_var}\b", job.log):
        raise UsageError(f"the log name {job.log} must contain {job.job_var} when running several jobs")
    return job


def now() -> str:
    return datetime.datetime.now().strftime("%c")


def header(command: str, notes: Sequence[str] = ()) -> str:
    """The top of a job's log: its command, start time and anything the runner chose for it."""
    return f"# {command}\n# Started at {now()}\n" + "".join(f"# {n}\n" for n in notes) + "#\n"


def footer(code: int, elapsed: float, threads: int) -> str:
    return (f"# Accounting: time={elapsed:.0f} threads={threads}\n"
            f"# Ended (code {code}) at {now()}, elapsed time {elapsed:.0f} seconds\n")


def exit_code_in_log(log: str) -> int | None:
    """The exit code a finished job wrote at the end of its log; None while it has not."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            tail = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    codes = _ENDED.findall(tail)
    return int(codes[-1]) if codes else None


def report(prog: str, results: list[tuple[str, int | None, str]]) -> int:
    """Prints which jobs failed, naming their logs; the runner's exit status.

    `results` holds (log, exit code or None, why there is no code) per job.
    """
    failed = [(log, code, why) for log, code, why in results if code != 0]
    for log, code, why in failed:
        if code is None:
            print(f"{prog}: {log}: no exit status: {why}", file=sys.stderr)
    if not failed:
        return 0
    if len(results) == 1:
        log, code, _ = failed[0]
        status = f"exit code {code}" if code is not None else "no exit status"
        print(f"{prog}: job failed ({status}), log is in {log}", file=sys.stderr)
    else:
        names = " ".join(log for log, _, _ in failed)
        print(f"{prog}: {len(failed)} / {len(results)} jobs failed, logs: {names}", file=sys.stderr)
    return 1


def main_wrapper(prog: str, usage: str, main) -> None:
    """Runs main(argv), turning a UsageError into one line and the usage."""
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        sys.exit(f"{prog}: {e}\nusage: {usage}")
