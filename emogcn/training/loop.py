"""One step, one epoch, one validation: the pieces every trainer shares (one process, torchrun's
DDP processes, the inner folds of nested selection), as icefall's train.py splits them.

- compute_loss: the forward pass of one batch under mixed precision, and its loss;
- train_one_epoch: the optimiser over a loader; loss sums and how long the loop waited for data;
- validate: loss, UA and WA over a loader, summed over every process of a distributed run;
- predict: per-utterance posteriors (and dimensions) over a loader.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from emogcn.scoring.metrics import metrics_from_confusion
from emogcn.training.augment import mixup_pairs, spec_augment
from emogcn.training.config import TrainConfig
from emogcn.training.losses import EmotionLoss, mask_logits

AMP_MODES = ("none", "bf16", "fp16")


@dataclass
class Amp:
    """Mixed precision: autocast to bf16 (CPU or CUDA) or fp16 (CUDA, with a gradient scaler)."""

    mode: str
    device: torch.device
    scaler: torch.amp.GradScaler | None = None

    def autocast(self):
        if self.mode == "none":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.mode == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)


def make_amp(mode: str, device: torch.device) -> Amp:
    if mode not in AMP_MODES:
        raise ValueError(f"amp '{mode}' is not one of {', '.join(AMP_MODES)}")
    if mode == "fp16" and device.type != "cuda":
        raise ValueError("amp fp16 needs a CUDA device (its gradient scaler); on the CPU use amp: bf16 or none")
    return Amp(mode, device, torch.amp.GradScaler("cuda") if mode == "fp16" else None)


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def compute_loss(model: torch.nn.Module, batch: dict, loss_fn: EmotionLoss, cfg: TrainConfig, amp: Amp,
                 train: bool) -> tuple[torch.Tensor, dict, dict]:
    """(loss, its parts, the model's outputs) of one batch; SpecAugment on training frames, then
    mixup (cfg.augment.mixup) of training batches."""
    feats, lengths = batch["feats"], batch["lengths"]
    if train and cfg.input == "frames":
        feats = spec_augment(feats, lengths, cfg.augment)
    lam, perm = 1.0, None
    if train and cfg.augment.mixup > 0:
        feats, lengths, perm, lam = mixup_pairs(feats, lengths, cfg.augment.mixup)
    b = _to({**batch, "feats": feats, "lengths": lengths}, amp.device)
    with amp.autocast():
        out = model(b["feats"], b["lengths"])
    # the loss in float32: CCC and class weighting are sums that bf16 would round
    out = {k: v.float() if isinstance(v, torch.Tensor) else v for k, v in out.items()}
    loss, parts = _targets_loss(loss_fn, out, b, None)
    if lam < 1.0:  # mixup: the loss of the partners' targets, weighted as their inputs were
        loss_b, parts_b = _targets_loss(loss_fn, out, b, perm.to(amp.device))
        loss = lam * loss + (1.0 - lam) * loss_b
        parts = {k: lam * v + (1.0 - lam) * parts_b[k] for k, v in parts.items()}
    out["logits"] = mask_logits(out["logits"], b.get("allowed"))  # validation's argmax among the corpus's classes
    return loss, parts, out


def _targets_loss(loss_fn: EmotionLoss, out: dict, b: dict, perm: torch.Tensor | None):
    """loss_fn on the batch's targets, or on those of rows perm (mixup's partners)."""
    def pick(key):
        value = b.get(key)
        return value if value is None or perm is None else value[perm]
    return loss_fn(out, pick("labels"), pick("dims"), pick("dims_mask"), allowed=pick("allowed"), weight=pick("weight"))


def train_one_epoch(model: torch.nn.Module, loader, optimizer: torch.optim.Optimizer, loss_fn: EmotionLoss,
                    cfg: TrainConfig, amp: Amp, desc: str = "", distributed: bool = False, adversary=None) -> dict:
    """One pass of the optimiser; returns the utterance-weighted mean loss, CE and CCC parts (over
    every process of a distributed run), the utterances seen, and the seconds this process spent
    waiting for batches (the data pipeline's share). With a corpus adversary (training/domain.py)
    its loss joins the batch's (with unlabelled sets, over an unlabelled batch too), and its mean loss
    and accuracy over what it judged are returned (domain, domain_acc)."""
    model.train()
    if adversary is not None:
        adversary.train()
    sums = {"loss": 0.0, "ce": 0.0, "ccc": 0.0, "domain": 0.0}
    seen, waited, domain_right, domain_seen = 0, 0.0, 0, 0
    t0 = time.perf_counter()
    ready = time.perf_counter()
    for batch in _progress(loader, desc):
        waited += time.perf_counter() - ready
        loss, parts, out = compute_loss(model, batch, loss_fn, cfg, amp, train=True)
        if adversary is not None:
            domain_loss, right, judged = adversary.batch_loss(model, out, batch, amp)
            loss = loss + domain_loss
            sums["domain"] += domain_loss.item() * judged
            domain_right += right
            domain_seen += judged
        optimizer.zero_grad(set_to_none=True)
        if amp.scaler is not None:
            amp.scaler.scale(loss).backward()
            amp.scaler.unscale_(optimizer)
        else:
            loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if amp.scaler is not None:
            amp.scaler.step(optimizer)
            amp.scaler.update()
        else:
            optimizer.step()
        b = len(batch["labels"])
        seen += b
        sums["loss"] += loss.item() * b
        sums["ce"] += float(parts["ce"]) * b
        sums["ccc"] += float(parts.get("ccc", 0.0)) * b
        ready = time.perf_counter()
    seconds = time.perf_counter() - t0
    if distributed:
        totals = torch.tensor([sums["loss"], sums["ce"], sums["ccc"], sums["domain"], domain_right, seen,
                               domain_seen], dtype=torch.float64)
        torch.distributed.all_reduce(totals)
        sums = dict(zip(("loss", "ce", "ccc", "domain"), map(float, totals[:4])))
        domain_right, seen, domain_seen = int(totals[4]), int(totals[5]), int(totals[6])
    n, judged = max(seen, 1), max(domain_seen, 1)
    return {"loss": sums["loss"] / n, "ce": sums["ce"] / n, "ccc": sums["ccc"] / n, "utterances": seen,
            "seconds": seconds, "data_wait": waited, "domain": sums["domain"] / judged,
            "domain_acc": domain_right / judged}


@torch.no_grad()
def validate(model: torch.nn.Module, loader, classes: list[str], loss_fn: EmotionLoss, cfg: TrainConfig,
             amp: Amp, distributed: bool = False) -> dict:
    """Loss, UA and WA; in a distributed run each process sees its share and the sums are reduced."""
    model.eval()
    confusion = torch.zeros(len(classes), len(classes), dtype=torch.float64)
    total = torch.zeros(2, dtype=torch.float64)  # loss sum, utterances
    for batch in loader:
        loss, _, out = compute_loss(model, batch, loss_fn, cfg, amp, train=False)
        hyp = out["logits"].argmax(-1).cpu()
        for r, h in zip(batch["labels"].tolist(), hyp.tolist()):
            confusion[r, h] += 1
        total += torch.tensor([loss.item() * len(batch["labels"]), len(batch["labels"])], dtype=torch.float64)
    if distributed:
        torch.distributed.all_reduce(confusion)
        torch.distributed.all_reduce(total)
    m = metrics_from_confusion(confusion.numpy().astype(np.int64), classes)
    return {"loss": float(total[0] / max(float(total[1]), 1.0)), "ua": m["UA"], "wa": m["WA"]}


@torch.no_grad()
def predict(model: torch.nn.Module, loader, device: torch.device, amp: Amp | None = None) -> dict:
    """Per-utterance dataset indices, class posteriors and (where predicted) dimensions."""
    amp = amp or Amp("none", device)
    model.eval()
    indices, probs, dims = [], [], []
    for batch in loader:
        with amp.autocast():
            out = model(batch["feats"].to(device), batch["lengths"].to(device))
        indices.append(batch["index"])
        logits = mask_logits(out["logits"].float(), batch.get("allowed"))  # scored among the corpus's classes
        probs.append(torch.softmax(logits, dim=-1).cpu())
        if out.get("dims") is not None:
            dims.append(out["dims"].float().cpu())
    result = {"index": torch.cat(indices), "probs": torch.cat(probs)}
    result["dims"] = torch.cat(dims) if dims else None
    return result


def _progress(iterable, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency, but a progress bar is never worth a crash
        return iterable
    return tqdm(iterable, desc=desc, leave=False, disable=not sys.stderr.isatty(), file=sys.stderr)
