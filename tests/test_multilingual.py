"""The multilingual recipe: the sets of each mode, the cross-corpus tables, and an end-to-end
cross-corpus matrix over the mini corpus and the real EmoDB."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import EMODB, REPO, make_data_dir, run_sh
from emogcn.data import datadir as dd
from emogcn.data.multicorpus import make_sets
from emogcn.scoring.cross_corpus import collect_cells


def _corpus(root, name, speakers, num_folds):
    """A prepared corpus directory: all/ with feats.scp, and leave-one-speaker-out folds."""
    spk_utts = {f"{name}-s{i}": 2 for i in range(speakers)}
    all_dir = make_data_dir(root / name / "all", spk_utts)
    dd.write_map(all_dir / "feats.scp", {u: f"f.ark:{i}" for i, u in enumerate(dd.read_map(all_dir / "utt2spk"))})
    spks = sorted(spk_utts)
    for k in range(1, num_folds + 1):
        test, dev = spks[k - 1], spks[k % len(spks)]
        train = [s for s in spks if s not in (test, dev)]
        for set_name, set_spks in (("train", train), ("dev", [dev]), ("test", [test])):
            dd.subset_data_dir(all_dir, root / name / f"folds/fold{k}/{set_name}", spks=set_spks)
    return root / name


def _spks(d):
    return set(dd.read_map(d / "utt2spk").values())


@pytest.fixture
def corpora(tmp_path):
    return {"a": _corpus(tmp_path, "a", 4, 4), "b": _corpus(tmp_path, "b", 3, 2)}


def test_matrix_sets(tmp_path, corpora):
    splits = make_sets("matrix", corpora, tmp_path / "matrix")
    assert [s.name for s in splits] == ["from_a", "from_b"]
    a = tmp_path / "matrix/from_a"
    assert (a / "tests").read_text().split() == ["test_a", "test_b"]
    assert _spks(a / "train") == {"a-s2", "a-s3"} and _spks(a / "dev") == {"a-s1"}
    assert _spks(a / "test_a") == {"a-s0"}  # the diagonal: the source corpus's own test speakers
    assert _spks(a / "test_b") == {"b-s0", "b-s1", "b-s2"}  # the whole other corpus
    assert not _spks(a / "train") & _spks(a / "test_a")
    assert dd.read_map(a / "train/feats.scp")


def test_loco_and_pooled_sets(tmp_path, corpora):
    loco = make_sets("loco", corpora, tmp_path / "loco")
    assert [s.name for s in loco] == ["without_a", "without_b"]
    without_a = tmp_path / "loco/without_a"
    assert {s.split("-")[0] for s in _spks(without_a / "train") | _spks(without_a / "dev")} == {"b"}
    assert _spks(without_a / "test_a") == {f"a-s{i}" for i in range(4)}

    pooled = make_sets("pooled", corpora, tmp_path / "pooled", folds=[1, 3])
    assert [s.name for s in pooled] == ["fold1", "fold3"]
    fold3 = tmp_path / "pooled/fold3"
    # b has 2 folds: its fold 3 wraps around to fold 1
    assert _spks(fold3 / "test_all") == {"a-s2", "b-s0"}
    assert not _spks(fold3 / "test_all") & (_spks(fold3 / "train") | _spks(fold3 / "dev"))
    assert dd.validate_data_dir(fold3 / "train", dd.ValidateOptions()) > 0


def test_sets_need_prepared_corpora(tmp_path, corpora):
    (corpora["b"] / "all/feats.scp").unlink()
    with pytest.raises(dd.DataDirError, match="no feats.scp; run stages 1-2"):
        make_sets("matrix", corpora, tmp_path / "m")
    with pytest.raises(ValueError, match="needs at least 2 corpora"):
        make_sets("loco", {"a": corpora["a"]}, tmp_path / "m")


@pytest.mark.corpus  # ../shared/corpora
def test_cross_corpus_matrix_over_mini_and_emodb(tmp_path):
    if not (EMODB / "wav").is_dir():
        pytest.fail(f"EmoDB not found at {EMODB}: the real-speech tests need ../shared/corpora/emodb")
    d = tmp_path / "multilingual"
    d.mkdir()
    src = REPO / "egs/multilingual"
    for name in ("steps", "utils", "local", "path.sh", "cmd.sh", "conf"):
        os.symlink(src / name, d / name)
    shutil.copy(src / "run.sh", d / "run.sh")
    p = run_sh(f"./run.sh --corpora 'mini emodb' --db-roots 'emodb={EMODB}' --mode matrix --epochs 1", d)
    results = (d / "RESULTS.md").read_text()
    for variant in ("single_task", "emotion_gcn"):
        assert f"### matrix: {variant}_ecapa_seed0" in results
        exp = d / f"exp/matrix_mini_emodb/{variant}_ecapa_seed0"
        assert (exp / "ua_by_corpus.png").read_bytes()[:4] == b"\x89PNG"
        cells = collect_cells(exp, ["from_emodb", "from_mini"], "corpus")
        assert set(cells) == {(s, c) for s in ("from_emodb", "from_mini") for c in ("emodb", "mini")}
        assert all(0.0 <= v.ua <= 1.0 for v in cells.values())
        assert {k for k, v in cells.items() if v.within} == {("from_emodb", "emodb"), ("from_mini", "mini")}
    # four shared classes: fear, boredom and disgust were dropped at stage 0, and counted
    assert set(dd.read_map(d / "data/emodb/all/utt2emo").values()) == {"anger", "happiness", "neutral", "sadness"}
    assert "dropped" in p.stderr and "| from_emodb |" in p.stdout
