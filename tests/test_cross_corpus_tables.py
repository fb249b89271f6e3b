"""The multilingual tables (emogcn/scoring/cross_corpus.py, `cross_corpus table`): cells from the
pooled per-utterance predictions, within and cross cells kept apart, the most-predicted class of
each cell, and the summary's count of cross cells below chance. Synthetic exp and data dirs."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_data_dir
from emogcn.bin.cross_corpus import main
from emogcn.data import datadir as dd
from emogcn.data.multicorpus import make_sets
from emogcn.scoring.cross_corpus import Cell, collect_all, collect_cells, markdown_matrix, markdown_top_class, summary
from emogcn.scoring.report import Predictions, write_predictions

CLASSES = ["anger", "happiness", "neutral", "sadness"]
A, H, N, S = CLASSES
LANG = {"de1": "de", "de2": "de", "en": "en"}  # two German corpora, one English

# (reference, hypothesis) per utterance of each test set of each matrix split.
DE1_PERFECT = [(A, A), (H, H), (N, N), (S, S)]  # UA 1
DE1 = [(A, A), (H, H), (N, S), (S, S)]  # recalls 1, 1, 0, 1: UA 0.75
DE2 = [(A, A), (A, S), (A, S), (A, S), (H, H), (N, N)] + [(S, S)] * 3  # anger 1/4, the rest all: UA 0.8125
EN_COLLAPSED = [(A, S), (A, S), (H, S), (H, S), (N, S), (N, S), (S, S), (S, A), (S, N), (S, S)]
# ^ 8 of 10 predicted sadness; recalls 0, 0, 0, 2/4: UA 0.125, below chance (0.25)
EN = [(A, A), (H, H), (N, N), (S, S), (S, A)]  # recalls 1, 1, 1, 1/2: UA 0.875
MATRIX = {
    "from_de1": {"de1": DE1_PERFECT, "de2": DE2, "en": EN_COLLAPSED},
    "from_en": {"de1": DE1, "de2": DE2, "en": EN},
}


def _write_test_set(exp, split, test, rows, corpus=None):
    """scores/<test>/predictions.tsv with one-hot posteriors and the corpus and lang columns."""
    corpora = [corpus] * len(rows) if corpus else [u.split("-")[0] for u, _, _ in rows]
    preds = Predictions(classes=CLASSES, utts=[u for u, _, _ in rows], refs=[r for _, r, _ in rows],
                        hyps=[h for _, _, h in rows],
                        posteriors=np.array([[float(c == h) for c in CLASSES] for _, _, h in rows]),
                        ref_dims=np.zeros((len(rows), 0)), hyp_dims=np.zeros((len(rows), 0)),
                        extra={"corpus": corpora, "lang": [LANG[c] for c in corpora]})
    write_predictions(exp / split / "scores" / test / "predictions.tsv", preds)


def _rows(corpus, pairs, tag=""):
    return [(f"{corpus}-s{tag}{i // 2}-u{i:02d}", r, h) for i, (r, h) in enumerate(pairs)]


def _write_split_data(data, split, train_corpora, tests):
    """<data>/<split>/train/{utt2corpus,utt2lang} (one utterance per training corpus is enough) and tests."""
    utts = {f"{c}-train-u0": c for c in train_corpora}
    dd.write_map(data / split / "train" / "utt2corpus", utts)
    dd.write_map(data / split / "train" / "utt2lang", {u: LANG[c] for u, c in utts.items()})
    (data / split / "tests").write_text("".join(f"{t}\n" for t in tests))


@pytest.fixture
def matrix(tmp_path):
    exp, data = tmp_path / "exp", tmp_path / "data"
    for split, tests in MATRIX.items():
        for corpus, pairs in tests.items():
            _write_test_set(exp, split, f"test_{corpus}", _rows(corpus, pairs))
        _write_split_data(data, split, [split[len("from_"):]], [f"test_{c}" for c in tests])
    return exp, data


def test_language_cell_pools_the_utterances_of_every_corpus_of_the_language(matrix):
    exp, data = matrix
    corpus = collect_cells(exp, ["from_en"], "corpus", data)
    lang = collect_cells(exp, ["from_en"], "lang", data)
    assert corpus[("from_en", "de1")].ua == pytest.approx(0.75)
    assert corpus[("from_en", "de2")].ua == pytest.approx(0.8125)
    # de1 + de2 pooled, by hand: anger 2 of 5 right, happiness 2/2, neutral 1/2, sadness 4/4
    pooled = (2 / 5 + 2 / 2 + 1 / 2 + 4 / 4) / 4
    assert pooled == pytest.approx(0.725)
    cell = lang[("from_en", "de")]
    assert cell.ua == pytest.approx(pooled) and cell.utts == 13 and cell.classes == 4
    # not either corpus's own figure (the old table showed the last test set's), nor their mean
    for other in (0.75, 0.8125, (0.75 + 0.8125) / 2):
        assert cell.ua != pytest.approx(other)
    assert "| from_en | 72.50 | 87.50* |" in markdown_matrix(lang, "t")


def test_an_utterance_in_two_test_sets_counts_once(tmp_path):
    exp = tmp_path / "exp"
    de1, de2 = _rows("de1", DE1), _rows("de2", DE2)
    _write_test_set(exp, "fold1", "test_all", de1 + de2)
    _write_test_set(exp, "fold1", "test_de1", de1)  # the same de1 utterances again
    cells = collect_cells(exp, ["fold1"], "lang")
    assert cells[("fold1", "de")].utts == 13 and cells[("fold1", "de")].ua == pytest.approx(0.725)
    _write_test_set(exp, "fold1", "test_de1", [(u, r, A) for u, r, _ in de1])  # another hypothesis
    with pytest.raises(ValueError, match="is also in .*test_all/predictions.tsv with another"):
        collect_cells(exp, ["fold1"], "lang")


def test_within_and_cross_means_are_kept_apart(matrix):
    exp, data = matrix
    tables = collect_all(exp, ["from_de1", "from_en"], data)
    corpus, lang = tables["corpus"], tables["lang"]
    assert {k for k, c in corpus.items() if c.within} == {("from_de1", "de1"), ("from_en", "en")}
    assert {k for k, c in lang.items() if c.within} == {("from_de1", "de"), ("from_en", "en")}
    table = markdown_matrix(corpus, "UA")
    assert "| train \\ test | de1 | de2 | en | cross mean | within mean |" in table
    # cross mean of from_de1: (81.25 + 12.5) / 2; its within mean: the diagonal alone
    assert f"| from_de1 | 100.00* | 81.25 | 12.50 | {(81.25 + 12.5) / 2:.2f} | 100.00 |" in table
    assert f"| from_en | 75.00 | 81.25 | 87.50* | {(75 + 81.25) / 2:.2f} | 87.50 |" in table
    within = (1.0 + 0.875) / 2
    cross = (0.8125 + 0.125 + 0.75 + 0.8125) / 4
    assert f"mean within UA {100 * within:.2f} (2 cells)" in table
    assert f"mean cross UA {100 * cross:.2f} (4 cells)" in table
    assert "chance UA 25.00 (4 classes)" in table
    # by language: from_de1's German cell pools its within de1 and de2 (anger 2/5, the rest all right)
    assert lang[("from_de1", "de")].ua == pytest.approx((2 / 5 + 1 + 1 + 1) / 4)
    line = summary(lang)
    assert f"mean within UA {100 * ((0.85 + 0.875) / 2):.2f} (2 cells)" in line
    assert f"mean cross UA {100 * ((0.125 + 0.725) / 2):.2f} (2 cells)" in line


def test_split_names_tell_within_without_a_data_root(matrix):
    exp, data = matrix
    with_root = collect_all(exp, ["from_de1", "from_en"], data)
    assert collect_all(exp, ["from_de1", "from_en"]) == with_root
    _write_test_set(exp, "without_en", "test_en", _rows("en", EN))
    with pytest.raises(ValueError, match="without_en: its name .* give the data root"):
        collect_all(exp, ["without_en"])
    _write_split_data(data, "without_en", ["de1", "de2"], ["test_en"])
    cells = collect_all(exp, ["without_en"], data)
    assert not cells["corpus"][("without_en", "en")].within and not cells["lang"][("without_en", "en")].within


def test_a_collapsed_cell_shows_its_most_predicted_class(matrix):
    exp, data = matrix
    cells = collect_cells(exp, ["from_de1", "from_en"], "corpus", data)
    collapsed = cells[("from_de1", "en")]
    assert (collapsed.top_class, collapsed.top_share, collapsed.utts) == (S, 0.8, 10)
    table = markdown_top_class(cells, "top")
    assert "| from_de1 | 25 % anger* | 67 % sadness | 80 % sadness |" in table  # de2: 6 of 9
    assert "| from_en | 50 % sadness | 67 % sadness | 40 % anger* |" in table


def test_a_cross_cell_below_chance_is_counted(matrix):
    exp, data = matrix
    cells = collect_cells(exp, ["from_de1", "from_en"], "corpus", data)
    low = cells[("from_de1", "en")]
    assert low.ua == pytest.approx(0.125) and low.chance == 0.25
    line = summary(cells)
    assert "lowest cross from_de1 -> en 12.50" in line
    assert "1 of 4 cross cells below chance" in line
    # chance is each cell's: 1 / the classes of its references; at chance is not below it
    cells = {("s", "a"): Cell(0.4, False, 10, 2, A, 0.9), ("s", "b"): Cell(0.25, False, 8, 4, S, 1.0),
             ("s", "c"): Cell(0.9, True, 8, 4, S, 0.3)}
    line = summary(cells)
    assert "chance UA 25.00-50.00 (1 / each cell's classes)" in line
    assert "lowest cross s -> b 25.00" in line and "1 of 2 cross cells below chance" in line


def test_table_command_writes_both_tables_and_heat_maps(matrix, tmp_path, capsys):
    exp, data = matrix
    results = tmp_path / "RESULTS.md"
    assert main(["table", "--mode", "matrix", "--name", "m", "--results", str(results), "--data-root", str(data),
                 str(exp), "from_de1", "from_en"]) == 0
    text = results.read_text()
    assert text.startswith("# Multilingual results\n\n### matrix: m (")
    assert capsys.readouterr().out.strip() in text
    for title in ("UA % by test corpus:", "UA % by test language:", "Most-predicted class by test corpus",
                  "Most-predicted class by test language"):
        assert title in text
    assert "| from_de1 | 85.00* | 12.50 | 12.50 | 85.00 |" in text  # by language: de within, en cross
    assert "1 of 2 cross cells below chance" in text
    for by in ("corpus", "lang"):
        assert (exp / f"ua_by_{by}.png").read_bytes()[:4] == b"\x89PNG"
    # the recipe's old call, without --data-root, still works for matrix splits
    assert main(["table", "--mode", "matrix", "--name", "m", str(exp), "from_de1", "from_en"]) == 0
    assert "| from_de1 | 100.00* | 81.25 | 12.50 | 46.88 | 100.00 |" in capsys.readouterr().out
    # scored again: its block is replaced, not repeated; another experiment's block is added beside it
    args = ["--results", str(results), "--data-root", str(data), str(exp), "from_de1", "from_en"]
    assert main(["table", "--mode", "matrix", "--name", "m", *args]) == 0
    assert main(["table", "--mode", "matrix", "--name", "other", *args]) == 0
    assert main(["table", "--mode", "matrix", "--name", "m", *args]) == 0
    text = results.read_text()
    assert text.count("### matrix: m (") == 1 and text.count("### matrix: other (") == 1
    assert text.count("UA % by test corpus:") == 2 and text.index("### matrix: m (") < text.index("### matrix: other (")


def test_table_errors_name_the_file(matrix, capsys):
    exp, data = matrix
    (exp / "from_en/scores/test_de2/predictions.tsv").unlink()
    assert main(["table", "--mode", "matrix", "--name", "m", "--data-root", str(data), str(exp), "from_en"]) == 1
    err = capsys.readouterr().err
    assert "from_en/scores/test_de2/predictions.tsv: test set of" in err and "not scored" in err
    (data / "from_de1/train/utt2corpus").unlink()
    assert main(["table", "--mode", "matrix", "--name", "m", "--data-root", str(data), str(exp), "from_de1"]) == 1
    assert "from_de1/train/utt2corpus: not found" in capsys.readouterr().err


def _corpus(root, name, speakers=3):
    """A prepared corpus: all/ with utt2corpus, utt2lang and feats.scp; leave-one-speaker-out folds."""
    spks = [f"{name}-s{i}" for i in range(speakers)]
    all_dir = make_data_dir(root / name / "all", {s: 4 for s in spks}, labels=CLASSES, with_va=False)
    utts = dd.read_map(all_dir / "utt2spk")
    dd.write_map(all_dir / "utt2corpus", {u: name for u in utts})
    dd.write_map(all_dir / "utt2lang", {u: LANG[name] for u in utts})
    dd.write_map(all_dir / "feats.scp", {u: f"f.ark:{i}" for i, u in enumerate(utts)})
    for set_name, set_spks in (("train", spks[2:]), ("dev", spks[1:2]), ("test", spks[:1])):
        dd.subset_data_dir(all_dir, root / name / f"folds/fold1/{set_name}", spks=set_spks)
    return root / name


@pytest.mark.parametrize("mode, within_corpus, within_lang", [
    ("matrix", {("from_de1", "de1"), ("from_de2", "de2"), ("from_en", "en")},
     {("from_de1", "de"), ("from_de2", "de"), ("from_en", "en")}),
    # loco: the held-out corpus is never trained on, but German is when one German corpus is left out
    ("loco", set(), {("without_de1", "de"), ("without_de2", "de")}),
    ("pooled", {("fold1", c) for c in LANG}, {("fold1", "de"), ("fold1", "en")}),
])
def test_within_cells_of_every_mode_from_the_sets_data(tmp_path, mode, within_corpus, within_lang):
    corpora = {c: _corpus(tmp_path / "corpora", c) for c in LANG}
    data, exp = tmp_path / "data", tmp_path / "exp"
    splits = [s.name for s in make_sets(mode, corpora, data)]
    for split in splits:
        for test in (data / split / "tests").read_text().split():
            emo = dd.read_map(data / split / test / "utt2emo")
            corpus = dd.read_map(data / split / test / "utt2corpus")
            preds = Predictions(classes=CLASSES, utts=list(emo), refs=list(emo.values()), hyps=[S] * len(emo),
                                ref_dims=np.zeros((len(emo), 0)), hyp_dims=np.zeros((len(emo), 0)),
                                extra={"corpus": list(corpus.values()), "lang": [LANG[c] for c in corpus.values()]})
            write_predictions(exp / split / "scores" / test / "predictions.tsv", preds)
    for split in splits:  # no p_ columns: the classes come from the experiment's classes.txt
        (exp / split / "classes.txt").write_text("".join(c + "\n" for c in CLASSES))
    tables = collect_all(exp, splits, data)
    assert {k for k, c in tables["corpus"].items() if c.within} == within_corpus
    assert {k for k, c in tables["lang"].items() if c.within} == within_lang
    # every cell predicts sadness only: UA at chance, one class at 100 %, none below chance
    assert all(c.ua == pytest.approx(0.25) and (c.top_class, c.top_share) == (S, 1.0)
               for cells in tables.values() for c in cells.values())
    line = summary(tables["corpus"])
    assert "0 of" in line if mode != "pooled" else "mean cross UA - (0 cells)" in line
    if mode != "loco":  # the split names tell the same without the data root
        assert collect_all(exp, splits) == tables
