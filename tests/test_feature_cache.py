"""Features read lazily under a memory budget (FeatureDataset cache_mb), the read-through check of
bad features without holding them, and float16 arks read back as float32."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch

from conftest import make_data_dir
from emogcn.config import ConfigError, load_config
from emogcn.data.cmvn import Cmvn, speaker_stats
from emogcn.data.datadir import DataDirError, read_map
from emogcn.data.dataset import MB, FeatureCache, FeatureDataset
from emogcn.training.config import TrainConfig
from emogcn.training.trainer import check_config, make_dataset

CLASSES = ["anger", "neutral"]


def _feats_dir(root: Path, per_speaker: int = 20, dim: int = 13, frames=(20, 80), dtype=np.float32,
               write_function: str | None = None) -> Path:
    """A data directory of 3 speakers with random features of varied lengths and offsets."""
    data = make_data_dir(root, {"spkA": per_speaker, "spkB": per_speaker, "spkC": per_speaker}, labels=tuple(CLASSES))
    rng = np.random.default_rng(0)
    feats = {}
    for k, utt in enumerate(sorted(read_map(data / "utt2spk"))):
        n = int(rng.integers(*frames))
        feats[utt] = (3.0 * k % 7 + 2.0 * rng.standard_normal((n, dim))).astype(dtype)
    kaldiio.save_ark(str(root / "feats.ark"), feats, scp=str(data / "feats.scp"), write_function=write_function)
    return data


def _speaker_cmvn(data: Path) -> Cmvn:
    return Cmvn("speaker", spk_stats=speaker_stats(data), utt2spk=read_map(data / "utt2spk"))


def _expected(data: Path) -> dict[str, np.ndarray]:
    """Each utterance's features normalised by its speaker's mean and deviation, by numpy alone."""
    utt2spk = read_map(data / "utt2spk")
    scp = read_map(data / "feats.scp")
    raw = {utt: np.asarray(kaldiio.load_mat(spec), dtype=np.float64) for utt, spec in scp.items()}
    out = {}
    for spk in set(utt2spk.values()):
        frames = np.concatenate([m for u, m in raw.items() if utt2spk[u] == spk])
        mean, std = frames.mean(axis=0), frames.std(axis=0)
        out.update({u: (m - mean) / std for u, m in raw.items() if utt2spk[u] == spk})
    return out


def test_cache_keeps_what_fits_and_nothing_more():
    cache = FeatureCache(100)
    assert cache.put(0, np.zeros(10, np.float32))  # 40 bytes
    assert cache.put(1, np.zeros(15, np.float32))  # 100 bytes in all: exactly the budget
    assert not cache.put(2, np.zeros(1, np.float32))
    assert not cache.put(0, np.zeros(1, np.float32))  # a key already held is not counted twice
    assert len(cache) == 2 and cache.nbytes == 100 and cache.get(2) is None
    with pytest.raises(ValueError, match="budget must be >= 0"):
        FeatureCache(-1)


def test_a_tiny_budget_holds_at_most_the_budget_and_items_stay_right(tmp_path):
    data = _feats_dir(tmp_path / "d")
    expected = _expected(data)
    budget_mb = 0.01  # about 10 kB: a few utterances of the 60
    ds = FeatureDataset(data, CLASSES, _speaker_cmvn(data), cache_mb=budget_mb)
    total = sum(m.shape[0] * m.shape[1] * 4 for m in expected.values())
    assert len(ds) == 60 and total > 10 * budget_mb * MB
    assert 0 < len(ds.cache) < len(ds) and ds.cache.nbytes <= budget_mb * MB
    held = len(ds.cache)
    for _ in range(2):  # a second epoch is read again from the ark, and still nothing more is held
        for i in range(len(ds)):
            item = ds[i]
            assert item["feats"].dtype == torch.float32
            np.testing.assert_allclose(item["feats"].numpy(), expected[ds.items[i].utt], rtol=1e-4, atol=1e-4)
        assert len(ds.cache) == held and ds.cache.nbytes <= budget_mb * MB
    # the validation pass noted every utterance's length: the same as reading them
    assert ds.lengths() == [expected[it.utt].shape[0] for it in ds.items]


def test_a_large_budget_caches_everything_and_reads_no_more(tmp_path):
    data = _feats_dir(tmp_path / "d")
    ds = FeatureDataset(data, CLASSES, _speaker_cmvn(data), cache_mb=64)
    assert len(ds.cache) == len(ds) == 60
    assert ds.cache.nbytes == sum(ds.features(i).nbytes for i in range(len(ds)))
    before = [ds[i]["feats"].clone() for i in range(len(ds))]
    (tmp_path / "d" / "feats.ark").unlink()  # every item comes from memory now
    assert all(np.array_equal(ds[i]["feats"].numpy(), before[i].numpy()) for i in range(len(ds)))


def test_without_a_budget_nothing_is_held_and_reads_go_to_the_ark(tmp_path):
    data = _feats_dir(tmp_path / "d")
    ds = FeatureDataset(data, CLASSES, Cmvn("none"), cache_mb=0)
    assert len(ds.cache) == 0 and ds.cache.nbytes == 0
    spec = read_map(data / "feats.scp")[ds.items[3].utt]
    np.testing.assert_array_equal(ds[3]["feats"].numpy(), kaldiio.load_mat(spec))
    (tmp_path / "d" / "feats.ark").unlink()
    with pytest.raises(FileNotFoundError):
        ds.features(3)


def test_validation_reads_everything_without_holding_it(tmp_path):
    # 200 utterances of 400 x 40 float32 (64 kB each, 12.8 MB in all) under a 1 MB budget
    data = _feats_dir(tmp_path / "d", per_speaker=67, dim=40, frames=(400, 401))
    tracemalloc.start()
    try:
        ds = FeatureDataset(data, CLASSES, Cmvn("none"), cache_mb=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    total = sum(ds.features(i).nbytes for i in range(len(ds)))
    assert total > 12 * MB and ds.cache.nbytes <= MB
    assert peak < 3 * MB, f"peak {peak / MB:.1f} MB while validating {total / MB:.1f} MB of features"


def test_nan_features_fail_at_construction_even_with_nothing_cached(tmp_path):
    data = _feats_dir(tmp_path / "d")
    scp = read_map(data / "feats.scp")
    victim = sorted(scp)[41]
    mat = np.array(kaldiio.load_mat(scp[victim]))
    mat[3, 2] = np.inf
    kaldiio.save_ark(str(tmp_path / "bad.ark"), {victim: mat}, scp=str(tmp_path / "bad.scp"))
    scp[victim] = read_map(tmp_path / "bad.scp")[victim]
    (data / "feats.scp").write_text("".join(f"{u} {s}\n" for u, s in sorted(scp.items())), encoding="utf-8")
    with pytest.raises(DataDirError, match=f"features of '{victim}'.*NaN or infinite"):
        FeatureDataset(data, CLASSES, Cmvn("none"), cache_mb=0)
    lazy = FeatureDataset(data, CLASSES, Cmvn("none"), cache_mb=0, validate=False)  # prediction: one pass anyway
    index = next(i for i, it in enumerate(lazy.items) if it.utt == victim)
    with pytest.raises(DataDirError, match="NaN or infinite"):
        lazy[index]


def test_float16_arks_are_read_as_float32(tmp_path):
    data = _feats_dir(tmp_path / "d", dtype=np.float16, write_function="numpy")
    spec = read_map(data / "feats.scp")
    ds = FeatureDataset(data, CLASSES, Cmvn("none"), cache_mb=64)
    for i, it in enumerate(ds.items):
        half = kaldiio.load_mat(spec[it.utt])
        assert half.dtype == np.float16
        got = ds[i]["feats"].numpy()
        assert got.dtype == np.float32 and np.array_equal(got, half.astype(np.float32))


def test_training_config_takes_a_budget_in_mb(tmp_path):
    data = _feats_dir(tmp_path / "d")
    cfg = TrainConfig(cmvn="none", cache_mb=0)
    assert len(make_dataset(cfg, data, CLASSES, train=True).cache) == 0
    cfg = TrainConfig(cmvn="none", cache_mb=1)
    assert len(make_dataset(cfg, data, CLASSES, train=True).cache) == 60
    assert len(make_dataset(cfg, data, CLASSES, train=False, cache=False).cache) == 0  # one pass of prediction
    with pytest.raises(ValueError, match="cache_mb must be >= 0"):
        check_config(TrainConfig(cache_mb=-1))
    # experiments made before the budget (cache_features: bool) still load: true -> the default budget
    for old, mb in (("true", 2048), ("false", 0)):
        (tmp_path / "old.yaml").write_text(f"cache_features: {old}\n", encoding="utf-8")
        assert load_config(TrainConfig, tmp_path / "old.yaml").cache_mb == mb
    (tmp_path / "typo.yaml").write_text("cache_mbs: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key.*cache_mbs"):
        load_config(TrainConfig, tmp_path / "typo.yaml")


def test_face_crops_have_the_same_budget(tmp_path):
    from emogcn.data.images import FaceDataset, crop_to_image, imagenet_normalise

    data = make_data_dir(tmp_path / "faces", {"spkA": 10, "spkB": 10}, labels=tuple(CLASSES))
    rng = np.random.default_rng(1)
    crops = {utt: rng.integers(0, 256, (8, 24)).astype(np.float32) for utt in read_map(data / "utt2spk")}
    kaldiio.save_ark(str(tmp_path / "faces.ark"), crops, scp=str(data / "feats.scp"))
    budget_mb = 5 * 768 / MB  # five crops of 8 x 24 float32
    ds = FaceDataset(data, CLASSES, cache_mb=budget_mb)
    assert len(ds.cache) == 5 and ds.cache.nbytes <= budget_mb * MB
    for i, it in enumerate(ds.items):
        assert torch.equal(ds[i]["feats"], imagenet_normalise(crop_to_image(crops[it.utt])))
    assert len(ds.cache) == 5
