"""Tables and heat maps of the multilingual recipe: UA per (training set, test corpus or language).

Input: one experiment directory per split (egs/multilingual/exp/<sets>/<name>/<split>), each with
scores/<test set>/predictions.tsv. A cell is computed from the utterances, not from the test sets'
metrics: the utterances of every test set of a split are pooled (each once), grouped by their
`corpus` or `lang` column, and UA is taken over the classes that occur in the group's references.
So two test corpora of one language make one language cell of all their utterances.

Each cell is within (the test corpus, or language, is among the split's training corpora, or
their languages: the diagonal of a matrix, every cell of pooled) or cross (transfer); the tables
keep the two apart, since a mean over both says neither. The most-predicted class of each cell
and its share show a model that collapses onto one class.

Training corpora and languages come from <data-root>/<split>/train/{utt2corpus,utt2lang}; without a
data root, from the split's name as emogcn/data/multicorpus.py makes it (matrix from_<c>: c; pooled
fold<k>: every corpus it tests; a loco split, without_<c>, needs the data root), with each corpus's
languages as its test utterances carry them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emogcn.atomic import atomic_path
from emogcn.scoring.metrics import classification_metrics
from emogcn.scoring.report import read_classes, read_predictions

GROUPS = ("corpus", "lang")
_EPS = 1e-9  # a UA at chance (a collapse onto a present class) is not below it


@dataclass(frozen=True)
class Cell:
    """One (split, test corpus or language): UA of its pooled utterances and what it predicts most."""

    ua: float
    within: bool  # the test corpus/language is among the split's training ones
    utts: int
    classes: int  # reference classes of the group: chance UA is 1 / classes
    top_class: str  # the most-predicted class, and the share of the group's utterances it got
    top_share: float

    @property
    def chance(self) -> float:
        return 1.0 / self.classes


@dataclass
class SplitScores:
    """The pooled test utterances of one split, and what it trained on."""

    split: str
    classes: list[str]
    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    train: dict[str, set[str]] | None = None  # {"corpus": ..., "lang": ...}; None: from the name


def _test_sets(exp_dir: Path, split: str, data_root: Path | None) -> list[Path]:
    """The split's scored test sets: those its `tests` file lists (stage 5 scores exactly
    these), else every scores/<set> with predictions."""
    scores = exp_dir / split / "scores"
    listed = data_root / split / "tests" if data_root is not None else None
    if listed is not None and listed.is_file():
        names = listed.read_text(encoding="utf-8").split()
        for name in names:
            if not (scores / name / "predictions.tsv").is_file():
                raise FileNotFoundError(f"{scores / name}/predictions.tsv: test set of {listed} not scored; "
                                        "has stage 5 scored this split?")
    else:
        names = sorted(p.name for p in scores.iterdir() if (p / "predictions.tsv").is_file()) \
            if scores.is_dir() else []
    if not names:
        raise FileNotFoundError(f"{scores}: no scored test sets (no */predictions.tsv); has stage 5 scored this split?")
    return [scores / name / "predictions.tsv" for name in names]


def _training_sets(data_root: Path, split: str) -> dict[str, set[str]]:
    """{"corpus": training corpora, "lang": training languages} of <data-root>/<split>/train."""
    train = data_root / split / "train"
    if not (train / "utt2corpus").is_file():
        raise FileNotFoundError(f"{train}/utt2corpus: not found; cannot tell the split's training corpora")
    out = {"corpus": _values(train / "utt2corpus")}
    if (train / "utt2lang").is_file():
        out["lang"] = _values(train / "utt2lang")
    return out


def _values(path: Path) -> set[str]:
    """The distinct values of a `<utt> <value>` file (scoring sits above the data layer, so it
    reads the two columns itself rather than through data/datadir.py)."""
    values = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{n}: expected '<utt> <value>', got '{line}'")
        values.add(fields[1])
    return values


def read_split(exp_dir: Path, split: str, data_root: Path | None = None) -> SplitScores:
    """Every scored test set of one split, pooled by utterance (one that two sets share counts once)."""
    classes_txt = exp_dir / split / "classes.txt"
    model_classes = read_classes(classes_txt) if classes_txt.is_file() else None
    scores: SplitScores | None = None
    seen: dict[str, tuple[tuple[str, ...], Path]] = {}
    for path in _test_sets(exp_dir, split, data_root):
        preds = read_predictions(path, model_classes, str(classes_txt))
        for column in GROUPS:
            if column not in preds.extra:
                raise ValueError(f"{path}: no '{column}' column; the table needs every test utterance's corpus "
                                 "and language (utt2corpus, utt2lang in the test set)")
        if scores is None:
            scores = SplitScores(split, preds.classes)
        elif preds.classes != scores.classes:
            raise ValueError(f"{path}: classes {preds.classes} differ from {scores.classes} of the split's other "
                             "test sets")
        for i, utt in enumerate(preds.utts):
            row = (preds.refs[i], preds.hyps[i], *(preds.extra[g][i] for g in GROUPS))
            if utt in seen:
                if seen[utt][0] != row:
                    raise ValueError(f"{preds.origins[i]}: utterance '{utt}' is also in {seen[utt][1]} with another "
                                     "reference, hypothesis, corpus or language")
                continue
            seen[utt] = (row, path)
            scores.refs.append(row[0])
            scores.hyps.append(row[1])
            for g, value in zip(GROUPS, row[2:]):
                scores.groups[g].append(value)
    assert scores is not None  # _test_sets returns at least one file
    if data_root is not None:
        scores.train = _training_sets(data_root, split)
    return scores


def _training_from_names(all_scores: list[SplitScores]) -> None:
    """Fills each split's training corpora and languages from its name (module doc), where no
    data root gave them; a training corpus none of the splits tests leaves its languages unknown."""
    langs: dict[str, set[str]] = {}
    for s in all_scores:
        for corpus, lang in zip(s.groups["corpus"], s.groups["lang"]):
            langs.setdefault(corpus, set()).add(lang)
    for s in all_scores:
        if s.train is None:
            name = s.split
            if name.startswith("from_"):  # matrix: the corpus's own fold
                corpora = {name[len("from_"):]}
            elif name.startswith("fold") and name[4:].isdigit():  # pooled: every corpus, each tested
                corpora = set(s.groups["corpus"])
            else:  # a loco split names only the corpus it leaves out
                raise ValueError(f"{name}: its name (emogcn/data/multicorpus.py: from_<corpus>, fold<k>) does not "
                                 "tell the training corpora; give the data root (--data-root)")
            s.train = {"corpus": corpora}
        if "lang" not in s.train:
            unknown = sorted(c for c in s.train["corpus"] if c not in langs)
            if unknown:
                raise ValueError(f"{s.split}: languages of training corpus {', '.join(unknown)} unknown (not tested "
                                 "in the splits given, no utt2lang in a data root); give the data root")
            s.train["lang"] = set().union(*(langs[c] for c in s.train["corpus"]))


def split_cells(scores: SplitScores, by: str) -> dict[str, Cell]:
    """{corpus or language: Cell} of one split's pooled utterances."""
    values = np.array(scores.groups[by])
    out = {}
    for group in sorted(set(values)):
        rows = np.flatnonzero(values == group)
        refs = [scores.refs[i] for i in rows]
        hyps = [scores.hyps[i] for i in rows]
        metrics = classification_metrics(refs, hyps, scores.classes)  # UA over the classes in refs
        top, count = max(Counter(hyps).items(), key=lambda kv: (kv[1], -scores.classes.index(kv[0])))
        out[group] = Cell(ua=float(metrics["UA"]), within=group in scores.train[by], utts=len(rows),
                          classes=len(scores.classes) - len(metrics["absent_classes"]), top_class=top,
                          top_share=count / len(rows))
    return out


