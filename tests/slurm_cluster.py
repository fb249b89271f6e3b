"""A real single-node Slurm cluster for the tests: slurmctld and slurmd on this machine.

Debian's packages (tools/install_slurm.sh installs them when missing) run with AuthType=auth/none,
so no munge; every file (config, state, spool, logs) lives in one temporary directory, and the
ports are free ones picked at start, so two test runs on one machine do not meet. The node has two
fake GPUs as gres: device files that are links to /dev/null (slurmd only checks that they are
character devices; nothing opens them), enough for Slurm to hand each --gres=gpu:1 task its own
CUDA_VISIBLE_DEVICES. SlurmdParameters=config_overrides makes the node as big as the config says
(4 CPUs, 4000 MB), whatever the machine; a job that asks for no memory gets 100 MB per CPU, not the
whole node (which would run the tasks of an array one after another).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NODE = "emogcn-node"
PARTITION = "debug"
CPUS = 4
GPUS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(root: Path, host: str) -> str:
    return f"""ClusterName=emogcntest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=sched_min_interval=200000,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
MpiDefault=none
ReturnToService=2
GresTypes=gpu
NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={CPUS} RealMemory=4000 Gres=gpu:{GPUS} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """Starts the two daemons; `env` is what a Slurm client needs (SLURM_CONF); stop() ends them."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the Slurm tests start slurmd, which must run as root")
        install = subprocess.run([str(REPO / "tools/install_slurm.sh")], capture_output=True, text=True)
        if install.returncode != 0:
            raise RuntimeError(f"tools/install_slurm.sh failed:\n{install.stderr}")
        # Short: slurmd's sockets live in the spool directory, and a socket path has at most 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="emogcn-slurm-", dir="/tmp"))
        for d in ("state", "spool", "gpus"):
            (self.root / d).mkdir()
        for i in range(GPUS):
            os.symlink("/dev/null", self.root / "gpus" / f"nvidia{i}")
        host = socket.gethostname().split(".")[0]
        (self.root / "slurm.conf").write_text(_config(self.root, host))
        (self.root / "gres.conf").write_text(
            f"AutoDetect=off\nNodeName={NODE} Name=gpu File={self.root}/gpus/nvidia[0-{GPUS - 1}]\n")
        self.env = {"SLURM_CONF": str(self.root / "slurm.conf")}
        full_env = {**os.environ, **self.env}
        conf = str(self.root / "slurm.conf")
        self.daemons = []
        try:
            for name, cmd in (("slurmctld", ["slurmctld", "-D", "-i", "-f", conf]),
                              ("slurmd", ["slurmd", "-D", "-N", NODE, "-f", conf])):
                out = open(self.root / f"{name}.out", "w")
                self.daemons.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env,
                                                     stdin=subprocess.DEVNULL))
                out.close()
                if name == "slurmctld":
                    self._wait_for(["scontrol", "ping"], "UP", "slurmctld to answer")
            self._wait_for(["sinfo", "--noheader", "--format=%T"], "idle", "the node to be idle")
        except BaseException:
            self.stop()
            raise

    def _wait_for(self, cmd: list[str], word: str, what: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        out = ""
        while time.time() < deadline:
            for d in self.daemons:
                if d.poll() is not None:
                    raise RuntimeError(f"{d.args[0]} exited ({d.returncode}) while waiting for {what}:\n{self.logs()}")
            p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **self.env})
            out = p.stdout + p.stderr
            if word in out:
                return
            time.sleep(0.3)
        raise RuntimeError(f"timed out waiting for {what}; last answer: {out}\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out"):
            f = self.root / name
            if f.exists():
                parts.append(f"--- {name} (end)\n" + "\n".join(f.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(parts)

    def scontrol_job(self, job_id: str) -> list[dict[str, str]]:
        """`scontrol show job` of an array: one dict of fields per task."""
        p = subprocess.run(["scontrol", "--oneliner", "show", "job", job_id], capture_output=True, text=True,
                           env={**os.environ, **self.env}, check=True)
        return [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in p.stdout.splitlines() if line]

    def stop(self) -> None:
        for d in reversed(self.daemons):
            d.terminate()
            try:
                d.wait(timeout=15)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
        self.daemons = []
        shutil.rmtree(self.root, ignore_errors=True)
