#!/usr/bin/env python3
"""Runs a command, or an array of jobs, on Slurm with run.pl's interface (Kaldi's slurm.pl).

  utils/slurm.pl [options] [JOB=1:N] <log-file> <command> [<args>...]

Options: --num-threads N, --mem 4G (per thread), --gpu N, --time 1:00:00, --max-jobs-run M,
--partition P, --config FILE (more sbatch arguments). One sbatch job array per call, waited for;
a log per job; a non-zero exit naming the failed logs. The code and its full description are in
emogcn/jobs/slurm.py.
"""
import os
import sys

# This checkout's emogcn, also when slurm.pl is called without path.sh.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from emogcn.jobs import slurm, spec  # noqa: E402

spec.main_wrapper(slurm.PROG, slurm.USAGE, slurm.main)
