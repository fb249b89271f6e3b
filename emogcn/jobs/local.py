"""utils/run.pl: a command, or an array of jobs, on this machine with a log per job (Kaldi's run.pl).

  utils/run.pl [options] [JOB=1:N] <log-file> <command> [<args>...]

JOB=1:N runs N copies with JOB replaced by 1..N in the log name and the command. Each log holds
the command, its output, and its start/end time and exit code. Exits non-zero, naming the failed
logs, when any job fails.

Options: --max-jobs-run M (jobs at once; default all); --gpu N: each running job gets N of the
visible GPUs of its own in CUDA_VISIBLE_DEVICES (see emogcn/jobs/gpus.py; with --gpu 0, or when no
GPU is visible, the environment is left as it is); --num-threads, --mem, --time and --config are
accepted so that cluster options pass through, and mean nothing here (as in Kaldi's run.pl).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from emogcn.jobs import gpus, spec

PROG = "run.pl"
USAGE = "utils/run.pl [--max-jobs-run M] [--gpu N] [JOB=1:N] <log-file> <command> [<args>...]"
OPTIONS = {"--max-jobs-run", "--num-threads", "--gpu", "--mem", "--time", "--config"}


def run_job(job: spec.JobSpec, job_id: int, devices: list[str]) -> tuple[str, int | None, str]:
    cmd, log = job.command_of(job_id), job.log_of(job_id)
    os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
    use_gpus = job.gpu > 0 and devices
    held = gpus.lease(devices, job.gpu, gpus.lock_dir()) if use_gpus else contextlib.nullcontext([])
    with held as mine, open(log, "w", encoding="utf-8") as f:
        env, notes = None, []
        if use_gpus:
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(mine)}
            notes.append(f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']}")
        f.write(spec.header(cmd, notes))
        f.flush()
        start = time.time()
        code = subprocess.call(["bash", "-c", "set -o pipefail; " + cmd], stdout=f, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env)
        f.write(spec.footer(code, time.time() - start, job.num_threads))
    return log, code, ""


def main(argv: list[str]) -> int:
    job = spec.parse(argv, OPTIONS)
    devices = gpus.visible_gpus() if job.gpu > 0 else []
    ids = job.job_ids
    with ThreadPoolExecutor(max_workers=job.max_jobs_run or len(ids)) as pool:
        results = list(pool.map(lambda j: run_job(job, j, devices), ids))
    return spec.report(PROG, results)