def collect_all(exp_dir: Path, splits: list[str], data_root: Path | None = None
                ) -> dict[str, dict[tuple[str, str], Cell]]:
    """{"corpus": cells, "lang": cells}, cells {(split, group): Cell}, over every split."""
    if not splits:
        raise ValueError("no splits given")
    all_scores = [read_split(exp_dir, split, data_root) for split in splits]
    _training_from_names(all_scores)
    return {by: {(s.split, g): cell for s in all_scores for g, cell in split_cells(s, by).items()} for by in GROUPS}


def collect_cells(exp_dir: Path, splits: list[str], by: str = "corpus",
                  data_root: Path | None = None) -> dict[tuple[str, str], Cell]:
    """{(split, corpus or language): Cell} over every split; by: 'corpus' or 'lang'."""
    if by not in GROUPS:
        raise ValueError(f"by must be one of {', '.join(GROUPS)}, got '{by}'")
    return collect_all(exp_dir, splits, data_root)[by]


def _grid(cells: dict[tuple[str, str], Cell]) -> tuple[list[str], list[str]]:
    return sorted({r for r, _ in cells}), sorted({c for _, c in cells})


def _mean(values: list[float]) -> str:
    return f"{100 * np.mean(values):.2f}" if values else "-"


def summary(cells: dict[tuple[str, str], Cell]) -> str:
    """One line: mean within and cross UA, chance, the lowest cross cell, cross cells below chance."""
    within = [c.ua for c in cells.values() if c.within]
    cross = {k: c for k, c in cells.items() if not c.within}
    chances = sorted({c.classes for c in cells.values()})
    if len(chances) == 1:
        chance = f"chance UA {100 / chances[0]:.2f} ({chances[0]} classes)"
    else:
        chance = f"chance UA {100 / chances[-1]:.2f}-{100 / chances[0]:.2f} (1 / each cell's classes)"
    parts = [f"mean within UA {_mean(within)} ({len(within)} cells)",
             f"mean cross UA {_mean([c.ua for c in cross.values()])} ({len(cross)} cells)", chance]
    if cross:
        (row, col), low = min(cross.items(), key=lambda kv: (kv[1].ua, kv[0]))
        below = sum(c.ua < c.chance - _EPS for c in cross.values())
        parts += [f"lowest cross {row} -> {col} {100 * low.ua:.2f}",
                  f"{below} of {len(cross)} cross cells below chance"]
    return "; ".join(parts) + "\n"


