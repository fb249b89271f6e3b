"""Speed of packaged networks on the CPU: eager PyTorch, TorchScript and ONNX Runtime, and of
prediction end to end (decode, resample, fbank, normalise, network) on EmoDB files.

    . ./path.sh
    python benchmarks/bench_export.py [--repeats 5] [--utts 64] [--emodb ../shared/corpora/emodb/wav]

The networks are the recipes' emotion_gcn configs (conf/train_ecapa.yaml: ECAPA-TDNN
on 80-dim fbank; conf/train_cnn.yaml: the 2-D CNN; conf/train_mlp.yaml: the
MLP on 6373 ComParE functionals), randomly initialised (speed does not depend on the weights),
packaged and exported in a temporary directory. Speech utterances are 3 s (300 frames); batches
of 1 and 16; one thread by default (--threads), so that the figures are per core and other work on
a shared machine disturbs them less. Each figure is the median over --repeats runs of --utts
utterances, after a warm-up, in wall-clock time and (in brackets) per CPU second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from emogcn.config import dump_config, load_config, to_dict  # noqa: E402
from emogcn.graph.build import GraphConfig, build_graph  # noqa: E402
from emogcn.inference import export  # noqa: E402
from emogcn.inference.model import build_inference_model  # noqa: E402
from emogcn.inference.package import load_package, write_package  # noqa: E402
from emogcn.training.config import TrainConfig  # noqa: E402

MODELS = [  # name, training config, front-end YAML, feature dim, frames per utterance
    ("ecapa_tdnn", "conf/train_ecapa.yaml", "conf/fbank.yaml", 80, 300),
    ("speech_cnn", "conf/train_cnn.yaml", "conf/fbank.yaml", 80, 300),
    ("mlp (ComParE)", "conf/train_mlp.yaml", "conf/compare.yaml", 6373, 1),
]
CLASSES = ("anger", "boredom", "disgust", "fear", "happiness", "neutral", "sadness")


def random_package(root: Path, config: str, frontend: str, dim: int) -> Path:
    """A package of a randomly initialised experiment of `config` over EmoDB's 7 classes."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    utts = [f"s1-u{i:02d}" for i in range(14)]
    (data / "utt2spk").write_text("".join(f"{u} s1\n" for u in utts))
    (data / "spk2utt").write_text("s1 " + " ".join(utts) + "\n")
    (data / "utt2emo").write_text("".join(f"{u} {CLASSES[i % 7]}\n" for i, u in enumerate(utts)))
    (data / "wav.scp").write_text("".join(f"{u} /dev/null\n" for u in utts))
    build_graph(data, root / "graph", GraphConfig(method="prior", labels=str(REPO / "conf" / "emotions.yaml")))
    cfg = load_config(TrainConfig, REPO / config, {"inference_checkpoint": "best"})
    model, classes = build_inference_model(cfg, root / "graph", dim)
    exp = root / "exp"
    (exp / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict(), "config": to_dict(cfg)}, exp / "checkpoints" / "best.pt")
    dump_config(cfg, exp / "config.yaml")
    (exp / "classes.txt").write_text("".join(c + "\n" for c in classes))
    os.symlink(root / "graph", exp / "graph")
    (exp / ".done").write_text("")
    return write_package(exp, root / "model", feat_config=REPO / frontend, norm_default="none",
                         input_dim=dim)


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of fn() (CPU time: the figure other work on the machine
    disturbs least)."""
    fn()  # warm-up (TorchScript's profiling runs, ONNX Runtime's allocations)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bench_network(pkg_dir: Path, frames: int, utts: int, repeats: int, threads: int) -> dict[str, dict[int, tuple]]:
    import onnxruntime

    package = load_package(pkg_dir)
    ts_path = export.export_torchscript(package, pkg_dir / export.TORCHSCRIPT)
    onnx_path = export.export_onnx(package, pkg_dir / export.ONNX)
    net = export.probability_network(package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = torch.jit.load(str(ts_path))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    rates: dict[str, dict[int, tuple]] = {"eager": {}, "torchscript": {}, "onnxruntime": {}}
    for batch in (1, 16):
        feats = torch.randn(batch, frames, package.info.input_dim)
        lengths = torch.full((batch,), frames, dtype=torch.long)
        calls = max(1, utts // batch)

        def run_torch(f):
            def go():
                with torch.inference_mode():
                    for _ in range(calls):
                        f(feats, lengths)
            return go

        feed = {"feats": feats.numpy(), "lengths": lengths.numpy()}

        def run_ort():
            for _ in range(calls):
                session.run(None, feed)

        for name, fn in (("eager", run_torch(net)), ("torchscript", run_torch(ts)), ("onnxruntime", run_ort)):
            wall, cpu = timed(fn, repeats)
            rates[name][batch] = (calls * batch / wall, calls * batch / cpu)
    return rates


def bench_end_to_end(pkg_dir: Path, files: list[str], repeats: int) -> tuple[float, float]:
    """Files per second and x real time of EmotionRecognizer.predict_many over `files`."""
    from emogcn import EmotionRecognizer

    r = EmotionRecognizer.from_dir(pkg_dir, device="cpu", normalisation="none")
    seconds = sum(p.duration for p in r.predict_many(files))
    wall, cpu = timed(lambda: r.predict_many(files), repeats)
    return len(files) / wall, len(files) / cpu, seconds / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--utts", type=int, default=64)
    parser.add_argument("--emodb", type=Path, default=REPO.parent / "shared" / "corpora" / "emodb" / "wav")
    parser.add_argument("--files", type=int, default=100, help="EmoDB files for the end-to-end run")
    parser.add_argument("--threads", type=int, default=1, help="torch and ONNX Runtime threads (default 1: per core)")
    args = parser.parse_args()
    import onnxruntime

    torch.set_num_threads(args.threads)
    print(f"bench_export: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}")
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        print("utterances per second, wall (per CPU second):")
        print(f"{'network':<16}{'batch':>6}{'eager':>20}{'TorchScript':>20}{'ONNX Runtime':>20}")
        packages = {}
        for name, config, frontend, dim, frames in MODELS:
            packages[name] = random_package(Path(tmp) / name.split()[0], config, frontend, dim)
            rates = bench_network(packages[name], frames, args.utts, args.repeats, args.threads)
            for batch in (1, 16):
                cells = [f"{rates[k][batch][0]:.1f} ({rates[k][batch][1]:.1f})" for k in rates]
                print(f"{name:<16}{batch:>6}" + "".join(f"{c:>20}" for c in cells))
        files = sorted(str(p) for p in args.emodb.glob("*.wav"))[: args.files]
        if files:
            per_s, per_cpu, xrt = bench_end_to_end(packages["ecapa_tdnn"], files, args.repeats)
            print(f"end to end (EmotionRecognizer.predict_many, ECAPA-TDNN, {len(files)} EmoDB files, eager): "
                  f"{per_s:.1f} files/s ({per_cpu:.1f} per CPU s), {xrt:.0f}x real time")
    print(f"benchmark took {time.time() - start:.0f} s; load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
