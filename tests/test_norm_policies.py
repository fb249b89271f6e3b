"""emogcn.bin.norm_policies: UA under each normalisation policy agrees with the recipe's scoring
and with emogcn-predict run under that policy."""

from __future__ import annotations

import json

from conftest import run_sh
from emogcn.scoring.metrics import classification_metrics
from test_predict import PREDICT, read_tsv


def _ua(rows, key, label_key, utt2emo, classes):
    return classification_metrics([utt2emo[r[key]] for r in rows], [r[label_key] for r in rows], classes)["UA"]


def test_policy_table_agrees_with_scoring_and_prediction(packaged_mini, tmp_path):
    d, exp, pkg = packaged_mini
    name = exp.relative_to(d)
    p = run_sh(f"python -m emogcn.bin.norm_policies --policies global,utterance,batch:1,batch:1000,batch:3,speaker,none "
               f"--json {tmp_path}/p.json {name}", d)
    rows = {r["policy"]: r for r in json.loads((tmp_path / "p.json").read_text())["rows"]}
    assert list(rows) == ["global", "utterance", "batch:1", "batch:1000", "batch:3", "speaker", "none"]
    assert {k for k, r in rows.items() if r["input_only"]} == {"global", "utterance", "none"}
    assert "| speaker | no |" in p.stdout and "best policy that needs nothing but the input:" in p.stdout

    test = d / "data" / "folds" / "fold1" / "test"
    utt2emo = dict(line.split() for line in (test / "utt2emo").read_text().splitlines())
    classes = (exp / "fold1" / "classes.txt").read_text().split()
    # speaker: the recipe's own stage 5
    run_sh(f"python -m emogcn.bin.infer {name}/fold1 {test} {tmp_path}/infer", d)
    scored = read_tsv((tmp_path / "infer" / "predictions.tsv").read_text())
    assert rows["speaker"]["ua_pooled"] == _ua(scored, "utt", "hypothesis", utt2emo, classes)
    # global and utterance: emogcn-predict under that policy
    for policy in ("global", "utterance"):
        out = run_sh(f"{PREDICT} --model {pkg} --no-progress --speaker-stats {policy} {test}/wav.scp", d)
        assert rows[policy]["ua_pooled"] == _ua(read_tsv(out.stdout), "input", "label", utt2emo, classes), policy
    # batches of one speaker's recordings: of one, an utterance's own statistics; of all, the speaker's
    assert rows["batch:1"]["ua_pooled"] == rows["utterance"]["ua_pooled"]
    assert rows["batch:1000"]["ua_pooled"] == rows["speaker"]["ua_pooled"]
    assert rows["batch:3"]["folds"] == 1 and 0 <= rows["batch:3"]["ua_pooled"] <= 1


def test_bad_policy_and_missing_experiment(packaged_mini):
    d, exp, _ = packaged_mini
    p = run_sh(f"python -m emogcn.bin.norm_policies --policies batch {exp.relative_to(d)}", d, check=False)
    assert p.returncode == 2 and "batch:<N>" in p.stderr
    p = run_sh("python -m emogcn.bin.norm_policies exp/nothing_here", d, check=False)
    assert p.returncode == 1 and "exp/nothing_here: neither an experiment" in p.stderr
