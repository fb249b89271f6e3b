"""Corpus-balanced sampling (training config `sampling: corpus`): equal shares per corpus each epoch."""

from collections import Counter
from types import SimpleNamespace

import pytest
import torch

from emogcn.data.dataset import BucketBatchSampler, balanced_draw
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import check_config, corpus_groups


def test_balanced_draw_gives_every_group_an_equal_share_without_early_repeats():
    groups = [0] * 10 + [1] * 2 + [2] * 4  # 16 utterances: shares 6, 5, 5
    drawn = balanced_draw(groups, torch.Generator().manual_seed(0))
    assert len(drawn) == len(groups)
    per_group = Counter(groups[i] for i in drawn)
    assert per_group == {0: 6, 1: 5, 2: 5}
    # the large group is subsampled without repeats; the small ones cycle through every member
    assert len({i for i in drawn if groups[i] == 0}) == 6
    small = Counter(i for i in drawn if groups[i] == 1)
    assert sorted(small.values()) == [2, 3]
    medium = Counter(i for i in drawn if groups[i] == 2)
    assert sorted(medium.values()) == [1, 1, 1, 2]
    # the same generator state draws the same epoch; another seed another order
    assert balanced_draw(groups, torch.Generator().manual_seed(0)) == drawn
    assert balanced_draw(groups, torch.Generator().manual_seed(1)) != drawn


def test_bucket_sampler_with_groups_balances_every_epoch_and_replays_it():
    groups = [0] * 30 + [1] * 6
    lengths = [1] * len(groups)
    sampler = BucketBatchSampler(lengths, batch_size=4, seed=3, groups=groups)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        flat = [i for b in batches for i in b]
        assert len(flat) == len(groups)
        assert Counter(groups[i] for i in flat) == {0: 18, 1: 18}
        epochs.append(flat)
    assert epochs[0] != epochs[1]
    again = BucketBatchSampler(lengths, batch_size=4, seed=3, groups=groups)
    again.set_epoch(1)
    assert [i for b in again for i in b] == epochs[1]  # a resumed run sees the same epoch
    natural = BucketBatchSampler(lengths, batch_size=4, seed=3)
    assert Counter(groups[i] for b in natural for i in b) == {0: 30, 1: 6}
    with pytest.raises(ValueError, match="groups: 2 entries for 36 utterances"):
        BucketBatchSampler(lengths, batch_size=4, groups=[0, 1])


def dataset(utt2corpus):
    items = [SimpleNamespace(utt=u) for u in ("a1", "a2", "a3", "b1")]
    return SimpleNamespace(items=items, data={"utt2corpus": utt2corpus} if utt2corpus is not None else {})


def test_corpus_groups_from_utt2corpus_and_clear_errors():
    cfg = TrainConfig(sampling="corpus")
    assert corpus_groups(cfg, dataset({"a1": "emodb", "a2": "emodb", "a3": "emodb", "b1": "casia"}), "d") == [1, 1, 1, 0]
    assert corpus_groups(TrainConfig(), dataset(None), "d") is None  # natural sampling needs nothing
    with pytest.raises(ValueError, match="sampling corpus: d has no utt2corpus"):
        corpus_groups(cfg, dataset(None), "d")
    with pytest.raises(ValueError, match=r"d/utt2corpus has no entry for 1 training utterance\(s\), e.g. b1"):
        corpus_groups(cfg, dataset({"a1": "x", "a2": "x", "a3": "x"}), "d")
    with pytest.raises(ValueError, match="sampling 'speaker' is not one of natural, corpus"):
        check_config(TrainConfig(sampling="speaker"))


def test_shipped_balanced_config_is_train_mlp_plus_corpus_sampling():
    import yaml
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    balanced = yaml.safe_load((root / "conf/train_mlp_balanced.yaml").read_text())
    base = yaml.safe_load((root / "conf/train_mlp.yaml").read_text())
    assert balanced.pop("sampling") == "corpus" and balanced == base
    linked = root / "egs/multilingual/conf/train_mlp_balanced.yaml"
    assert linked.resolve() == (root / "conf/train_mlp_balanced.yaml").resolve()
