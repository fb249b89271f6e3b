"""Stage 6 of a recipe (steps/run_corpus.sh): `--stage 6` packages a fold's model, `--package-train
all` trains one final model on every speaker and packages that; emogcn-predict then runs on audio
the recipe never saw."""

from __future__ import annotations

import soundfile as sf
import yaml

from conftest import FAULT_TRAIN_CONFIG, link_recipe_dir, run_sh, speech_samples
from emogcn.data import datadir as dd

TINY = {**FAULT_TRAIN_CONFIG, "epochs": 2, "batch_size": 8, "inference_checkpoint": "last"}
RECIPE = ("steps/run_corpus.sh --corpus mini --db-root db --prepare-opts '--speakers-per-language 2 --utts-per-class 3'"
          " --fold-opts '--protocol groups --num-groups 2' --feat-config conf/fbank.yaml --train-config ./tiny.yaml"
          " --train-tag t --seeds 0 --dev speaker"
          " --variants 'emotion_gcn single_task' --train-nj 1 --folds 2")


def test_stage_6_packages_a_fold_model_or_a_final_one(tmp_path):
    d = link_recipe_dir(tmp_path / "recipe")
    (d / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    p = run_sh(RECIPE, d)
    assert not (d / "exp/model").exists()  # stages 0-5 by default: packaging only when asked

    # asked before there is a model: one line, nothing written
    p = run_sh(f"{RECIPE} --stage 6 --package-variant multi_task", d, check=False)
    assert p.returncode == 1 and "multi_task_t_seed0/fold2 has not finished training" in p.stderr
    assert not (d / "exp/model").exists()

    # --stage 6 alone runs stage 6 only: the first variant, seed and fold
    p = run_sh(f"{RECIPE} --stage 6", d)
    assert "stage 4" not in p.stderr
    info = yaml.safe_load((d / "exp/model/package.yaml").read_text())
    assert info["source"]["experiment"].endswith("emotion_gcn_t_seed0/fold2")
    row = [r for r in (d / "RESULTS.md").read_text().splitlines() if "| emotion_gcn_t_seed0 |" in r]
    assert len(row) == 1 and info["metrics"]["UA pooled"] in row[0]  # the card quotes the recipe's row
    assert "emotion_gcn_t_seed0" in (d / "exp/model/README.md").read_text()

    # --package-variant picks another
    run_sh(f"{RECIPE} --stage 6 --package-variant single_task", d)
    assert yaml.safe_load((d / "exp/model/package.yaml").read_text())["source"]["experiment"].endswith(
        "single_task_t_seed0/fold2")

    # a final model on every speaker, its own graph, into another directory
    run_sh(f"{RECIPE} --stage 6 --package-train all --package-dir exp/final_model", d)
    final = d / "exp/final/emotion_gcn_t_seed0_all"
    assert (final / ".done").exists() and (d / "exp/graph_auto_all/.done").exists()
    # with the default copies (--augment auto), on every speaker's audio and its noise and reverberation
    # copies, as the cross-validated models trained
    assert "data/all_with_copies none" in (final / "command.txt").read_text()
    utts = dd.read_map(d / "data/all_with_copies/utt2spk")
    recorded = dd.read_map(d / "data/all/utt2spk")
    assert set(utts) == set(recorded) | {f"{t}-{u}" for t in ("noise10", "reverb0.5") for u in recorded}
    assert set(dd.read_map(d / "data/all_with_copies/cmvn.scp")) == set(utts.values())
    info = yaml.safe_load((d / "exp/final_model/package.yaml").read_text())
    assert info["source"]["protocol"] == "trained on every speaker of data/all_with_copies (no held-out test speakers)"
    assert info["name"] == "emotion_gcn_t_seed0_all"
    # trained once: asked again, the finished model is kept
    before = (final / "checkpoints/last.pt").stat().st_mtime_ns
    run_sh(f"{RECIPE} --stage 6 --package-train all --package-dir exp/final_model", d)
    assert (final / "checkpoints/last.pt").stat().st_mtime_ns == before

    # the package predicts audio that the recipe never saw
    for i, wave in enumerate(speech_samples(3)):
        sf.write(tmp_path / f"new{i}.wav", wave, 16000)
    p = run_sh(f"python -m emogcn.bin.predict --model exp/final_model {tmp_path}/new0.wav {tmp_path}/new1.wav "
               f"{tmp_path}/new2.wav", d)
    rows = p.stdout.strip().splitlines()
    assert len(rows) == 4 and rows[0].split("\t")[:2] == ["input", "label"]
    for r in rows[1:]:
        fields = r.split("\t")
        assert fields[0].endswith(".wav") and fields[1] in info["classes"] and fields[-1] == "-"  # no error
