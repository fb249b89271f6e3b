"""utils/slurm.pl against a real single-node Slurm (tests/slurm_cluster.py), and its sbatch arguments."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO
from emogcn.jobs import slurm, spec
from slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster():
    c = SlurmCluster()
    yield c
    c.stop()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    os.symlink(REPO / "utils", tmp_path / "utils")
    return tmp_path


def slurm_pl(cluster: SlurmCluster, cwd: Path, args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["bash", "-c", f"utils/slurm.pl {args}"], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, **cluster.env}, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"slurm.pl {args} still running after {timeout} s\n{cluster.logs()}") from e


def slurm_job_of(log: Path) -> tuple[str, str]:
    """(array job id, task id) from the log header that the job script writes."""
    m = re.search(r"^# Slurm job (\d+)_(\d+) on ", log.read_text(), re.MULTILINE)
    assert m, f"no Slurm job line in {log}:\n{log.read_text()}"
    return m.group(1), m.group(2)


def test_job_array_logs_threads_memory_and_time(cluster, work):
    p = slurm_pl(cluster, work, "--num-threads 2 --mem 100M --time 0:10:00 JOB=1:3 exp/log/t.JOB.log "
                                "bash -c 'echo job JOB cpus=$SLURM_CPUS_PER_TASK task=$SLURM_ARRAY_TASK_ID'")
    assert p.returncode == 0, p.stderr + cluster.logs()
    job_ids = set()
    for j in (1, 2, 3):
        log = work / f"exp/log/t.{j}.log"
        text = log.read_text()
        assert text.startswith(f"# bash -c 'echo job {j} cpus=$SLURM_CPUS_PER_TASK")
        assert f"\njob {j} cpus=2 task={j}\n" in text
        assert "# Started at" in text and "# Ended (code 0)" in text and "threads=2" in text
        job_id, task = slurm_job_of(log)
        assert task == str(j)
        job_ids.add(job_id)
    assert len(job_ids) == 1  # one array, not three jobs
    tasks = {t["ArrayTaskId"]: t for t in cluster.scontrol_job(job_ids.pop())}
    assert sorted(tasks) == ["1", "2", "3"]
    for t in tasks.values():
        assert t["JobState"] == "COMPLETED"
        assert t["MinMemoryCPU"] == "100M" and t["CPUs/Task"] == "2" and t["TimeLimit"] == "00:10:00"
        assert t["JobName"] == "t"
    script = (work / "exp/log/q/t.sh").read_text()
    assert "  3) cmd='bash -c '\"'\"'echo job 3" in script


def test_failed_jobs_are_named(cluster, work):
    p = slurm_pl(cluster, work, "JOB=1:3 exp/log/f.JOB.log test JOB -ne 2")
    assert p.returncode == 1
    assert "1 / 3 jobs failed, logs: " in p.stderr and "exp/log/f.2.log" in p.stderr
    assert "f.1.log" not in p.stderr and "f.3.log" not in p.stderr
    assert "# Ended (code 1)" in (work / "exp/log/f.2.log").read_text()
    assert "# Ended (code 0)" in (work / "exp/log/f.3.log").read_text()

    p = slurm_pl(cluster, work, "exp/log/one.log exit 3")
    assert p.returncode == 1
    assert "job failed (exit code 3), log is in exp/log/one.log" in p.stderr


def test_rerun_replaces_old_logs(cluster, work):
    log = work / "exp/log/r.log"
    log.parent.mkdir(parents=True)
    # A finished log from an earlier run must not be taken for this run's result.
    log.write_text("# old\n# Ended (code 0) at then\n")
    p = slurm_pl(cluster, work, "exp/log/r.log bash -c 'sleep 1; exit 4'")
    assert p.returncode == 1 and "exit code 4" in p.stderr
    assert "# old" not in log.read_text()


def test_gpus_as_gres_each_task_its_own(cluster, work):
    # Each task waits for the other's flag, so both run at once, each on one of the node's two GPUs.
    p = slurm_pl(cluster, work, "--gpu 1 JOB=1:2 exp/log/g.JOB.log bash -c "
                                "'touch flag.JOB; for i in $(seq 100); do [ -e flag.1 ] && [ -e flag.2 ] && "
                                "echo gpus=$CUDA_VISIBLE_DEVICES && exit 0; sleep 0.1; done; exit 1'")
    assert p.returncode == 0, p.stderr
    seen = [re.search(r"^gpus=(\S*)$", (work / f"exp/log/g.{j}.log").read_text(), re.MULTILINE).group(1)
            for j in (1, 2)]
    assert sorted(seen) == ["0", "1"]
    assert "# CUDA_VISIBLE_DEVICES=" in (work / "exp/log/g.1.log").read_text()
    job_id, _ = slurm_job_of(work / "exp/log/g.1.log")
    assert all(t["TresPerNode"] == "gres:gpu:1" for t in cluster.scontrol_job(job_id))


def test_max_jobs_run_throttles_the_array(cluster, work):
    # mkdir fails when the directory exists: two tasks running at once would fail one of them.
    p = slurm_pl(cluster, work, "--max-jobs-run 1 JOB=1:3 exp/log/m.JOB.log bash -c "
                                "'mkdir busy && sleep 1 && rmdir busy'")
    assert p.returncode == 0, p.stderr + "".join((work / f"exp/log/m.{j}.log").read_text() for j in (1, 2, 3))
    job_id, _ = slurm_job_of(work / "exp/log/m.1.log")
    assert {t["ArrayTaskThrottle"] for t in cluster.scontrol_job(job_id)} == {"1"}


def test_task_ended_by_slurm_is_reported(cluster, work):
    # The task cancels itself, as a time limit or an out-of-memory kill would end it: no exit code in its log.
    p = slurm_pl(cluster, work, "JOB=1:2 exp/log/c.JOB.log bash -c "
                                "'[ JOB = 1 ] || { scancel ${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID; sleep 60; }'", timeout=60)
    assert p.returncode == 1
    assert re.search(r"exp/log/c\.2\.log: no exit status: Slurm ended task \d+_2 \(CANCELLED", p.stderr), p.stderr
    assert "1 / 2 jobs failed, logs: exp/log/c.2.log" in p.stderr
    assert "# Ended" not in (work / "exp/log/c.2.log").read_text()


def test_interrupt_cancels_the_array(cluster, work):
    proc = subprocess.Popen(["utils/slurm.pl", "JOB=1:2", "exp/log/i.JOB.log", "sleep", "60"], cwd=work,
                            env={**os.environ, **cluster.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = work / "exp/log/i.1.log"
    deadline = time.time() + 30
    while not (log.exists() and "# Slurm job" in log.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    job_id, _ = slurm_job_of(log)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert f"cancelled Slurm job {job_id}" in err
    deadline = time.time() + 30
    while time.time() < deadline:
        states = {t["JobState"] for t in cluster.scontrol_job(job_id)}
        if states == {"CANCELLED"}:
            break
        time.sleep(0.5)
    assert states == {"CANCELLED"}


def test_sbatch_refusal_is_one_clear_line(cluster, work):
    p = slurm_pl(cluster, work, "--partition nosuch exp/log/x.log true")
    assert p.returncode == 1
    assert re.search(r"^slurm.pl: sbatch refused exp/log/x.log: .*[Ii]nvalid partition", p.stderr, re.MULTILINE), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_options_become_sbatch_arguments(tmp_path):
    site = tmp_path / "slurm.conf"
    site.write_text("# site options\n--account=emo --qos=short\n")
    job = spec.parse(["--gpu", "2", "--mem", "4g", "--num-threads", "3", "--time", "1:00:00",
                      "--max-jobs-run", "5", "--partition", "gpu", "--config", str(site),
                      "JOB=2:7", "exp/JOB/log/train.JOB.log", "train", "JOB"], slurm.OPTIONS)
    args = slurm.sbatch_command(job, "q/train.sh")
    assert args[0] == "sbatch" and args[-1] == "q/train.sh"
    for a in ("--array=2-7%5", "--cpus-per-task=3", "--mem-per-cpu=4G", "--gres=gpu:2", "--time=1:00:00",
              "--partition=gpu", "--job-name=train", "--export=ALL", "--open-mode=truncate"):
        assert a in args
    assert args[-3:-1] == ["--account=emo", "--qos=short"]  # site options last, so they win
    assert f"--output={os.getcwd()}/exp/%a/log/train.%a.log" in args
    # --gpu 0 asks for no gres at all; a later option overrides an earlier one (cuda_cmd="... --gpu 1").
    job = spec.parse(["--gpu", "1", "--gpu=0", "x.log", "true"], slurm.OPTIONS)
    args = slurm.sbatch_command(job, "s")
    assert not any(a.startswith("--gres") for a in args) and "--array=1-1" in args
    with pytest.raises(spec.UsageError, match="--mem takes an amount"):
        spec.parse(["--mem", "lots", "x.log", "true"], slurm.OPTIONS)
    with pytest.raises(spec.UsageError, match="--time takes a time limit"):
        spec.parse(["--time", "1h", "x.log", "true"], slurm.OPTIONS)
