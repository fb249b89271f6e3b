#!/usr/bin/env python3
"""Runs a command, or an array of jobs, on this machine with a log per job (Kaldi's run.pl).

  utils/run.pl [options] [JOB=1:N] <log-file> <command> [<args>...]

Options: --max-jobs-run M, --gpu N (each running job gets GPUs of its own), and --num-threads,
--mem, --time, --config, accepted for cluster options and ignored here. The code and its full
description are in emogcn/jobs/local.py; the name is Kaldi's so that recipes port unchanged.
"""
import os
import sys

# This checkout's emogcn, also when run.pl is called without path.sh (e.g. from a cluster wrapper).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from emogcn.jobs import local, spec  # noqa: E402

spec.main_wrapper(local.PROG, local.USAGE, local.main)
