"""Stage 5 scoring: metrics, report files, pooling over folds and seeds, RESULTS.md, steps/score.sh."""

from __future__ import annotations

import datetime
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emogcn.bin import pool_scores as pool_cli
from emogcn.bin import score as score_cli
from emogcn.scoring.metrics import ccc, classification_metrics, dimension_metrics, mean_std
from emogcn.scoring.pool import append_results_row, concat_predictions, results_row, summarize_runs
from emogcn.scoring.report import ScoringError, format_confusion, read_predictions, score_file

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["ang", "hap", "neu"]


def hand_example() -> tuple[list[str], list[str]]:
    """Confusion (rows reference, columns hypothesis), built cell by cell:
               ang hap neu | support
        ang      3   1   0 |  4
        hap      1   2   1 |  4
        neu      0   0   2 |  2
        predicted 4  3   3 | 10
    """
    pairs = [("ang", "ang")] * 3 + [("ang", "hap")] + [("hap", "ang")] + [("hap", "hap")] * 2 + \
        [("hap", "neu")] + [("neu", "neu")] * 2
    return [r for r, _ in pairs], [h for _, h in pairs]


def test_hand_computed_three_classes():
    ref, hyp = hand_example()
    m = classification_metrics(ref, hyp, CLASSES)
    assert m["confusion"] == [[3, 1, 0], [1, 2, 1], [0, 0, 2]]
    # recall: ang 3/4, hap 2/4, neu 2/2 -> UA = (0.75 + 0.5 + 1) / 3 = 0.75
    assert m["per_class_recall"] == pytest.approx({"ang": 0.75, "hap": 0.5, "neu": 1.0})
    assert m["UA"] == pytest.approx(0.75)
    # WA = diagonal / total = 7 / 10
    assert m["WA"] == pytest.approx(0.7)
    # precision: ang 3/4, hap 2/3, neu 2/3; F1 = 2PR/(P+R): ang 0.75, hap 4/7, neu 0.8
    assert m["per_class_precision"] == pytest.approx({"ang": 0.75, "hap": 2 / 3, "neu": 2 / 3})
    assert m["per_class_f1"] == pytest.approx({"ang": 0.75, "hap": 4 / 7, "neu": 0.8})
    assert m["macro_f1"] == pytest.approx((0.75 + 4 / 7 + 0.8) / 3)
    assert m["support"] == {"ang": 4, "hap": 4, "neu": 2}
    assert m["num_utts"] == 10 and m["absent_classes"] == []


def test_never_predicted_class_has_zero_f1_not_nan():
    m = classification_metrics(["ang", "ang", "hap", "neu"], ["ang", "ang", "ang", "neu"], CLASSES)
    assert m["per_class_precision"]["hap"] == 0.0
    assert m["per_class_recall"]["hap"] == 0.0
    assert m["per_class_f1"]["hap"] == 0.0
    assert m["UA"] == pytest.approx((1 + 0 + 1) / 3)
    # ang: P = 2/3, R = 1 -> F1 0.8; neu: 1
    assert m["macro_f1"] == pytest.approx((0.8 + 0 + 1) / 3)
    assert not any(isinstance(v, float) and math.isnan(v) for v in m["per_class_f1"].values())


