# How jobs run; sourced by every recipe (egs/*/cmd.sh link here). train_cmd runs the CPU jobs
# (features, CMVN, graphs); cuda_cmd the jobs that want a GPU (training, inference).
# utils/run.pl runs them on this machine; with --gpu 1 each running job gets a GPU of its own
# in CUDA_VISIBLE_DEVICES when several are visible (and the machine as it is when none is).
export train_cmd="utils/run.pl"
export cuda_cmd="utils/run.pl --gpu 1"

# On a Slurm cluster, utils/slurm.pl has the same interface: each call is one sbatch job array,
# waited for, with a log per job. The nodes must see this directory at the same path. --mem is
# per thread (as in Kaldi); --partition P, or --config FILE for more sbatch arguments (account,
# QoS), fit it to your site:
# export train_cmd="utils/slurm.pl --mem 4G --time 4:00:00"
# export cuda_cmd="utils/slurm.pl --gpu 1 --num-threads 4 --mem 8G --time 24:00:00"
