"""The timeline of a segmented recording: a CSV of its speech regions and a plot over time."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from emogcn.atomic import atomic_path, write_text
from emogcn.inference.results import Prediction


def timeline_csv(pred: Prediction, classes: list[str], dims: list[str]) -> str:
    """start,end,label,p_<class>...[,valence,arousal]: one row per speech region, in seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start", "end", "label"] + [f"p_{c}" for c in classes] + list(dims))
    for s in pred.segments or []:
        row = [f"{s.start:.3f}", f"{s.end:.3f}", s.label] + [f"{s.probabilities[c]:.6f}" for c in classes]
        row += [f"{getattr(s, d):.6f}" for d in dims]
        writer.writerow(row)
    return out.getvalue()


def write_timeline(pred: Prediction, classes: list[str], dims: list[str], csv_path: Path, png_path: Path) -> None:
    write_text(csv_path, timeline_csv(pred, classes, dims))
    plot_timeline(pred, classes, png_path)


def plot_timeline(pred: Prediction, classes: list[str], path: Path) -> None:
    """Each class's probability over the recording: a step per speech region, gaps for non-speech."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = pred.segments or []
    fig, ax = plt.subplots(figsize=(11, 3.5))
    for s in segments:
        ax.axvspan(s.start, s.end, color="0.93", zorder=0)
    colours = plt.get_cmap("tab10")
    for k, c in enumerate(classes):
        xs, ys = [], []
        for s in segments:  # a NaN between regions breaks the line over non-speech
            xs += [s.start, s.end, s.end]
            ys += [s.probabilities[c], s.probabilities[c], float("nan")]
        ax.plot(xs, ys, label=c, color=colours(k % 10), linewidth=1.8)
    ax.set_xlim(0, pred.duration or (segments[-1].end if segments else 1.0))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.set_title(f"{Path(pred.input).name}: {pred.label}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
