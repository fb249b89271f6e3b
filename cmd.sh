# How jobs are run. utils/run.pl runs them on this machine; a cluster wrapper (slurm.pl,
# queue.pl) with the same JOB=1:N interface can be dropped in here.
export train_cmd="utils/run.pl"
export cuda_cmd="utils/run.pl"
