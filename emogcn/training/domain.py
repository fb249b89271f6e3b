"""Domain-adversarial training over corpora (DANN: Ganin et al., "Domain-adversarial training of
neural networks", JMLR 2016), training config `domain_adversarial`.

A small classifier predicts each training utterance's corpus (utt2corpus) from the model's
embedding, through a gradient reversal: the classifier learns to tell the corpora apart, while the
backbone receives the negated, scaled gradient and so learns an embedding the corpora share. The
strength ramps up as in the paper, lambda(p) = weight * (2 / (1 + exp(-10 p)) - 1) with p the share
of training done (here per epoch, so a resumed run uses the same strengths), because the classifier
is random at first and its reversed gradient would be noise.

The adversary lives beside the model, not inside it: inference, packaging and export see the same
EmotionModel as without it. Its weights travel in the training checkpoint (last.pt) for resuming.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from emogcn.data.label_space import corpus_index
from emogcn.log import get_logger
from emogcn.training.config import DomainAdversarialConfig

logger = get_logger(__name__)


class _Reverse(torch.autograd.Function):
    """Identity forward; the gradient times -strength backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, strength: float) -> torch.Tensor:
        ctx.strength = strength
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.strength * grad, None


def reverse_gradient(x: torch.Tensor, strength: float) -> torch.Tensor:
    return _Reverse.apply(x, strength)


def ramp(weight: float, progress: float) -> float:
    """The reversal strength after `progress` (0..1) of training: 0 at the start, near `weight` at the end."""
    return weight * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)


class CorpusAdversary(nn.Module):
    """The corpus classifier behind the gradient reversal, and the corpus of every training utterance."""

    def __init__(self, embed_dim: int, corpus_of: list[int], corpora: list[str], cfg: DomainAdversarialConfig):
        super().__init__()
        if len(corpora) < 2:
            raise ValueError(f"domain_adversarial: the training data holds one corpus ({corpora[0]}); "
                             "it needs at least two to learn what they share")
        self.classifier = nn.Sequential(nn.Linear(embed_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, len(corpora)))
        self.register_buffer("corpus_of", torch.tensor(corpus_of, dtype=torch.long), persistent=False)
        self.weight = cfg.weight
        self.strength = 0.0

    def set_progress(self, progress: float) -> None:
        self.strength = ramp(self.weight, progress)

    def forward(self, embedding: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(the corpus cross-entropy of a batch, how many of its corpora the classifier got right)."""
        target = self.corpus_of[index.to(self.corpus_of.device)]
        logits = self.classifier(reverse_gradient(embedding.float(), self.strength))
        loss = nn.functional.cross_entropy(logits, target)
        return loss, int((logits.argmax(-1) == target).sum())


def build_adversary(cfg: DomainAdversarialConfig, embed_dim: int, train_set, train_dir: Path) -> CorpusAdversary | None:
    """The adversary of a training run, or None when domain_adversarial.weight is 0."""
    if cfg.weight == 0:
        return None
    corpus_of, corpora = corpus_index(train_set, train_dir, "domain_adversarial")
    adversary = CorpusAdversary(embed_dim, corpus_of, corpora, cfg)
    counts = Counter(corpus_of)
    logger.info("domain-adversarial training over %d corpora (%s), weight %g", len(corpora),
                ", ".join(f"{c} {counts[k]}" for k, c in enumerate(corpora)), cfg.weight)
    return adversary
