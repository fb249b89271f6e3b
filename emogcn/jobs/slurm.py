"""utils/slurm.pl: the same interface as run.pl, each job array submitted to Slurm with sbatch.

  utils/slurm.pl [options] [JOB=1:N] <log-file> <command> [<args>...]

One sbatch job array per call (tasks first..last), waited for; each task's output is its log
(sbatch --output, JOB replaced by the task id), which the job script starts with the command, the
node, the Slurm job id and the start time and ends with the exit code, as run.pl's logs do. Exits
non-zero, naming the failed logs, when any task failed or was ended by Slurm (time limit, memory,
scancel, node failure: the log then has no exit code and Slurm's state is reported). Interrupting
slurm.pl cancels the array.

Options, as sbatch arguments:
  --num-threads N    --cpus-per-task=N
  --mem 4G           --mem-per-cpu=4G (per thread, as in Kaldi's slurm.pl and queue.pl)
  --gpu N            --gres=gpu:N (N > 0; Slurm sets the task's CUDA_VISIBLE_DEVICES)
  --time 1:00:00     --time=1:00:00
  --max-jobs-run M   --array=first-last%M (at most M tasks at once)
  --partition P      --partition=P
  --config FILE      more sbatch arguments for this site, whitespace-separated, '#' comments
                     (e.g. --account=x --qos=y); they come after the ones above, so they win

Tasks run in the submitting directory with its environment (--chdir, --export=ALL): the cluster
must share the file system, as Kaldi assumes. The job script is kept as <log-dir>/q/<name>.sh.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from emogcn.atomic import atomic_open
from emogcn.jobs import spec

PROG = "slurm.pl"
USAGE = ("utils/slurm.pl [--num-threads N] [--mem 4G] [--gpu N] [--time 1:00:00] [--max-jobs-run M] "
         "[--partition P] [--config FILE] [JOB=1:N] <log-file> <command> [<args>...]")
OPTIONS = {"--max-jobs-run", "--num-threads", "--gpu", "--mem", "--time", "--config", "--partition"}

# How long a task's exit code may take to appear in its log after Slurm says the task is done
# (a shared file system can show the file late on the submitting host).
LOG_WAIT_S = 30
POLL_MAX_S = 10


def job_name(job: spec.JobSpec) -> str:
    base = os.path.basename(job.log)
    if job.job_var:
        base = re.sub(rf"[._-]?\b{job.job_var}\b", "", base)
    base = re.sub(r"\.log$", "", base)
    return re.sub(r"[^\w.-]", "_", base) or "job"


def output_pattern(job: spec.JobSpec) -> str:
    """sbatch's --output for the task logs: JOB becomes %a, the array task id."""
    pattern = os.path.abspath(job.log).replace("%", "%%")
    return re.sub(rf"\b{job.job_var}\b", "%a", pattern) if job.job_var else pattern


