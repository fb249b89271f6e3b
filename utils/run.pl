#!/usr/bin/env python3
"""Runs a command, or an array of jobs, on this machine with a log per job (Kaldi's run.pl).

  utils/run.pl [options] [JOB=1:N] <log-file> <command> [<args>...]

JOB=1:N runs N copies with JOB replaced by 1..N in the log name and the command. Each log holds
the command, its output and its start/end time and exit code. Exits non-zero, naming the failed
logs, when any job fails. Options: --max-jobs-run M (jobs at once; default all),
--num-threads, --gpu, --mem, --time (accepted so cluster queue options pass through).

Arguments without whitespace reach the shell as written (so "|" or ">" work as in Kaldi); those
with whitespace are quoted. Written in Python; the name is Kaldi's so recipes port unchanged.
"""
import datetime
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

QUEUE_OPTIONS = {"--num-threads", "--gpu", "--mem", "--time", "--config"}


def usage(msg):
    sys.exit(f"run.pl: {msg}\nusage: utils/run.pl [--max-jobs-run M] [JOB=1:N] <log-file> <command> [<args>...]")


def build_command(args):
    words = []
    for a in args:
        if a and not re.search(r"\s", a):
            words.append(a)
        else:
            words.append(shlex.quote(a))
    return " ".join(words)


def run_job(cmd, log, job_var, job_id):
    if job_var is not None:
        cmd = re.sub(rf"\b{job_var}\b", str(job_id), cmd)
        log = re.sub(rf"\b{job_var}\b", str(job_id), log)
    os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
    start = time.time()
    with open(log, "w", encoding="utf-8") as f:
        f.write(f"# {cmd}\n# Started at {datetime.datetime.now().strftime('%c')}\n#\n")
        f.flush()
        code = subprocess.call(["bash", "-c", "set -o pipefail; " + cmd], stdout=f, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        elapsed = time.time() - start
        f.write(f"# Accounting: time={elapsed:.0f} threads=1\n")
        f.write(f"# Ended (code {code}) at {datetime.datetime.now().strftime('%c')}, elapsed time {elapsed:.0f} seconds\n")
    return log, code


def main(argv):
    max_jobs = None
    while argv and argv[0].startswith("--"):
        opt = argv[0]
        if len(argv) < 2:
            usage(f"option {opt} needs a value")
        if opt == "--max-jobs-run":
            if not argv[1].isdigit() or int(argv[1]) < 1:
                usage(f"--max-jobs-run takes a positive integer, not '{argv[1]}'")
            max_jobs = int(argv[1])
        elif opt not in QUEUE_OPTIONS:
            usage(f"unknown option {opt}")
        argv = argv[2:]
    job_var, first, last = None, 1, 1
    if argv:
        m = re.fullmatch(r"([A-Za-z_]\w*)=(\d+):(\d+)", argv[0])
        if m:
            job_var, first, last = m.group(1), int(m.group(2)), int(m.group(3))
            if last < first:
                usage(f"empty job range {argv[0]}")
            argv = argv[1:]
        elif re.fullmatch(r"([A-Za-z_]\w*)=(\d+)", argv[0]):
            m = re.fullmatch(r"([A-Za-z_]\w*)=(\d+)", argv[0])
            job_var, first, last = m.group(1), int(m.group(2)), int(m.group(2))
            argv = argv[1:]
    if len(argv) < 2:
        usage("need a log file and a command")
    log, cmd = argv[0], build_command(argv[1:])
    if job_var is not None and last > first and not re.search(rf"\b{job_var}\b", log):
        usage(f"the log name {log} must contain {job_var} when running several jobs")
    jobs = range(first, last + 1)
    with ThreadPoolExecutor(max_workers=max_jobs or len(jobs)) as pool:
        results = list(pool.map(lambda j: run_job(cmd, log, job_var, j), jobs))
    failed = [(lg, code) for lg, code in results if code != 0]
    if failed:
        if len(results) == 1:
            print(f"run.pl: job failed (exit code {failed[0][1]}), log is in {failed[0][0]}", file=sys.stderr)
        else:
            names = " ".join(lg for lg, _ in failed)
            print(f"run.pl: {len(failed)} / {len(results)} jobs failed, logs: {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
