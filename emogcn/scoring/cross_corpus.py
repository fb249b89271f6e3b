"""Tables and heat maps of the multilingual recipe: UA per (training set, test corpus or language).

Input: one experiment directory per split (egs/multilingual/exp/<mode>/<name>/<split>), each
with scores/<test set>/metrics.json. A cell is the UA of one test corpus (or language) under one
split; for pooled and loco each test set is broken down with the metrics' per_corpus / per_lang.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emogcn.atomic import atomic_path


def _load(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics; has stage 5 scored this split?")
    return json.loads(path.read_text(encoding="utf-8"))


def collect_cells(exp_dir: Path, splits: list[str], by: str = "corpus") -> dict[tuple[str, str], float]:
    """{(split, corpus or language): UA} over every test set of every split.

    by: 'corpus' or 'lang', the breakdown key of metrics.json (per_corpus / per_lang)."""
    key = {"corpus": "per_corpus", "lang": "per_lang"}[by]
    cells: dict[tuple[str, str], float] = {}
    for split in splits:
        scores = exp_dir / split / "scores"
        test_sets = sorted(p.name for p in scores.iterdir() if (p / "metrics.json").is_file()) if scores.is_dir() else []
        if not test_sets:
            raise FileNotFoundError(f"{scores}: no scored test sets")
        for test in test_sets:
            metrics = _load(scores / test / "metrics.json")
            for group, m in (metrics.get(key) or {}).items():
                cells[(split, group)] = float(m["UA"])
    return cells


def markdown_matrix(cells: dict[tuple[str, str], float], title: str, corner: str = "train \\ test") -> str:
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells})
    lines = [f"{title}", "", "| " + corner + " | " + " | ".join(cols) + " | mean |",
             "|---" * (len(cols) + 2) + "|"]
    for r in rows:
        values = [cells.get((r, c)) for c in cols]
        present = [v for v in values if v is not None]
        mean = f"{100 * np.mean(present):.2f}" if present else "-"
        lines.append(f"| {r} | " + " | ".join("-" if v is None else f"{100 * v:.2f}" for v in values)
                     + f" | {mean} |")
    return "\n".join(lines) + "\n"


def plot_matrix(cells: dict[tuple[str, str], float], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells})
    grid = np.full((len(rows), len(cols)), np.nan)
    for (r, c), v in cells.items():
        grid[rows.index(r), cols.index(c)] = 100 * v
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(cols) + 3), 0.6 * len(rows) + 2.5))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("test")
    ax.set_ylabel("train")
    ax.set_title(title)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center",
                        color="white" if grid[i, j] < 60 else "black", fontsize=8)
    fig.colorbar(image, ax=ax, label="UA %")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