def site_arguments(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise spec.UsageError(f"cannot read --config {path}: {e.strerror}") from None
    return shlex.split(text, comments=True)


def sbatch_command(job: spec.JobSpec, script: str) -> list[str]:
    array = f"{job.first}-{job.last}" + (f"%{job.max_jobs_run}" if job.max_jobs_run else "")
    args = ["sbatch", "--parsable", f"--job-name={job_name(job)}", f"--array={array}",
            f"--output={output_pattern(job)}", "--open-mode=truncate", f"--chdir={os.getcwd()}", "--export=ALL",
            f"--cpus-per-task={job.num_threads}"]
    if job.mem:
        args.append(f"--mem-per-cpu={job.mem}")
    if job.gpu > 0:
        args.append(f"--gres=gpu:{job.gpu}")
    if job.time:
        args.append(f"--time={job.time}")
    if job.partition:
        args.append(f"--partition={job.partition}")
    if job.config:
        args += site_arguments(job.config)
    return args + [script]


def job_script(job: spec.JobSpec) -> str:
    """A bash script that runs the task's own command, chosen by SLURM_ARRAY_TASK_ID, and writes
    run.pl's log header and footer around its output. The commands are substituted here, by the
    same rule as run.pl, so that JOB inside quotes is replaced too."""
    cases = "".join(f"  {j}) cmd={shlex.quote(job.command_of(j))} ;;\n" for j in job.job_ids)
    return f"""#!/usr/bin/env bash
# Written by utils/slurm.pl for {job.log}: task $SLURM_ARRAY_TASK_ID runs its command below;
# the task's output (sbatch --output) is its log.
case "${{SLURM_ARRAY_TASK_ID:-}}" in
{cases}  *) echo "$0: no command for array task '${{SLURM_ARRAY_TASK_ID:-}}'" >&2; exit 100 ;;
esac
printf '# %s\\n' "$cmd"
printf '# Started at %s\\n' "$(date)"
printf '# Slurm job %s_%s on %s\\n' "$SLURM_ARRAY_JOB_ID" "$SLURM_ARRAY_TASK_ID" "$(hostname)"
[ -z "${{CUDA_VISIBLE_DEVICES:-}}" ] || printf '# CUDA_VISIBLE_DEVICES=%s\\n' "$CUDA_VISIBLE_DEVICES"
echo "#"
start=$(date +%s)
bash -c "set -o pipefail; $cmd" </dev/null
code=$?
elapsed=$(( $(date +%s) - start ))
printf '# Accounting: time=%s threads=%s\\n' "$elapsed" "${{SLURM_CPUS_PER_TASK:-1}}"
printf '# Ended (code %s) at %s, elapsed time %s seconds\\n' "$code" "$(date)" "$elapsed"
exit $code
"""


def submit(job: spec.JobSpec) -> str:
    """Writes the job script and the log directories, submits the array; its Slurm job id."""
    for j in job.job_ids:
        log = job.log_of(j)
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        # An old log ends with an exit code, which would read as this task having finished.
        if os.path.lexists(log):
            os.remove(log)
    script = os.path.join(os.path.dirname(job.log_of(job.first)) or ".", "q", job_name(job) + ".sh")
    with atomic_open(script) as f:
        f.write(job_script(job))
    os.chmod(script, 0o755)
    cmd = sbatch_command(job, script)
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    job_id = p.stdout.strip().split(";")[0]  # --parsable: "<id>[;<cluster>]"
    if p.returncode != 0 or not job_id.isdigit():
        why = " ".join(p.stderr.split()) or f"exit code {p.returncode}, output '{p.stdout.strip()}'"
        raise SubmitError(f"sbatch refused {job.log}: {why} (command: {shlex.join(cmd)})")
    return job_id


class SubmitError(Exception):
    pass


def in_queue(job_id: str) -> bool | None:
    """Whether any task of the array is still pending or running; None when squeue cannot tell."""
    p = subprocess.run(["squeue", "--noheader", "--array", "--jobs", job_id, "--format=%i"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode == 0:
        return bool(p.stdout.strip())
    if "Invalid job id" in p.stderr:  # finished and already purged from the controller
        return False
    return None


def task_states(job_id: str) -> dict[int, str]:
    """Slurm's state of each finished task (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...), where known."""
    p = subprocess.run(["scontrol", "--oneliner", "show", "job", job_id], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    states = {}
    for line in p.stdout.splitlines():
        task, state = re.search(r"\bArrayTaskId=(\d+)\b", line), re.search(r"\bJobState=(\S+)", line)
        if task and state:
            states[int(task.group(1))] = state.group(1)
    return states


def wait(job: spec.JobSpec, job_id: str) -> list[tuple[str, int | None, str]]:
    codes: dict[int, int] = {}
    pending = set(job.job_ids)
    interval, warned = 0.5, False
    while pending:
        for j in sorted(pending):
            code = spec.exit_code_in_log(job.log_of(j))
            if code is not None:
                codes[j] = code
                pending.discard(j)
        if not pending:
            break
        queued = in_queue(job_id)
        if queued is False:
            break
        if queued is None and not warned:
            print(f"{PROG}: squeue cannot tell the state of job {job_id}; still waiting for its logs", file=sys.stderr)
            warned = True
        time.sleep(interval)
        interval = min(interval * 1.5, POLL_MAX_S)
    why: dict[int, str] = {}
    if pending:
        states = task_states(job_id)
        # A task that Slurm ended (time limit, memory, scancel) never wrote its exit code: say so now.
        # One that COMPLETED or FAILED wrote it, perhaps not yet visible here: wait for it a while.
        for j in sorted(pending):
            state = states.get(j)
            if state is not None and state not in ("COMPLETED", "FAILED"):
                why[j] = f"Slurm ended task {job_id}_{j} ({state})"
        deadline = time.time() + LOG_WAIT_S
        while any(j not in why for j in pending) and time.time() < deadline:
            time.sleep(1)
            for j in sorted(pending):
                code = spec.exit_code_in_log(job.log_of(j))
                if j not in why and code is not None:
                    codes[j] = code
            pending -= set(codes)
        for j in pending:
            why.setdefault(j, f"task {job_id}_{j} left the queue ({states.get(j, 'state unknown')}) "
                              f"without writing it within {LOG_WAIT_S} s")
    return [(job.log_of(j), codes.get(j), why.get(j, "")) for j in job.job_ids]


def main(argv: list[str]) -> int:
    job = spec.parse(argv, OPTIONS)
    for tool in ("sbatch", "squeue", "scontrol"):
        if shutil.which(tool) is None:
            print(f"{PROG}: {tool} not found on PATH: slurm.pl runs on a Slurm submit host", file=sys.stderr)
            return 1
    submitted: list[str] = []

    def cancel(signum, _frame):
        if submitted:
            subprocess.run(["scancel", submitted[0]], capture_output=True, stdin=subprocess.DEVNULL)
            print(f"{PROG}: interrupted: cancelled Slurm job {submitted[0]} ({job.log})", file=sys.stderr)
        sys.exit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, cancel)
    try:
        submitted.append(submit(job))
    except SubmitError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return spec.report(PROG, wait(job, submitted[0]))
