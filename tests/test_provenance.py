"""Every stage knows what it was made from: markers that record configs, options and inputs, and
recipes that never reuse a stale output (emogcn/provenance.py, steps/run_corpus.sh)."""

from __future__ import annotations

import subprocess
import time

import pytest
import yaml

from conftest import FAULT_TRAIN_CONFIG, link_recipe_dir, run_sh
from emogcn import provenance as pv
from emogcn.data import datadir as dd

# ------------------------------------------------------------------------------------- units


def test_marker_round_trip_and_what_counts_as_the_same(tmp_path):
    (tmp_path / "a.yaml").write_text("type: fbank  # a comment\nnum_mel_bins: 80\n")
    (tmp_path / "b.yaml").write_text("num_mel_bins: 80\ntype: fbank\n")  # same content, other layout
    marker = tmp_path / "out/.done"
    made = pv.made_from({"features": pv.config_content(tmp_path / "a.yaml")}, {"k": "1"}, {"data": "abc"})
    assert not pv.check(marker, made, what="x", ways="w").done
    record = pv.write_marker(marker, "features", made, {"features": "fbank"})
    assert pv.marker_id(marker) == record["id"] and len(record["id"]) == 12
    same = pv.made_from({"features": pv.config_content(tmp_path / "b.yaml")}, {"k": "1"}, {"data": "abc"})
    assert pv.check(marker, same, what="x", ways="w").done
    # a second write of the same is another id: what consumed the first sees it was remade
    assert pv.write_marker(marker, "features", made)["id"] != record["id"]


def test_other_settings_are_refused_naming_them_and_the_ways_on(tmp_path):
    marker = tmp_path / ".done"
    pv.write_marker(marker, "features", pv.made_from({"features": {"type": "fbank", "bins": 80}}))
    asked = pv.made_from({"features": {"type": "mfcc", "bins": 23}})
    with pytest.raises(pv.ProvenanceError) as e:
        pv.check(marker, asked, what="stage 1: features of d", ways="use another --feat-tag, or remove d")
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith("stage 1: features of d: made with other settings")
    assert "configs.features.type: fbank -> mfcc; configs.features.bins: 80 -> 23" in message  # kind first
    assert message.endswith("use another --feat-tag, or remove d")


def test_remade_inputs_redo_or_refuse(tmp_path):
    marker = tmp_path / ".done"
    pv.write_marker(marker, "cmvn", pv.made_from(inputs={"features": "old"}))
    status = pv.check(marker, pv.made_from(inputs={"features": "new"}), what="x", ways="w")
    assert not status.done and "features: old -> new" in status.reason
    with pytest.raises(pv.ProvenanceError, match=r"x: made from inputs that have been remade since \(features: old"):
        pv.check(marker, pv.made_from(inputs={"features": "new"}), what="x", ways="w", redo_on_new_inputs=False)


def test_a_marker_of_an_older_emogcn_is_refused(tmp_path):
    (tmp_path / ".done").write_text("best_epoch 3\n")
    with pytest.raises(pv.ProvenanceError, match="older emogcn that did not record"):
        pv.check(tmp_path / ".done", pv.made_from(), what="exp", ways="remove it")


def test_data_id_is_the_stage_marker_else_the_content(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "utt2spk").write_text("a s\n")
    first = pv.data_id(d)
    assert first.startswith("sha1:") and pv.data_id(d) == first
    (d / "utt2spk").write_text("a t\n")
    assert pv.data_id(d) != first
    record = pv.write_marker(d / pv.DATA_MARKER, "normalization", pv.made_from(), {"features": "fbank"})
    assert pv.data_id(d) == record["id"] and pv.data_labels(d) == {"features": "fbank"}


