"""utils/run.pl --gpu: each running job gets its own GPU, with the visible devices faked
(CUDA_VISIBLE_DEVICES, or a stand-in nvidia-smi), and the cluster options it accepts."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO

# Each job waits until all N have started, so they certainly run at the same time.
WAIT_FOR_ALL = ("bash -c 'touch flag.JOB; for i in $(seq 100); do [ $(ls flag.* | wc -l) -ge {n} ] && "
                "echo seen=$CUDA_VISIBLE_DEVICES && exit 0; sleep 0.1; done; exit 1'")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    os.symlink(REPO / "utils", tmp_path / "utils")
    return tmp_path


def run(cwd: Path, cmd: str, env: dict[str, str | None], check: bool = True) -> subprocess.CompletedProcess:
    """Runs cmd with env's variables set (None: removed), GPU locks kept inside the test's directory."""
    full = {**os.environ, "RUN_PL_GPU_LOCK_DIR": str(cwd / "locks")}
    for k, v in env.items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    p = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, env=full, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"`{cmd}` failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def seen(work: Path, name: str, jobs) -> list[str]:
    """What CUDA_VISIBLE_DEVICES each job saw (the `seen=` line its command printed)."""
    out = []
    for j in jobs:
        m = re.search(r"^seen=(.*)$", (work / f"log/{name}.{j}.log").read_text(), re.MULTILINE)
        assert m, (work / f"log/{name}.{j}.log").read_text()
        out.append(m.group(1))
    return out


def test_each_running_job_gets_its_own_gpu(work):
    run(work, "utils/run.pl --gpu 1 JOB=1:3 log/a.JOB.log " + WAIT_FOR_ALL.format(n=3), {"CUDA_VISIBLE_DEVICES": "0,1,2"})
    assert sorted(seen(work, "a", (1, 2, 3))) == ["0", "1", "2"]
    log = (work / "log/a.1.log").read_text()
    assert re.search(r"^# CUDA_VISIBLE_DEVICES=[012]$", log, re.MULTILINE)


def test_more_jobs_than_gpus_share_them_evenly(work):
    run(work, "utils/run.pl --gpu 1 JOB=1:6 log/b.JOB.log " + WAIT_FOR_ALL.format(n=6), {"CUDA_VISIBLE_DEVICES": "0,1,2"})
    assert Counter(seen(work, "b", range(1, 7))) == {"0": 2, "1": 2, "2": 2}


def test_a_finished_job_frees_its_gpu(work):
    # Two at a time over three GPUs: whatever the order, no two running jobs share one.
    cmd = ("utils/run.pl --gpu 1 --max-jobs-run 2 JOB=1:6 log/c.JOB.log bash -c "
           "'mkdir busy.$CUDA_VISIBLE_DEVICES && echo seen=$CUDA_VISIBLE_DEVICES && sleep 0.3 && rmdir busy.$CUDA_VISIBLE_DEVICES'")
    run(work, cmd, {"CUDA_VISIBLE_DEVICES": "0,1,2"})  # a job that found its GPU busy would fail the run
    assert set(seen(work, "c", range(1, 7))) <= {"0", "1", "2"}


def test_separate_run_pl_calls_do_not_share_a_gpu(work):
    # The training stage starts one run.pl per training, side by side: the locks are shared between them.
    one = "utils/run.pl --gpu 1 log/d.JOB.log " + WAIT_FOR_ALL.format(n=2)
    # wait on both pids: `wait -n` twice answers 127 when both have ended before the second one
    run(work, f"({one.replace('JOB', '1')}) & a=$!; ({one.replace('JOB', '2')}) & b=$!; wait $a && wait $b",
        {"CUDA_VISIBLE_DEVICES": "4,7"})
    assert sorted(seen(work, "d", (1, 2))) == ["4", "7"]


def test_several_gpus_per_job(work):
    run(work, "utils/run.pl --gpu 2 JOB=1:2 log/e.JOB.log " + WAIT_FOR_ALL.format(n=2), {"CUDA_VISIBLE_DEVICES": "0,1,2,3"})
    got = seen(work, "e", (1, 2))
    assert sorted(d for s in got for d in s.split(",")) == ["0", "1", "2", "3"]
    assert all(len(s.split(",")) == 2 for s in got)


def test_devices_from_nvidia_smi_when_cuda_visible_devices_is_unset(work):
    fake = work / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text(
        "#!/bin/sh\n[ \"$1\" = -L ] || exit 2\n"
        "echo 'GPU 0: NVIDIA Fake (UUID: GPU-aaaa)'\n"
        "echo '  MIG 1g.10gb     Device  0: (UUID: MIG-bbbb)'\n"
        "echo 'GPU 1: NVIDIA Fake (UUID: GPU-cccc)'\n")
    (fake / "nvidia-smi").chmod(0o755)
    run(work, "utils/run.pl --gpu 1 JOB=1:2 log/f.JOB.log " + WAIT_FOR_ALL.format(n=2),
        {"CUDA_VISIBLE_DEVICES": None, "PATH": f"{fake}:{os.environ['PATH']}"})
    assert sorted(seen(work, "f", (1, 2))) == ["0", "1"]


@pytest.mark.parametrize("gpu_opt, visible, expected", [
    ("--gpu 0", "0,1,2", "0,1,2"),  # --gpu 0: the environment as it was
    ("", "0,1,2", "0,1,2"),         # no --gpu: the same
    ("--gpu 1", "", ""),            # no GPU visible: nothing to give
    ("--gpu 1", "-1", "-1"),
])
def test_without_gpu_request_or_gpus_nothing_changes(work, gpu_opt, visible, expected):
    run(work, f"utils/run.pl {gpu_opt} JOB=1:1 log/g.JOB.log bash -c 'echo seen=$CUDA_VISIBLE_DEVICES'",
        {"CUDA_VISIBLE_DEVICES": visible})
    assert seen(work, "g", [1]) == [expected]
    assert "# CUDA_VISIBLE_DEVICES" not in (work / "log/g.1.log").read_text()


def test_cluster_options_accepted_and_checked(work):
    run(work, "utils/run.pl --num-threads 4 --mem 2G --time 1:00:00 --config conf/queue.conf JOB=1:2 log/h.JOB.log "
              "echo JOB", {})
    log = (work / "log/h.2.log").read_text()
    assert "\n2\n" in log and "threads=4" in log
    # Options may follow the range, and a later one wins (cuda_cmd="utils/run.pl --gpu 1" + "--gpu 0").
    run(work, "utils/run.pl --gpu 1 JOB=1:1 --gpu=0 log/i.JOB.log bash -c 'echo seen=$CUDA_VISIBLE_DEVICES'",
        {"CUDA_VISIBLE_DEVICES": "5,6"})
    assert seen(work, "i", [1]) == ["5,6"]
    for bad, msg in (("--gpu one", "--gpu takes a non-negative integer, not 'one'"),
                     ("--mem 4GB", "--mem takes an amount like 500M or 4G"),
                     ("--num-threads 0", "--num-threads takes a positive integer"),
                     ("--time soon", "--time takes a time limit"),
                     ("--partition gpu", "unknown option --partition")):
        p = run(work, f"utils/run.pl {bad} log/x.log true", {}, check=False)
        assert p.returncode != 0 and f"run.pl: {msg}" in p.stderr, p.stderr
