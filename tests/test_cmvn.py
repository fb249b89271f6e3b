"""Stage 2, CMVN: Kaldi-format statistics, their application, and steps/compute_cmvn.sh."""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest

from conftest import run_sh
from emogcn.data.cmvn import (Cmvn, CmvnError, accumulate_stats, apply_cmvn, load_global_stats,
                              load_stats_scp)
from emogcn.data.datadir import read_map, spk2utt_from_utt2spk, write_map

DIM = 5


def _features(seed: int, spk_offset: float, spk_scale: float, frames: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (spk_offset + spk_scale * rng.standard_normal((frames, DIM))).astype(np.float32)


def _feats_data_dir(root: Path, name: str, speakers: dict[str, tuple[float, float]], seed: int) -> dict:
    """A data directory whose feats.scp holds random features, per speaker offset and scale."""
    data = root / "data" / name
    data.mkdir(parents=True)
    feats, utt2spk = {}, {}
    for s, (spk, (offset, scale)) in enumerate(sorted(speakers.items())):
        for i in range(4):
            utt = f"{spk}-u{i}"
            feats[utt] = _features(seed + 10 * s + i, offset, scale, frames=20 + 7 * i)
            utt2spk[utt] = spk
    with kaldiio.WriteHelper(f"ark,scp:{root}/{name}_feats.ark,{data}/feats.scp") as writer:
        for utt in sorted(feats):
            writer(utt, feats[utt])
    write_map(data / "utt2spk", utt2spk)
    write_map(data / "utt2emo", {u: "neutral" for u in utt2spk})
    write_map(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    return feats


def test_accumulate_stats_matches_numpy():
    mats = [_features(i, 1.0, 2.0, 10 + i) for i in range(3)]
    stats = accumulate_stats(iter(mats))
    allx = np.concatenate(mats).astype(np.float64)
    assert stats.shape == (2, DIM + 1) and stats.dtype == np.float64
    np.testing.assert_allclose(stats[0, :DIM], allx.sum(0))
    np.testing.assert_allclose(stats[1, :DIM], (allx ** 2).sum(0))
    assert stats[0, DIM] == len(allx) and stats[1, DIM] == 0
    # Adding to existing statistics is the same as accumulating everything at once.
    np.testing.assert_allclose(accumulate_stats(mats[1:], accumulate_stats(mats[:1])), stats)
    with pytest.raises(ValueError, match="dimension"):
        accumulate_stats([np.zeros((3, DIM + 1), np.float32)], stats.copy())
    with pytest.raises(ValueError, match="no features"):
        accumulate_stats([])


def test_apply_cmvn_gives_zero_mean_unit_variance():
    x = _features(0, 3.0, 0.5, 200)
    out = apply_cmvn(x, accumulate_stats([x]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-4)
    mean_only = apply_cmvn(x, accumulate_stats([x]), norm_vars=False)
    np.testing.assert_allclose(mean_only, x - x.astype(np.float64).mean(0), atol=1e-5)


def test_apply_cmvn_guards_constant_dimensions():
    x = _features(1, 0.0, 1.0, 50)
    x[:, 2] = -15.942385  # log of the float epsilon: digital silence in a log-mel band
    out = apply_cmvn(x, accumulate_stats([x]))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 2], 0, atol=1e-3)
    with pytest.raises(CmvnError, match="frame count"):
        apply_cmvn(x, np.zeros((2, DIM + 1)))


def test_compute_cmvn_stage_and_per_speaker_normalisation(recipe_dir):
    speakers = {"spkA": (5.0, 3.0), "spkB": (-2.0, 0.2), "spkC": (0.0, 1.0)}
    feats = _feats_data_dir(recipe_dir, "train", speakers, seed=0)
    run_sh("steps/compute_cmvn.sh data/train exp/compute_cmvn cmvn", recipe_dir)
    data = recipe_dir / "data" / "train"
    assert (recipe_dir / "exp" / "compute_cmvn" / "compute_cmvn.log").is_file()
    run_sh("utils/validate_data_dir.sh --need-feats data/train", recipe_dir)  # cmvn.scp keyed by speaker

    spk_stats = load_stats_scp(data / "cmvn.scp")
    assert list(spk_stats) == sorted(speakers)
    assert all(v.startswith(str(recipe_dir / "cmvn") + "/") for v in read_map(data / "cmvn.scp").values())
    for spk in speakers:
        mats = [m for u, m in feats.items() if u.startswith(spk)]
        allx = np.concatenate(mats).astype(np.float64)
        np.testing.assert_allclose(spk_stats[spk][0, :DIM], allx.sum(0), rtol=1e-10)
        np.testing.assert_allclose(spk_stats[spk][1, :DIM], (allx ** 2).sum(0), rtol=1e-10)
        assert spk_stats[spk][0, DIM] == len(allx)

    cmvn = Cmvn.from_data_dir(data, "speaker")
    for spk in speakers:
        normed = np.concatenate([cmvn(u, m) for u, m in feats.items() if u.startswith(spk)])
        np.testing.assert_allclose(normed.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(normed.std(0), 1, atol=1e-4)

    global_stats = load_global_stats(data)
    np.testing.assert_allclose(global_stats, sum(spk_stats.values()), rtol=1e-12)
    assert list(load_stats_scp(data / "cmvn_global.scp")) == ["global"]
    u = "spkB-u1"
    np.testing.assert_array_equal(Cmvn.from_data_dir(data, "none")(u, feats[u]), feats[u])


def test_global_cmvn_of_a_test_set_uses_the_training_statistics(recipe_dir):
    train = _feats_data_dir(recipe_dir, "train", {"spkA": (5.0, 3.0), "spkB": (-2.0, 0.2)}, seed=0)
    test = _feats_data_dir(recipe_dir, "test", {"spkT": (1.0, 1.0)}, seed=99)
    run_sh("steps/compute_cmvn.sh data/train exp/cmvn_train cmvn", recipe_dir)
    run_sh("steps/compute_cmvn.sh data/test exp/cmvn_test cmvn", recipe_dir)
    train_dir, test_dir = recipe_dir / "data" / "train", recipe_dir / "data" / "test"
    cmvn = Cmvn.from_data_dir(test_dir, "global", global_from=train_dir)
    train_stats = accumulate_stats(train.values())
    u = "spkT-u2"
    np.testing.assert_allclose(cmvn(u, test[u]), apply_cmvn(test[u], train_stats), atol=1e-5)
    # The scp itself works too, and the test set's own statistics differ from the training set's.
    by_scp = Cmvn.from_data_dir(test_dir, "global", global_from=train_dir / "cmvn_global.scp")
    np.testing.assert_array_equal(by_scp(u, test[u]), cmvn(u, test[u]))
    own = Cmvn.from_data_dir(test_dir, "global")
    assert not np.allclose(own(u, test[u]), cmvn(u, test[u]))


def test_corpus_cmvn_uses_each_corpus_of_the_set_on_its_own(recipe_dir):
    # two corpora in one set (as the multilingual sets hold them): each is normalised with the
    # statistics of its own utterances here, whatever the speakers; no cmvn.scp is needed
    speakers = {"spkA": (5.0, 3.0), "spkB": (-2.0, 0.2), "spkC": (0.0, 1.0)}
    feats = _feats_data_dir(recipe_dir, "test", speakers, seed=3)
    data = recipe_dir / "data" / "test"
    corpus_of = {"spkA": "c1", "spkB": "c1", "spkC": "c2"}
    write_map(data / "utt2corpus", {u: corpus_of[u.split("-")[0]] for u in feats})
    cmvn = Cmvn.from_data_dir(data, "corpus")
    for corpus in ("c1", "c2"):
        utts = [u for u in feats if corpus_of[u.split("-")[0]] == corpus]
        normed = np.concatenate([cmvn(u, feats[u]) for u in utts])
        np.testing.assert_allclose(normed.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(normed.std(0), 1, atol=1e-4)
        u = utts[0]
        np.testing.assert_allclose(cmvn(u, feats[u]), apply_cmvn(feats[u], accumulate_stats([feats[v] for v in utts])),
                                   atol=1e-5)
    # without utt2corpus the whole set is one corpus
    (data / "utt2corpus").unlink()
    whole = Cmvn.from_data_dir(data, "corpus")
    np.testing.assert_allclose(np.concatenate([whole(u, m) for u, m in feats.items()]).mean(0), 0, atol=1e-5)
    with pytest.raises(CmvnError, match="no corpus statistics for utterance 'x-u0'"):
        whole("x-u0", np.zeros((3, DIM), np.float32))


def test_cmvn_errors_are_clear(recipe_dir, tmp_path):
    _feats_data_dir(recipe_dir, "train", {"spkA": (0.0, 1.0)}, seed=0)
    data = recipe_dir / "data" / "train"
    with pytest.raises(CmvnError, match="mode 'utterance'"):
        Cmvn("utterance")
    with pytest.raises(CmvnError, match="cmvn.scp: file not found"):
        Cmvn.from_data_dir(data, "speaker")
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/g.ark,{tmp_path}/g.scp") as w:
        w("spkA", np.ones((2, DIM + 1)))
    with pytest.raises(CmvnError, match="expected the single key 'global'"):
        load_global_stats(tmp_path / "g.scp")
    run_sh("steps/compute_cmvn.sh data/train exp/c cmvn", recipe_dir)
    with pytest.raises(CmvnError, match="no speaker statistics for utterance 'spkZ-u0'"):
        Cmvn.from_data_dir(data, "speaker")("spkZ-u0", np.zeros((3, DIM), np.float32))


def test_compute_cmvn_stage_needs_features(recipe_dir):
    data = recipe_dir / "data" / "nofeats"
    data.mkdir(parents=True)
    write_map(data / "utt2spk", {"s1-a": "s1"})
    write_map(data / "spk2utt", {"s1": "s1-a"})
    write_map(data / "utt2emo", {"s1-a": "neutral"})
    p = run_sh("steps/compute_cmvn.sh data/nofeats exp/c cmvn", recipe_dir, check=False)
    assert p.returncode != 0
    assert "data/nofeats/feats.scp not found; run steps/make_feats.sh first" in p.stderr
    assert not (data / "cmvn.scp").exists()
    p = run_sh("steps/compute_cmvn.sh data/nofeats exp/c", recipe_dir, check=False)
    assert p.returncode != 0 and "Usage:" in p.stderr
