"""The training configuration (conf/train*.yaml), read strictly: an unknown key is an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from emogcn.config import ConfigError, from_dict
from emogcn.features.ssl import SslConfig


@dataclass
class ModelConfig:
    variant: str = "emotion_gcn"  # single_task | multi_task | emotion_gcn
    backbone: str = "speech_cnn"
    backbone_options: dict = field(default_factory=dict)
    gcn_hidden: int = 512
    layer_sum: int = 0  # > 0: the features hold this many SSL layers side by side (learned weighted sum)
    learn_adjacency: bool = False  # emotion_gcn: the graph's edge weights are trained (models/gcn.py)
    gcn_init: str = "linear"  # emotion_gcn: linear (W starts at nn.Linear's scale) | original (models/gcn.py)


@dataclass
class OptimConfig:
    name: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0


@dataclass
class ScheduleConfig:
    name: str = "none"  # none | step | cosine
    step_size: int = 10  # step: epochs between decays
    gamma: float = 0.1


@dataclass
class AugmentConfig:
    """What training batches go through (emogcn/training/augment.py): SpecAugment masks, image
    flips and rotations, mixup; 0 = off."""

    freq_masks: int = 0  # masks per utterance over feature bins
    freq_width: int = 0  # widest frequency mask, in bins
    time_masks: int = 0  # masks per utterance over frames
    time_width: int = 0  # widest time mask, in frames
    hflip: bool = False  # images: random horizontal flip
    rotation: float = 0.0  # images: random rotation of up to this many degrees (the original: 30)
    # mixup (Zhang et al., ICLR 2018): each batch mixed with a shuffled copy of itself, weight ~
    # Beta(mixup, mixup), the loss mixed alike; 0 = off, 0.2-0.4 usual
    mixup: float = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.freq_masks and self.freq_width) or bool(self.time_masks and self.time_width)


@dataclass
class SelectConfig:
    """Nested selection over the training speakers (--dev inner; emogcn/training/nested.py)."""

    grid: dict = field(default_factory=dict)  # dotted config keys -> candidate values, e.g. {epochs: [20, 40]}
    inner_folds: int = 3  # groups of whole training speakers (leave one speaker out when there are fewer)


@dataclass
class DomainAdversarialConfig:
    """Domain-adversarial training (Ganin et al., JMLR 2016) over the training corpora (utt2corpus):
    a corpus classifier on the embedding behind a gradient reversal, so that the backbone learns what
    the corpora share (emogcn/training/domain.py). 0 = off."""

    weight: float = 0.0  # the reversal's largest strength; it ramps up from 0 over the epochs
    hidden: int = 256  # hidden units of the corpus classifier
    # true: the recipe's test sets, without their labels, join the corpus classifier (unsupervised
    # adaptation to the test corpora: a batch of their audio beside every training batch). The
    # recipes pass them (steps/train_splits.sh); their labels are never read.
    unlabelled_tests: bool = False


@dataclass
class TrainConfig:
    # cache_features (bool) before the memory budget: true held everything, now the default budget
    RENAMED_KEYS: ClassVar[dict] = {"cache_features": ("cache_mb", lambda v: 2048 if v else 0)}
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    domain_adversarial: DomainAdversarialConfig = field(default_factory=DomainAdversarialConfig)
    # frames (speech features, B x T x F) | image (face crops, B x 3 x H x W) | waveform (audio from
    # wav.scp, B x samples, through `upstream` inside the model: emogcn/models/upstream.py)
    input: str = "frames"
    # input waveform: the frozen SSL upstream, as a front-end YAML's path (conf/ssl_*.yaml) or an inline
    # mapping of its keys; either way config.yaml records the mapping, so inference needs no other file
    upstream: SslConfig | str | None = None
    crop_seconds: float = 0.0  # input waveform, training only: a random window of at most this long (0: whole)
    epochs: int = 30
    batch_size: int = 32
    lambda_dims: float = 1.0  # weight of the CCC loss (the original parsed it but used 1)
    class_weighting: bool = True  # cross-entropy weighted by min_count / class_count
    # corpus: each utterance's cross-entropy (and, by default, its scored prediction) runs over the
    # classes its corpus has (utt2corpus; emogcn/data/label_space.py), class weights per corpus;
    # union: over every class of the graph, one set of class weights (as before label spaces)
    label_space: str = "corpus"
    # natural: every training utterance once per epoch; corpus: every corpus (utt2corpus) an equal
    # share of each epoch, small corpora repeated and large ones subsampled (data/dataset.py)
    sampling: str = "natural"
    cmvn: str = "speaker"  # speaker | corpus | global | none | auto (speaker unless speakers and emotions are confounded)
    # speaker: refused when the speaker explains more than this share of the label entropy in the
    # training set (emogcn/data/confound.py); 1.0 trains so anyway
    cmvn_confound_limit: float = 0.2
    seed: int = 0
    select_metric: str = "ua"  # dev metric that picks the best checkpoint: ua | wa | loss
    average_last: int = 0  # > 0: also write checkpoints/averaged.pt, the mean weights of the last N epochs
    inference_checkpoint: str = "best"  # what scoring uses by default: best | last | averaged
    grad_clip: float = 0.0  # 0 = no clipping
    # MiB of normalised features held in memory (per process); the rest is read from the ark each
    # time it is needed, so memory does not grow with the corpus. 0: nothing held
    cache_mb: int = 2048
    amp: str = "none"  # mixed precision: none | bf16 (autocast; CPU or CUDA) | fp16 (CUDA, with a gradient scaler)
    num_workers: int = 0  # DataLoader processes reading batches (0: in the training process)
    max_frames: int = 0  # > 0: batches of at most this many padded frames instead of batch_size utterances

    def dev_selection(self) -> str:
        """What a recipe's `--dev auto` means for this config: inner when it has a select.grid, speaker
        when it scores the best epoch on dev, none when it scores the last or averaged epochs (a dev
        speaker would select nothing, so it trains: with 4-6 speakers one speaker is a fifth to a third
        of the training data)."""
        if self.select.grid:
            return "inner"
        return "speaker" if self.inference_checkpoint == "best" else "none"

    def __post_init__(self):
        # a path or a mapping (YAML, or to_dict of a config) becomes the checked SslConfig
        if isinstance(self.upstream, str):
            from emogcn.features.frontends import load_frontend_config

            loaded = load_frontend_config(self.upstream)
            if not isinstance(loaded, SslConfig):
                raise ConfigError(f"upstream '{self.upstream}': a '{loaded.type}' front-end, not an ssl one")
            self.upstream = loaded
        elif isinstance(self.upstream, dict):
            self.upstream = from_dict(SslConfig, self.upstream, "upstream")
            try:
                self.upstream.check()
            except ConfigError as e:
                raise ConfigError(f"upstream: {e}") from None
        elif self.upstream is not None and not isinstance(self.upstream, SslConfig):
            raise ConfigError(f"upstream: expected a front-end YAML's path or a mapping, got {self.upstream!r}")
