#!/usr/bin/env python3
"""Trains one model with emogcn's own trainer and prints how fast its epochs ran (gpu_check.sh's helper).

    . ./path.sh && python benchmarks/train_timing.py --amp none|bf16|fp16 --epochs N [--gpu -1|N] \
        <config.yaml> <train-dir> <dev-dir|none> <graph-dir> <exp-dir>

The training is emogcn.training.trainer.train, unchanged: this helper only wraps the trainer's
train_one_epoch (which already returns each epoch's seconds, utterances and the seconds the loop
waited for batches, its data_wait) to keep those figures per epoch, and reads the peak GPU memory
(torch.cuda.max_memory_allocated) after the run. The config is the given one with `amp` and
`epochs` replaced, and without weight averaging (the scoring checkpoint is the last epoch), since
only speed is measured here. The exp dir is trained afresh (resume off).

Prints one line starting `timing:` with a JSON object: the device, amp, per-epoch seconds,
utterances and data-wait seconds of the training loop (validation excluded), the whole run's
seconds, peak GPU memory in MiB (null on the CPU), the process's peak RSS in MiB and its CPU seconds
in user and kernel (system) mode. `--keep-freed-memory false` measures the CPU run without
emogcn/training/heap.py (glibc's default thresholds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amp", default="none", help="none | bf16 | fp16 (fp16 needs CUDA)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--gpu", type=int, default=None, help="CUDA device (default: 0 when present, else CPU); -1: CPU")
    parser.add_argument("--num-threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--variant", choices=("single_task", "multi_task", "emotion_gcn"),
                        help="overrides the config's model.variant (as steps/train.sh --variant)")
    parser.add_argument("--keep-freed-memory", choices=("true", "false"), default="true",
                        help="true (as emogcn.bin.train does): glibc keeps freed memory (emogcn/training/heap.py)")
    parser.add_argument("config")
    parser.add_argument("train_dir", type=Path)
    parser.add_argument("dev_dir", help="the dev set, or none")
    parser.add_argument("graph_dir", type=Path)
    parser.add_argument("exp_dir", type=Path)
    args = parser.parse_args()

    import torch

    from emogcn.config import load_config
    from emogcn.log import setup_logging
    from emogcn.training import trainer
    from emogcn.training.config import TrainConfig

    setup_logging()
    if args.keep_freed_memory == "true":
        from emogcn.training.heap import keep_freed_memory

        keep_freed_memory()
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    cfg = load_config(TrainConfig, args.config)
    if args.variant:
        cfg.model.variant = args.variant
    cfg = dataclasses.replace(cfg, amp=args.amp, epochs=args.epochs, average_last=0, inference_checkpoint="last")

    epochs: list[dict] = []
    inner = trainer.train_one_epoch

    def timed_epoch(*a, **kw):
        sums = inner(*a, **kw)
        epochs.append({"seconds": sums["seconds"], "utterances": sums["utterances"], "data_wait": sums["data_wait"]})
        return sums

    trainer.train_one_epoch = timed_epoch  # the trainer calls it by this module-level name
    device = trainer.select_device(args.gpu)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    dev_dir = None if args.dev_dir == "none" else Path(args.dev_dir)
    trainer.train(cfg, args.train_dir, dev_dir, args.graph_dir, args.exp_dir, gpu=args.gpu, resume=False)
    total = time.perf_counter() - t0
    peak_gpu = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("timing: " + json.dumps({
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""),
        "threads": torch.get_num_threads(), "amp": args.amp, "keep_freed_memory": args.keep_freed_memory,
        "epochs": epochs, "total_s": total,
        "peak_gpu_mb": peak_gpu, "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_user_s": usage.ru_utime, "cpu_system_s": usage.ru_stime}), flush=True)


if __name__ == "__main__":
    main()