def test_class_absent_from_reference_is_left_out_of_ua_and_f1():
    classes = CLASSES + ["sad"]
    m = classification_metrics(["ang", "hap", "neu", "neu"], ["ang", "hap", "neu", "sad"], classes)
    assert m["absent_classes"] == ["sad"]
    assert m["per_class_recall"]["sad"] is None and m["per_class_f1"]["sad"] is None
    assert m["per_class_precision"]["sad"] == 0.0
    assert m["UA"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert m["WA"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx((1 + 1 + 2 / 3) / 3)  # neu: P 1, R 1/2


def test_unknown_label_is_an_error():
    with pytest.raises(ValueError, match="hypothesis 'xxx'"):
        classification_metrics(["ang"], ["xxx"], CLASSES)


def test_ccc_matches_direct_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 0.6 * x + rng.normal(scale=0.5, size=50) + 0.3
    expected = 2 * np.cov(x, y, bias=True)[0, 1] / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
    assert ccc(x, y) == pytest.approx(expected)
    assert ccc(x, x) == pytest.approx(1.0)
    assert ccc(x - x.mean(), x.mean() - x) == pytest.approx(-1.0)
    assert ccc(x, x + 1.0) < 1.0  # a shift is penalised, unlike Pearson
    assert math.isnan(ccc([0.5, 0.5], [0.5, 0.5]))


def test_dimension_metrics_use_only_utterances_with_references():
    ref = np.array([[0.1, 0.2], [0.5, np.nan], [np.nan, np.nan], [-0.3, 0.4]])
    hyp = np.array([[0.0, 0.1], [0.4, 0.9], [0.7, 0.7], [-0.2, 0.1]])
    d = dimension_metrics(ref, hyp, ["valence", "arousal"])
    assert d["valence"]["n"] == 3 and d["arousal"]["n"] == 2
    assert d["valence"]["ccc"] == pytest.approx(ccc(ref[[0, 1, 3], 0], hyp[[0, 1, 3], 0]))
    assert d["arousal"]["ccc"] == pytest.approx(ccc(ref[[0, 3], 1], hyp[[0, 3], 1]))
    assert d["mean_ccc"] == pytest.approx((d["valence"]["ccc"] + d["arousal"]["ccc"]) / 2)
    assert dimension_metrics(np.full((2, 2), np.nan), hyp[:2], ["valence", "arousal"]) == {}


def test_mean_std_is_sample_std():
    mean, std, n = mean_std([0.5, 0.7, None, 0.6])
    assert (mean, n) == (pytest.approx(0.6), 3)
    assert std == pytest.approx(np.std([0.5, 0.7, 0.6], ddof=1))
    assert mean_std([0.5])[1] is None


# ---------------------------------------------------------------- files


def write_tsv(path: Path, rows: list[tuple], dims: bool = False, extra: tuple[str, ...] = ()) -> Path:
    """rows: (utt, ref, hyp[, ref_v, ref_a, hyp_v, hyp_a][, extra...]); posteriors put 0.8 on hyp."""
    header = ["utt", "reference", "hypothesis"] + [f"p_{c}" for c in CLASSES]
    if dims:
        header += ["ref_valence", "ref_arousal", "hyp_valence", "hyp_arousal"]
    header += list(extra)
    lines = ["\t".join(header)]
    for row in rows:
        utt, ref, hyp, *rest = row
        post = [f"{0.8 if c == hyp else 0.1:.2f}" for c in CLASSES]
        lines.append("\t".join([utt, ref, hyp, *post, *map(str, rest)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hand_rows(prefix: str = "s1") -> list[tuple]:
    ref, hyp = hand_example()
    return [(f"{prefix}_u{i:02d}", r, h) for i, (r, h) in enumerate(zip(ref, hyp))]


def test_score_cli_writes_report(tmp_path, capsys):
    tsv = write_tsv(tmp_path / "exp/scores/test/predictions.tsv", hand_rows())
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    out = tmp_path / "exp/scores/test"
    assert score_cli.main(["--classes", str(tmp_path / "classes.txt"), str(tsv), str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1 and "UA 75.00%" in line and "WA 70.00%" in line
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["UA"] == pytest.approx(0.75) and metrics["confusion"] == [[3, 1, 0], [1, 2, 1], [0, 0, 2]]
    assert "dimensions" not in metrics and "per_corpus" not in metrics
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "confusion.txt").read_text()
    assert "ang" in table and "75.0" in table and "33.3" not in table.split("percent")[0]
    # counts row of 'hap' and its row-normalised percentages
    assert any(line.split() == ["hap", "1", "2", "1", "4"] for line in table.splitlines())
    assert any(line.split() == ["hap", "25.0", "50.0", "25.0"] for line in table.splitlines())


def test_format_confusion_marks_empty_rows():
    text = format_confusion([[1, 0], [0, 0]], ["a", "b"])
    assert any(line.split() == ["b", "-", "-"] for line in text.splitlines())


def test_dimensions_and_per_corpus_breakdown(tmp_path):
    rows = [
        ("de_a", "ang", "ang", 0.1, 0.5, 0.2, 0.4, "emodb", "de"),
        ("de_b", "hap", "ang", 0.6, 0.3, 0.1, 0.3, "emodb", "de"),
        ("de_c", "neu", "neu", 0.0, -0.2, 0.1, -0.1, "emodb", "de"),
        ("en_a", "hap", "hap", "nan", "", 0.5, 0.1, "iemocap", "en"),
        ("en_b", "neu", "neu", "nan", "nan", 0.0, 0.0, "iemocap", "en"),
    ]
    tsv = write_tsv(tmp_path / "p.tsv", rows, dims=True, extra=("corpus", "lang"))
    m = score_file(tsv, tmp_path / "out")
    assert set(m["per_corpus"]) == {"emodb", "iemocap"} and set(m["per_lang"]) == {"de", "en"}
    emodb = m["per_corpus"]["emodb"]
    assert emodb["num_utts"] == 3 and emodb["UA"] == pytest.approx((1 + 0 + 1) / 3)
    assert m["per_corpus"]["iemocap"]["UA"] == pytest.approx(1.0)
    assert "dimensions" not in m["per_corpus"]["iemocap"]  # no references there
    ref_v, hyp_v = [0.1, 0.6, 0.0], [0.2, 0.1, 0.1]
    assert m["dimensions"]["valence"]["n"] == 3
    assert m["dimensions"]["valence"]["ccc"] == pytest.approx(ccc(ref_v, hyp_v))
    assert m["per_lang"]["de"]["dimensions"]["valence"]["ccc"] == pytest.approx(ccc(ref_v, hyp_v))
    saved = json.loads((tmp_path / "out/metrics.json").read_text())
    assert saved["per_corpus"]["emodb"]["confusion"] == emodb["confusion"]


@pytest.mark.parametrize("row, problem", [
    ("s1_x\tang\thap\t0.1\t0.8", "expected 6 columns"),
    ("s1_x\tang\tsad\t0.1\t0.8\t0.1", "hypothesis 'sad' is not one of the classes"),
    ("s1_x\tjoy\tang\t0.1\t0.8\t0.1", "reference 'joy'"),
    ("s1_x\tang\thap\t0.1\tabc\t0.1", "p_hap: 'abc' is not a number"),
    ("s1_u00\tang\thap\t0.1\t0.8\t0.1", "utterance 's1_u00' already on line 2"),
])
def test_malformed_tsv_names_file_and_line(tmp_path, row, problem):
    tsv = write_tsv(tmp_path / "p.tsv", hand_rows()[:2])
    tsv.write_text(tsv.read_text() + row + "\n")
    with pytest.raises(ScoringError) as err:
        read_predictions(tsv)
    assert str(err.value).startswith(f"{tsv}:4: ")
    assert problem in str(err.value)


def test_classes_file_must_match_columns(tmp_path, capsys):
    tsv = write_tsv(tmp_path / "p.tsv", hand_rows())
    (tmp_path / "classes.txt").write_text("hap\nang\nneu\n")
    assert score_cli.main(["--classes", str(tmp_path / "classes.txt"), str(tsv), str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f"{tsv}:1: p_ columns" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o/metrics.json").exists()


# ---------------------------------------------------------------- pooling


def two_folds(tmp_path: Path) -> tuple[Path, Path, list[tuple], list[tuple]]:
    fold1 = hand_rows("s1")  # UA 0.75, WA 0.7
    fold2 = [("s2_a", "ang", "ang"), ("s2_b", "hap", "hap"), ("s2_c", "neu", "hap"), ("s2_d", "neu", "neu")]
    d1, d2 = tmp_path / "fold1/scores/test", tmp_path / "fold2/scores/test"
    write_tsv(d1 / "predictions.tsv", fold1)
    write_tsv(d2 / "predictions.tsv", fold2)
    return d1, d2, fold1, fold2


def test_pool_two_folds(tmp_path, capsys):
    d1, d2, fold1, fold2 = two_folds(tmp_path)
    out = tmp_path / "pooled"
    assert pool_cli.main(["--name", "emodb_gcn", "--info", "model=emotion_gcn", "graph=prior",
                          str(out), str(d1), str(d2)]) == 0
    assert "pooled over 2 folds" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    everything = fold1 + fold2
    direct = classification_metrics([r[1] for r in everything], [r[2] for r in everything], CLASSES)
    assert m["UA"] == pytest.approx(direct["UA"]) and m["WA"] == pytest.approx(10 / 14)
    assert m["confusion"] == direct["confusion"] and m["num_utts"] == 14
    ua_folds = [0.75, (1 + 1 + 0.5) / 3]
    assert m["folds"]["n"] == 2
    assert m["folds"]["mean"]["UA"] == pytest.approx(np.mean(ua_folds))
    assert m["folds"]["std"]["UA"] == pytest.approx(np.std(ua_folds, ddof=1))
    assert [f["UA"] for f in m["folds"]["per_fold"]] == pytest.approx(ua_folds)
    assert m["folds"]["mean"]["WA"] == pytest.approx((0.7 + 0.75) / 2)
    assert m["info"] == {"model": "emotion_gcn", "graph": "prior"}
    pooled = read_predictions(out / "predictions.tsv")
    assert pooled.utts == [r[0] for r in everything]
    assert (out / "confusion.png").exists() and (out / "confusion.txt").exists()


def test_pool_duplicate_utterance_is_an_error(tmp_path, capsys):
    d1, d2, fold1, _ = two_folds(tmp_path)
    write_tsv(d2 / "predictions.tsv", [("s2_a", "ang", "ang"), fold1[3]])
    assert pool_cli.main(["--name", "x", str(tmp_path / "pooled"), str(d1), str(d2)]) == 1
    err = capsys.readouterr().err
    assert f"{d2 / 'predictions.tsv'}:3: utterance 's1_u03' is also in {d1 / 'predictions.tsv'}:5" in err
    assert not (tmp_path / "pooled/metrics.json").exists()


def test_concat_refuses_different_classes(tmp_path):
    a = read_predictions(write_tsv(tmp_path / "a.tsv", hand_rows()))
    b = read_predictions(write_tsv(tmp_path / "b.tsv", [("s2_a", "ang", "ang")]))
    b.classes = ["ang", "neu", "hap"]
    with pytest.raises(ScoringError, match="classes"):
        concat_predictions([a, b])


def test_results_md_append_twice(tmp_path):
    d1, d2, _, _ = two_folds(tmp_path)
    results = tmp_path / "RESULTS.md"
    results.write_text("# EmoDB results\n\nSpeaker-independent, pooled over folds.\n")
    before = results.read_text()
    for name in ("run_a", "run_b"):
        assert pool_cli.main(["--name", name, "--results", str(results), "--info", "model=emotion_gcn",
                              "features=fbank80", "graph=prior", "cmvn=speaker", "seeds=0",
                              str(tmp_path / name), str(d1), str(d2)]) == 0
    text = results.read_text()
    assert text.startswith(before)
    lines = text.splitlines()
    headers = [ln for ln in lines if ln.startswith("| date |")]
    assert len(headers) == 1
    assert headers[0] == ("| date | name | UA pooled | UA folds mean ± std | WA | macro-F1 | folds | "
                          "model | features | graph | cmvn | seeds |")
    rows = [ln for ln in lines if ln.startswith("| 20")]
    assert len(rows) == 2
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    today = datetime.date.today().isoformat()
    assert cells[0] == today and cells[1] == "run_a" and cells[6] == "2"
    assert cells[7:] == ["emotion_gcn", "fbank80", "prior", "speaker", "0"]
    assert cells[3] == f"{100 * np.mean([0.75, 2.5 / 3]):.2f} ± {100 * np.std([0.75, 2.5 / 3], ddof=1):.2f}"
    assert rows[1].split("|")[2].strip() == "run_b"


def test_results_md_new_info_key_starts_new_table(tmp_path):
    results = tmp_path / "RESULTS.md"
    metrics = {"UA": 0.5, "WA": 0.6, "macro_f1": 0.4}
    append_results_row(results, results_row(metrics, "a", date="2024-01-01"), {"model": "m"})
    first = results.read_text()
    append_results_row(results, results_row(metrics, "b", date="2024-01-02"), {})  # subset: same table
    append_results_row(results, results_row(metrics, "c", date="2024-01-03"), {"model": "m", "lr": "0.1"})
    text = results.read_text()
    assert text.startswith(first)
    assert "| 2024-01-02 | b | 50.00 | - | 60.00 | 40.00 | 1 | - |" in text
    assert text.count("| date |") == 2 and "| folds | model | lr |" in text


def test_seeds_summary_and_table(tmp_path, capsys):
    d1, d2, _, _ = two_folds(tmp_path)
    seed_dirs = []
    for seed, dirs in ((0, [d1, d2]), (1, [d1])):
        seed_dirs.append(tmp_path / f"seed{seed}")
        assert pool_cli.main(["--name", f"s{seed}", str(seed_dirs[-1]), *map(str, dirs)]) == 0
    uas = [json.loads((d / "metrics.json").read_text())["UA"] for d in seed_dirs]
    summary = summarize_runs(seed_dirs)
    assert summary["n"] == 2 and summary["mean"]["UA"] == pytest.approx(np.mean(uas))
    assert summary["std"]["UA"] == pytest.approx(np.std(uas, ddof=1))
    results = tmp_path / "RESULTS.md"
    assert pool_cli.main(["--seeds", "--name", "gcn_seeds", "--results", str(results), "--info", "seeds=0,1",
                          str(tmp_path / "seeds"), *map(str, seed_dirs)]) == 0
    row = results.read_text().splitlines()[-1]
    assert f"{100 * np.mean(uas):.2f} ± {100 * np.std(uas, ddof=1):.2f}" in row
    capsys.readouterr()
    assert pool_cli.main(["--table", f"seed0={seed_dirs[0] / 'metrics.json'}", f"seed1={seed_dirs[1]}",
                          f"both={tmp_path / 'seeds'}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["name", "UA", "WA", "macro-F1"]
    assert lines[1].split()[:2] == ["seed0", f"{100 * uas[0]:.2f}"]
    assert lines[3].startswith("both") and "2 seeds" in lines[3]
    assert pool_cli.main(["--table", f"gone={tmp_path / 'nothing'}"]) == 1


def test_steps_score_sh(tmp_path):
    exp = tmp_path / "exp/emodb/gcn"
    write_tsv(exp / "scores/test/predictions.tsv", hand_rows())
    (exp / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    env = dict(os.environ)
    result = subprocess.run(["bash", str(ROOT / "steps/score.sh"), str(exp), "test"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "UA 75.00%" in result.stdout
    for name in ("metrics.json", "confusion.txt", "confusion.png", "log/score.log"):
        assert (exp / "scores/test" / name).is_file()
    missing = subprocess.run(["bash", str(ROOT / "steps/score.sh"), str(exp), "dev"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "predictions.tsv: not found" in missing.stderr


def _seed_result(path: Path, features: str, model: str, seed: int, fold_uas: list[float]) -> Path:
    path.mkdir(parents=True)
    per_fold = [{"dir": f"fold{k}", "num_utts": 10, "UA": ua, "WA": ua + 0.01, "macro_f1": ua - 0.01}
                for k, ua in enumerate(fold_uas, 1)]
    metrics = {"name": f"{model}_{features}_seed{seed}", "UA": float(np.mean(fold_uas)) + 0.005,
               "folds": {"per_fold": per_fold},
               "info": {"model": model, "backbone": "mlp", "features": features, "cmvn": "speaker", "seeds": str(seed)}}
    (path / "metrics.json").write_text(json.dumps(metrics))
    return path


def test_grid_table_groups_seeds_and_spreads_over_folds_and_seeds(tmp_path, capsys):
    runs = [_seed_result(tmp_path / "a0", "compare", "single_task", 0, [0.7, 0.8]),
            _seed_result(tmp_path / "a1", "compare", "single_task", 1, [0.6, 0.9]),
            _seed_result(tmp_path / "b0", "egemaps", "emotion_gcn", 0, [0.5, 0.6])]
    assert pool_cli.main(["--grid", *map(str, runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| front-end | backbone | variant | normalisation | seeds | folds |")
    assert len(lines) == 4
    compare = lines[2].split(" | ")
    assert compare[:6] == ["| compare", "mlp", "single_task", "speaker", "0,1", "2"]
    # UA pooled: mean ± std of the two seeds' 75.5; UA over the four (fold, seed) pairs: 75 ± 12.91
    assert compare[6] == "75.50 ± 0.00"
    assert compare[7] == f"75.00 ± {100 * np.std([0.7, 0.8, 0.6, 0.9], ddof=1):.2f}"
    assert lines[3].split(" | ")[4:8] == ["0", "2", "55.50", "55.00 ± 7.07"]  # one seed: no spread


def test_grid_table_refuses_a_result_without_its_info(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x/metrics.json").write_text(json.dumps({"UA": 0.5, "info": {"model": "single_task"}}))
    assert pool_cli.main(["--grid", str(tmp_path / "x")]) == 1
    assert "not the pooled result of one seed with info features, backbone, model, cmvn" in capsys.readouterr().err
