"""Domain-adversarial training over corpora (DANN: Ganin et al., "Domain-adversarial training of
neural networks", JMLR 2016), training config `domain_adversarial`.

A small classifier predicts each training utterance's corpus (utt2corpus) from the model's
embedding, through a gradient reversal: the classifier learns to tell the corpora apart, while the
backbone receives the negated, scaled gradient and so learns an embedding the corpora share. The
strength ramps up as in the paper, lambda(p) = weight * (2 / (1 + exp(-10 p)) - 1) with p the share
of training done (here per epoch, so a resumed run uses the same strengths), because the classifier
is random at first and its reversed gradient would be noise.

With `unlabelled_tests` the recipe's test sets join in without their labels (unsupervised domain
adaptation, the paper's own setting): beside every training batch the model embeds a batch of
one test set's audio (the sets in turn) and the classifier learns their corpus too, so the
embedding is pulled towards what the training and test corpora share. Each epoch's unlabelled
batches depend only on (seed, epoch), as the training batches do, so resuming stays exact.

The adversary lives beside the model, not inside it: inference, packaging and export see the same
EmotionModel as without it. Its weights travel in the training checkpoint (last.pt) for resuming.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from emogcn.data.label_space import corpus_index, utt2corpus_of
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


class UnlabelledStream:
    """Batches of unlabelled sets, one set after another, for ever; restart(epoch) makes the
    epoch's sequence depend only on (seed, epoch)."""

    def __init__(self, loaders: list, corpus_of: list[torch.Tensor]):
        self.loaders, self.corpus_of = loaders, corpus_of
        self._iters: list = []
        self._turn = 0
        self._epoch = 0
        self._rounds: list[int] = []

    def restart(self, epoch: int) -> None:
        self._epoch, self._turn = epoch, 0
        self._rounds = [0] * len(self.loaders)
        self._iters = [self._fresh(k) for k in range(len(self.loaders))]

    def _fresh(self, k: int):
        # a set used up within an epoch starts again in another order, still fixed by (seed, epoch)
        self.loaders[k].batch_sampler.set_epoch(self._epoch * 1000 + self._rounds[k])
        self._rounds[k] += 1
        return iter(self.loaders[k])

    def next(self) -> tuple[dict, torch.Tensor]:
        """The next batch and the corpus index of each of its utterances."""
        k = self._turn % len(self.loaders)
        self._turn += 1
        try:
            batch = next(self._iters[k])
        except StopIteration:
            self._iters[k] = self._fresh(k)
            batch = next(self._iters[k])
        return batch, self.corpus_of[k][batch["index"]]


class CorpusAdversary(nn.Module):
    """The corpus classifier behind the gradient reversal, the corpus of every training utterance,
    and (optionally) the stream of unlabelled batches that joins each training batch."""

    def __init__(self, embed_dim: int, corpus_of: list[int], corpora: list[str], cfg: DomainAdversarialConfig,
                 unlabelled: UnlabelledStream | None = None):
        super().__init__()
        if len(corpora) < 2:
            raise ValueError(f"domain_adversarial: the training data holds one corpus ({corpora[0]}); "
                             "it needs at least two to learn what they share")
        self.classifier = nn.Sequential(nn.Linear(embed_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, len(corpora)))
        self.register_buffer("corpus_of", torch.tensor(corpus_of, dtype=torch.long), persistent=False)
        self.weight = cfg.weight
        self.strength = 0.0
        self.unlabelled = unlabelled

    def set_progress(self, progress: float) -> None:
        self.strength = ramp(self.weight, progress)

    def start_epoch(self, epoch: int, progress: float) -> None:
        self.set_progress(progress)
        if self.unlabelled is not None:
            self.unlabelled.restart(epoch)

    def forward(self, embedding: torch.Tensor, corpus: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(the corpus cross-entropy of a batch, how many of its corpora the classifier got right)."""
        logits = self.classifier(reverse_gradient(embedding.float(), self.strength))
        loss = nn.functional.cross_entropy(logits, corpus)
        return loss, int((logits.argmax(-1) == corpus).sum())

    def batch_loss(self, model, out: dict, batch: dict, amp) -> tuple[torch.Tensor, int, int]:
        """The corpus loss of a training batch (its embeddings in `out`) and, with unlabelled sets,
        of one unlabelled batch that `model` embeds here; also how many were right, of how many."""
        device = out["embedding"].device
        embedding, corpus = out["embedding"].float(), self.corpus_of[batch["index"].to(self.corpus_of.device)]
        if self.unlabelled is not None:
            extra, extra_corpus = self.unlabelled.next()
            with amp.autocast():
                extra_out = model(extra["feats"].to(device), extra["lengths"].to(device))
            embedding = torch.cat([embedding, extra_out["embedding"].float()])
            corpus = torch.cat([corpus, extra_corpus.to(corpus.device)])
        loss, right = self(embedding, corpus.to(device))
        return loss, right, len(corpus)


def build_adversary(cfg: DomainAdversarialConfig, embed_dim: int, train_set, train_dir: Path,
                    unlabelled: list[tuple[object, Path]] = (), make_loader=None) -> CorpusAdversary | None:
    """The adversary of a training run, or None when domain_adversarial.weight is 0. `unlabelled`:
    (dataset, data dir) of each unlabelled set, batched by make_loader(dataset) (with unlabelled_tests)."""
    if cfg.weight == 0:
        return None
    corpus_of, corpora = corpus_index(train_set, train_dir, "domain_adversarial")
    names = [corpora[k] for k in corpus_of]
    extra_names = []
    if cfg.unlabelled_tests:
        if not unlabelled:
            raise ValueError("domain_adversarial.unlabelled_tests: no unlabelled sets were given (--unlabelled; "
                             "the recipes pass each split's test sets)")
        for dataset, data_dir in unlabelled:
            utt2corpus = utt2corpus_of(dataset)
            if utt2corpus is None:
                raise ValueError(f"domain_adversarial.unlabelled_tests: {data_dir} has no utt2corpus "
                                 "(which corpus each utterance is from)")
            missing = [it.utt for it in dataset.items if it.utt not in utt2corpus]
            if missing:
                raise ValueError(f"domain_adversarial.unlabelled_tests: {data_dir}/utt2corpus has no entry for "
                                 f"{len(missing)} utterance(s), e.g. {missing[0]}")
            extra_names.append([utt2corpus[it.utt] for it in dataset.items])
    corpora = sorted(set(names).union(*extra_names))
    index = {c: k for k, c in enumerate(corpora)}
    stream = None
    if extra_names:
        stream = UnlabelledStream([make_loader(dataset) for dataset, _ in unlabelled],
                                  [torch.tensor([index[n] for n in ns], dtype=torch.long) for ns in extra_names])
    adversary = CorpusAdversary(embed_dim, [index[n] for n in names], corpora, cfg, stream)
    counts = Counter(names)
    logger.info("domain-adversarial training over %d corpora (%s), weight %g", len(corpora),
                ", ".join(f"{c} {counts[c]}" for c in corpora if counts[c]), cfg.weight)
    for (dataset, data_dir), ns in zip(unlabelled if extra_names else [], extra_names):
        logger.info("  unlabelled: %s, %d utterances of %s", data_dir, len(ns), ", ".join(sorted(set(ns))))
    return adversary