def test_stage_cli_exit_codes(tmp_path):
    marker = tmp_path / "m"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("x: 1\n")

    def stage(*args):
        return subprocess.run(["python", "-m", "emogcn.bin.stage", *args], capture_output=True, text=True)

    check = ["check", "--what", "thing", "--config", f"c={cfg}", "--option", "o=1", str(marker)]
    assert stage(*check).returncode == 3
    assert stage("write", "--stage", "s", "--label", "features=f", "--config", f"c={cfg}", "--option", "o=1",
                 "--also", str(tmp_path / "copy"), str(marker)).returncode == 0
    p = stage(*check)
    assert p.returncode == 0 and "thing already done" in p.stderr
    assert (tmp_path / "copy").read_text() == marker.read_text()
    assert stage("get", str(marker), "labels.features").stdout.strip() == "f"
    cfg.write_text("x: 2\n")
    p = stage(*check)
    assert p.returncode == 1 and "configs.c.x: 1 -> 2" in p.stderr
    p = stage("check", "--what", "t", "--input", f"d={tmp_path / 'absent'}", str(marker))
    assert p.returncode == 1 and "absent: not found" in p.stderr


# ------------------------------------------------------------------------------------- recipes

TINY = {**FAULT_TRAIN_CONFIG, "epochs": 1, "batch_size": 8}
STAGES = ("steps/run_corpus.sh --corpus mini --db-root db --prepare-opts '--speakers-per-language 2 --utts-per-class 3'"
          " --fold-opts '--protocol groups --num-groups 2' --feat-config conf/fbank.yaml --train-config ./tiny.yaml --train-tag t --seeds 0 --dev speaker"
          " --variants single_task --train-nj 1 --augment none")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """A mini recipe (4 speakers, 60 utterances, 2 folds) with fold 1 trained and scored."""
    d = link_recipe_dir(tmp_path_factory.mktemp("provenance") / "recipe")
    (d / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    run_sh(f"{STAGES} --folds 1", d)
    return d


def _id(d, marker):
    return yaml.safe_load((d / marker).read_text())["id"]


def test_a_finished_stage_asked_for_other_features_is_refused_and_kept(recipe):
    before = (recipe / "data/all/feats.scp").read_text()
    p = run_sh(f"{STAGES} --stage 1 --stop-stage 1 --feat-config conf/mfcc.yaml", recipe, check=False)
    assert p.returncode == 1
    assert ("stage 1: features of data/all: made with other settings than this run asks for "
            "(configs.features.type: fbank -> mfcc") in p.stderr
    assert "use another --feat-tag" in p.stderr and "remove data/all/.feats.done" in p.stderr
    assert (recipe / "data/all/feats.scp").read_text() == before
    # the other front-end beside it, under its own tag; its rows say mfcc, whatever the tag is called
    run_sh(f"{STAGES} --stage 1 --folds 1 --feat-config conf/mfcc.yaml --feat-tag other --train-tag m", recipe)
    feats = recipe / "data/other/all/feats.scp"
    assert len(dd.read_map(feats)) == 60
    row = next(r for r in (recipe / "RESULTS.md").read_text().splitlines() if "single_task_m_seed0" in r)
    assert "| mfcc |" in row and "| fbank |" not in row


def test_other_classes_or_graph_settings_are_refused(recipe):
    p = run_sh(f"{STAGES} --stop-stage 0 --classes four", recipe, check=False)
    assert p.returncode == 1 and "(options.classes: all -> four)" in p.stderr
    (recipe / "identity.yaml").write_text("method: identity\n")
    p = run_sh(f"{STAGES} --stage 3 --stop-stage 3 --folds 1 --graph-config identity.yaml", recipe, check=False)
    assert p.returncode == 1 and "configs.graph.method: auto -> identity" in p.stderr and "--graph-tag" in p.stderr
    run_sh(f"{STAGES} --stage 3 --stop-stage 3 --folds 1 --graph-config identity.yaml --graph-tag id", recipe)
    assert yaml.safe_load((recipe / "exp/graph_id/fold1/.done").read_text())["labels"] == {"graph": "identity"}


def test_features_remade_renormalise_and_refuse_the_old_models(recipe):
    cmvn_before = _id(recipe, "data/folds/.cmvn.done")
    graph_before = _id(recipe, "exp/graph_auto/fold1/.done")
    (recipe / "data/all/.feats.done").unlink()
    p = run_sh(f"{STAGES} --stage 1 --stop-stage 4 --folds 1", recipe, check=False)
    assert "stage 2: normalization of data: made again: its inputs were remade (features:" in p.stderr
    assert _id(recipe, "data/folds/.cmvn.done") != cmvn_before
    for s in ("train", "dev", "test"):  # every set carries the new statistics' marker
        assert _id(recipe, f"data/folds/fold1/{s}/.cmvn.done") == _id(recipe, "data/folds/.cmvn.done")
    assert _id(recipe, "exp/graph_auto/fold1/.done") == graph_before  # labels unchanged: the graph stands
    assert p.returncode == 1
    assert ("exp/single_task_t_seed0/fold1: made from inputs that have been remade since (dev: " in p.stderr
            and "; train: " in p.stderr and "remove it to retrain" in p.stderr)
    # a retrained model on the new data is scored again; its row replaces the old one
    run_sh("rm -rf exp/single_task_t_seed0", recipe)
    run_sh(f"{STAGES} --stage 4 --folds 1", recipe)
    rows = [r for r in (recipe / "RESULTS.md").read_text().splitlines() if "| single_task_t_seed0 |" in r]
    assert len(rows) == 1


def test_global_statistics_for_every_fold_after_a_quick_run(recipe):
    # stage 2 ran with --folds 1, but fold 2 has its training set's global statistics too
    assert (recipe / "data/folds/fold2/train/cmvn_global.scp").is_file()
    run_sh(f"{STAGES} --stage 3 --folds 2 --cmvn global --train-tag g", recipe)
    row = next(r for r in (recipe / "RESULTS.md").read_text().splitlines() if "| single_task_g_seed0 |" in r)
    assert "| global |" in row


def test_rescoring_replaces_the_row(recipe):
    results = recipe / "RESULTS.md"
    run_sh(f"{STAGES} --stage 5 --folds 1", recipe)
    once = results.read_text()
    p = run_sh(f"{STAGES} --stage 5 --folds 1", recipe)
    assert "already predicted from this model and data" in (recipe / "exp/single_task_t_seed0/fold1/log/infer_test.log").read_text()
    text = results.read_text()
    assert text.count("| single_task_t_seed0 |") == 1 and len(text) == len(once), p.stderr


def test_two_runs_in_one_directory_the_second_exits_at_once(recipe):
    first = subprocess.Popen(["bash", "-c", f"exec {STAGES} --stage 3 --folds '1 2' --epochs 3 --train-tag lock"],
                             cwd=recipe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    lock = recipe / ".emogcn.lock"
    try:
        deadline = time.time() + 60
        while not lock.is_file() or f"pid {first.pid}," not in lock.read_text():
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.05)
        t0 = time.time()
        second = run_sh(f"{STAGES} --stage 3", recipe, check=False)
        assert second.returncode == 1 and time.time() - t0 < 20
        assert f"another run is writing in {recipe.resolve()} (pid {first.pid}" in second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0
    assert run_sh(f"{STAGES} --stage 5 --folds 1 --train-tag lock", recipe).returncode == 0  # free again


def test_scores_and_models_record_what_made_them(recipe):
    model = yaml.safe_load((recipe / "exp/single_task_t_seed0/fold1/.done").read_text())
    assert model["labels"] == {"model": "single_task", "backbone": "speech_cnn", "features": "fbank",
                               "cmvn": "speaker", "graph": "correlation", "dev": "speaker", "seed": 0}
    assert model["made_from"]["inputs"]["train"] == _id(recipe, "data/folds/fold1/train/.cmvn.done")
    scores = yaml.safe_load((recipe / "exp/single_task_t_seed0/fold1/scores/test/.done").read_text())
    assert scores["made_from"]["inputs"] == {"model": model["id"], "data": _id(recipe, "data/folds/fold1/test/.cmvn.done")}
    assert scores["labels"]["test"] == "test" and scores["made_from"]["options"] == {"checkpoint": "best"}
