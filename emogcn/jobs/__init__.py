"""Running a command or an array of jobs the Kaldi way: utils/run.pl here, utils/slurm.pl on Slurm.

spec (the shared command line: options, JOB=1:N, log, command), gpus (which GPU each local job
gets), local (run.pl), slurm (slurm.pl). Standard library only, so that the job runners start
without the training environment's imports.
"""
