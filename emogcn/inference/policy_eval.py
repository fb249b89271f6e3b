"""How much each normalisation policy costs: UA of finished experiments with their test features
re-normalised under every policy (emogcn.inference.normalise), over a recipe's folds.

For each fold of an experiment the test set's raw features (its feats.scp) are normalised as
prediction would normalise them and run through the fold's model:
  global      the fold's training statistics
  utterance   each test utterance on its own
  batch:N     each test speaker's utterances dealt at random (seeded) into groups of N,
              statistics per group: a call of emogcn-predict on N of one speaker's recordings
  speaker     the statistics of each test speaker's utterances: the recipe's own scoring
  none        the raw features
The test set is the sibling `test` of the training set named in the fold's command.txt, paths
relative to the recipe directory (run from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import kaldiio
import numpy as np
import torch

from emogcn.config import load_config
from emogcn.data.cmvn import accumulate_stats, load_global_stats
from emogcn.data.datadir import read_map
from emogcn.inference.model import build_inference_model, forward_batches
from emogcn.inference.normalise import INPUT_ONLY, normalise
from emogcn.inference.package import train_dir_of
from emogcn.log import get_logger
from emogcn.scoring.metrics import classification_metrics
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import load_checkpoint

logger = get_logger(__name__)


class PolicyEvalError(ValueError):
    pass


@dataclass
class FoldData:
    utts: list[str]
    feats: list[np.ndarray]
    labels: list[str]
    speakers: list[str]


@dataclass
class PolicyResult:
    policy: str
    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    fold_ua: list[float] = field(default_factory=list)


def fold_dirs(exp: Path) -> list[Path]:
    if (exp / "config.yaml").is_file():
        return [exp]
    folds = sorted((p for p in exp.glob("fold*") if (p / "config.yaml").is_file() and p.name[4:].isdigit()),
                   key=lambda p: int(p.name[4:]))
    if not folds:
        raise PolicyEvalError(f"{exp}: neither an experiment (config.yaml) nor one with fold<k>/ experiments")
    return folds


def _test_data(test_dir: Path, classes: list[str]) -> FoldData:
    utt2emo = read_map(test_dir / "utt2emo")
    utt2spk = read_map(test_dir / "utt2spk")
    feats_scp = read_map(test_dir / "feats.scp")
    data = FoldData([], [], [], [])
    dropped = 0
    for utt, spec in feats_scp.items():
        if utt2emo.get(utt) not in classes:
            dropped += 1
            continue
        data.utts.append(utt)
        data.feats.append(np.asarray(kaldiio.load_mat(spec), dtype=np.float32))
        data.labels.append(utt2emo[utt])
        data.speakers.append(utt2spk[utt])
    if dropped:
        logger.warning("%s: %d test utterance(s) with a class the model does not know, left out", test_dir, dropped)
    return data


def _global_stats(exp: Path, train_dir: Path) -> np.ndarray:
    if (exp / "cmvn_global.npy").is_file():
        return np.load(exp / "cmvn_global.npy", allow_pickle=False)
    if (train_dir / "cmvn_global.scp").is_file():
        return load_global_stats(train_dir)
    return accumulate_stats(np.asarray(m) for _, m in kaldiio.load_scp_sequential(str(train_dir / "feats.scp")))


def batch_groups(speakers: list[str], size: int, seed: int) -> list[str]:
    """Group names dealing each speaker's items at random into groups of `size` (a speaker's last
    group smaller): the calls of emogcn-predict on `size` recordings of one speaker."""
    rng = np.random.default_rng(seed)
    groups = [""] * len(speakers)
    for spk in sorted(set(speakers)):
        mine = [i for i, s in enumerate(speakers) if s == spk]
        for rank, i in enumerate(rng.permutation(mine)):
            groups[i] = f"{spk}/batch{rank // size}"
    return groups


def normalised(data: FoldData, policy: str, stats: np.ndarray, seed: int) -> list[np.ndarray]:
    if policy.startswith("batch:"):
        return normalise(data.feats, "speaker", groups=batch_groups(data.speakers, int(policy[6:]), seed))
    if policy == "speaker":
        return normalise(data.feats, "speaker", groups=data.speakers)
    return normalise(data.feats, policy, global_stats=stats)


def evaluate_experiment(exp: Path, policies: list[str], checkpoint: str | None = None, test_set: str = "test",
                        recipe_dir: Path = Path("."), seed: int = 0, device: str = "cpu") -> dict[str, PolicyResult]:
    """Predictions of every fold of `exp` under each policy, pooled per policy."""
    results = {p: PolicyResult(p) for p in policies}
    for fold in fold_dirs(exp):
        cfg = load_config(TrainConfig, fold / "config.yaml")
        if cfg.input != "frames":
            raise PolicyEvalError(f"{fold}: a face model; normalisation policies concern speech features")
        train_dir = train_dir_of(fold, recipe_dir)
        if train_dir is None:
            raise PolicyEvalError(f"{fold}: no command.txt naming the training data")
        test_dir = train_dir.parent / test_set
        if not (test_dir / "feats.scp").is_file():
            raise PolicyEvalError(f"{test_dir}: no feats.scp (run from the recipe directory)")
        name = checkpoint or cfg.inference_checkpoint
        state = load_checkpoint(fold / "checkpoints" / f"{name}.pt")["model"]
        classes = (fold / "classes.txt").read_text(encoding="utf-8").split()
        data = _test_data(test_dir, classes)
        model, _ = build_inference_model(cfg, fold / "graph", data.feats[0].shape[1], state)
        model.to(device)
        stats = _global_stats(fold, train_dir)
        for policy in policies:
            if policy == "utterance" and min(f.shape[0] for f in data.feats) < 2:
                continue  # one row per utterance: nothing to normalise with
            outputs = forward_batches(model, normalised(data, policy, stats, seed), torch.device(device))
            hyps = [classes[int(np.argmax(p))] for p, _ in outputs]
            r = results[policy]
            r.refs += data.labels
            r.hyps += hyps
            r.fold_ua.append(classification_metrics(data.labels, hyps, classes)["UA"])
        logger.info("%s: %d test utterances of %d speaker(s) under %d policies", fold, len(data.utts),
                    len(set(data.speakers)), len(policies))
    return {p: r for p, r in results.items() if r.refs}


def summary(per_exp: dict[str, dict[str, PolicyResult]], classes_of: dict[str, list[str]]) -> list[dict]:
    """One row per policy: UA pooled per experiment (mean ± std over experiments when several),
    UA over folds (mean ± std over every fold of every experiment), WA pooled."""
    policies = list(dict.fromkeys(p for r in per_exp.values() for p in r))
    rows = []
    for policy in policies:
        pooled, wa, folds = [], [], []
        for exp, res in per_exp.items():
            if policy not in res:
                continue
            m = classification_metrics(res[policy].refs, res[policy].hyps, classes_of[exp])
            pooled.append(m["UA"])
            wa.append(m["WA"])
            folds += res[policy].fold_ua
        base = policy.split(":")[0]
        rows.append({"policy": policy, "input_only": base in INPUT_ONLY, "experiments": len(pooled),
                     "ua_pooled": float(np.mean(pooled)), "ua_pooled_std": float(np.std(pooled, ddof=1)) if len(pooled) > 1 else None,
                     "ua_folds": float(np.mean(folds)), "ua_folds_std": float(np.std(folds, ddof=1)) if len(folds) > 1 else None,
                     "wa_pooled": float(np.mean(wa)), "folds": len(folds)})
    return rows


def markdown(rows: list[dict]) -> str:
    def pm(m, s):
        return f"{100 * m:.2f}" + (f" ± {100 * s:.2f}" if s is not None else "")

    lines = ["| policy | needs only the input | UA pooled | UA folds | WA pooled | folds |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['policy']} | {'yes' if r['input_only'] else 'no'} | {pm(r['ua_pooled'], r['ua_pooled_std'])} "
                     f"| {pm(r['ua_folds'], r['ua_folds_std'])} | {100 * r['wa_pooled']:.2f} | {r['folds']} |")
    return "\n".join(lines) + "\n"


def best_input_only(rows: list[dict]) -> dict | None:
    candidates = [r for r in rows if r["input_only"]]
    return max(candidates, key=lambda r: r["ua_pooled"]) if candidates else None