def markdown_matrix(cells: dict[tuple[str, str], Cell], title: str, corner: str = "train \\ test") -> str:
    """UA % per cell, within cells marked '*', then per row the cross and the within mean apart,
    and the summary line."""
    rows, cols = _grid(cells)
    lines = [title, "", "| " + corner + " | " + " | ".join(cols) + " | cross mean | within mean |",
             "|---" * (len(cols) + 3) + "|"]
    for r in rows:
        row = [cells.get((r, c)) for c in cols]
        text = ["-" if v is None else f"{100 * v.ua:.2f}" + ("*" if v.within else "") for v in row]
        cross = [v.ua for v in row if v is not None and not v.within]
        within = [v.ua for v in row if v is not None and v.within]
        lines.append(f"| {r} | " + " | ".join(text) + f" | {_mean(cross)} | {_mean(within)} |")
    return "\n".join(lines) + "\n\nA cell ending in * is within (its corpus or language is among the split's " \
        "training ones); the others are cross.\n\n" + summary(cells)


def markdown_top_class(cells: dict[tuple[str, str], Cell], title: str, corner: str = "train \\ test") -> str:
    """The most-predicted class of each cell and its share of the cell's utterances: a collapse."""
    rows, cols = _grid(cells)
    lines = [title, "", "| " + corner + " | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in rows:
        text = []
        for c in cols:
            v = cells.get((r, c))
            text.append("-" if v is None else f"{100 * v.top_share:.0f} % {v.top_class}" + ("*" if v.within else ""))
        lines.append(f"| {r} | " + " | ".join(text) + " |")
    return "\n".join(lines) + "\n"


def plot_matrix(cells: dict[tuple[str, str], Cell], path: Path, title: str) -> None:
    """Heat map of UA, each cell annotated with its most-predicted class; within cells outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows, cols = _grid(cells)
    grid = np.full((len(rows), len(cols)), np.nan)
    for (r, c), v in cells.items():
        grid[rows.index(r), cols.index(c)] = 100 * v.ua
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(cols) + 3), 0.7 * len(rows) + 2.5))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("test (* outlined: within, the rest cross)")
    ax.set_ylabel("train")
    ax.set_title(title)
    for (r, c), v in cells.items():
        i, j = rows.index(r), cols.index(c)
        ax.text(j, i, f"{100 * v.ua:.1f}{'*' if v.within else ''}\n{100 * v.top_share:.0f}% {v.top_class}",
                ha="center", va="center", color="white" if 100 * v.ua < 60 else "black", fontsize=7)
        if v.within:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    fig.colorbar(image, ax=ax, label="UA %")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
