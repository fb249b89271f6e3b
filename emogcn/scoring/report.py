"""A scored set's files: predictions.tsv in; metrics.json, confusion.txt and confusion.png out.

predictions.tsv (written by inference, read here) is tab-separated with a header row:

    utt  reference  hypothesis  p_<class1> ... p_<classC>  [ref_<dim> ... hyp_<dim> ...]  [corpus]  [lang]

The p_<class> columns give the class order (the graph dir's classes.txt). Dimension columns come in
ref_/hyp_ pairs (ref_valence, ref_arousal, hyp_valence, hyp_arousal); a reference is empty or
`nan` where the utterance has no dimensional label. `corpus` and `lang` break the results down;
any other column is carried along and ignored. A file without tabs is split on runs of spaces.
Columns are found by name, so their order is free.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from emogcn.atomic import atomic_open, atomic_path, write_text
from emogcn.scoring.metrics import classification_metrics, dimension_metrics

# Columns that split the results into groups, and the metrics.json key of each breakdown.
GROUP_COLUMNS = {"corpus": "per_corpus", "lang": "per_lang"}
_MISSING = {"", "nan", "NaN", "NAN", "-"}


class ScoringError(ValueError):
    """Bad scoring input; the message names the file, the line and the problem."""


@dataclass
class Predictions:
    """One predictions.tsv (or several pooled): per-utterance columns, rows in file order."""

    classes: list[str]
    utts: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    posteriors: np.ndarray | None = None  # (N, C), or None when the file has no p_ columns
    dims: list[str] = field(default_factory=list)  # dimension names, e.g. [valence, arousal]
    ref_dims: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, D), NaN = none
    hyp_dims: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (N, D)
    extra: dict[str, list[str]] = field(default_factory=dict)  # corpus, lang and other columns
    origins: list[str] = field(default_factory=list)  # "file:line" of each row, for error messages

    def __len__(self) -> int:
        return len(self.utts)


def read_classes(path: str | Path) -> list[str]:
    """classes.txt: one class name per line, in model output order."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise ScoringError(f"{path}: classes file not found") from None
    classes: list[str] = []
    for lineno, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            if line.strip() or lineno < len(lines):
                raise ScoringError(f"{path}:{lineno}: empty line")
            continue
        if len(fields) != 1:
            raise ScoringError(f"{path}:{lineno}: expected one class name, found '{line.strip()}'")
        if fields[0] in classes:
            raise ScoringError(f"{path}:{lineno}: class '{fields[0]}' listed twice")
        classes.append(fields[0])
    if not classes:
        raise ScoringError(f"{path}: no classes")
    return classes


def _float(text: str, where: str, column: str, allow_missing: bool) -> float:
    if text in _MISSING:
        if allow_missing:
            return math.nan
        raise ScoringError(f"{where}: column {column} is empty or nan")
    try:
        value = float(text)
    except ValueError:
        raise ScoringError(f"{where}: column {column}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise ScoringError(f"{where}: column {column}: '{text}' is not a finite number")
    return value


def _parse_header(header: list[str], where: str) -> tuple[list[str], list[str]]:
    """Checks the header; returns (p_ class names, dimension names)."""
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise ScoringError(f"{where}: column(s) {', '.join(dup)} appear twice in the header")
    if header[:1] != ["utt"]:
        raise ScoringError(f"{where}: header must begin with 'utt' (found '{header[0] if header else ''}')")
    for required in ("reference", "hypothesis"):
        if required not in header:
            raise ScoringError(f"{where}: header has no '{required}' column")
    p_classes = [h[2:] for h in header if h.startswith("p_")]
    ref_dims = [h[4:] for h in header if h.startswith("ref_")]
    hyp_dims = [h[4:] for h in header if h.startswith("hyp_")]
    if ref_dims != hyp_dims:
        raise ScoringError(f"{where}: ref_ columns {ref_dims} and hyp_ columns {hyp_dims} must name the "
                           "same dimensions in the same order")
    return p_classes, ref_dims


def read_predictions(path: str | Path, classes: Sequence[str] | None = None,
                     classes_source: str = "classes") -> Predictions:
    """Reads and checks a predictions.tsv. `classes` (e.g. from classes.txt) must then match the
    p_ columns; without it the p_ columns give the classes."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScoringError(f"{path}: predictions file not found") from None
    except UnicodeDecodeError as e:
        raise ScoringError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ScoringError(f"{path}: empty file (expected a header row)")
    sep = "\t" if "\t" in lines[0] else None

    def split(line: str) -> list[str]:
        line = line.rstrip("\r")
        return line.split("\t") if sep else line.split()

    header = split(lines[0])
    p_classes, dims = _parse_header(header, f"{path}:1")
    if classes is None:
        if not p_classes:
            raise ScoringError(f"{path}:1: no p_<class> columns, so the class list must be given (--classes)")
        classes = p_classes
    else:
        classes = list(classes)
        if p_classes and p_classes != classes:
            raise ScoringError(f"{path}:1: p_ columns {p_classes} do not match {classes_source} {classes}")
    col = {name: i for i, name in enumerate(header)}
    p_idx = [col[f"p_{c}"] for c in p_classes]
    ref_idx = [col[f"ref_{d}"] for d in dims]
    hyp_idx = [col[f"hyp_{d}"] for d in dims]
    used = {"utt", "reference", "hypothesis"} | {f"p_{c}" for c in p_classes} | \
        {f"ref_{d}" for d in dims} | {f"hyp_{d}" for d in dims}
    extra_names = [h for h in header if h not in used]
    class_set = set(classes)

    preds = Predictions(classes=list(classes), dims=list(dims), extra={n: [] for n in extra_names})
    posteriors, ref_dims, hyp_dims = [], [], []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        where = f"{path}:{lineno}"
        fields = split(line)
        if not line.strip():
            raise ScoringError(f"{where}: empty line")
        if len(fields) != len(header):
            raise ScoringError(f"{where}: expected {len(header)} columns as in the header, found {len(fields)}")
        utt, ref, hyp = fields[0], fields[col["reference"]], fields[col["hypothesis"]]
        if utt in seen:
            raise ScoringError(f"{where}: utterance '{utt}' already on line {seen[utt]}")
        seen[utt] = lineno
        if ref not in class_set:
            raise ScoringError(f"{where}: reference '{ref}' is not one of the classes {list(classes)} "
                               "(drop utterances of classes the model does not have before scoring)")
        if hyp not in class_set:
            raise ScoringError(f"{where}: hypothesis '{hyp}' is not one of the classes {list(classes)}")
        preds.utts.append(utt)
        preds.refs.append(ref)
        preds.hyps.append(hyp)
        preds.origins.append(where)
        posteriors.append([_float(fields[i], where, header[i], False) for i in p_idx])
        ref_dims.append([_float(fields[i], where, header[i], True) for i in ref_idx])
        hyp_dims.append([_float(fields[i], where, header[i], True) for i in hyp_idx])
        for name in extra_names:
            preds.extra[name].append(fields[col[name]])
    if not preds.utts:
        raise ScoringError(f"{path}: no predictions after the header")
    n = len(preds.utts)
    preds.posteriors = np.array(posteriors, dtype=np.float64).reshape(n, len(p_idx)) if p_idx else None
    preds.ref_dims = np.array(ref_dims, dtype=np.float64).reshape(n, len(dims))
    preds.hyp_dims = np.array(hyp_dims, dtype=np.float64).reshape(n, len(dims))
    return preds


def _fmt_float(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6g}"


def write_predictions(path: str | Path, preds: Predictions) -> None:
    """Writes predictions.tsv in the layout read_predictions reads (atomic)."""
    header = ["utt", "reference", "hypothesis"]
    if preds.posteriors is not None:
        header += [f"p_{c}" for c in preds.classes]
    header += [f"ref_{d}" for d in preds.dims] + [f"hyp_{d}" for d in preds.dims] + list(preds.extra)
    with atomic_open(path) as f:
        f.write("\t".join(header) + "\n")
        for i, utt in enumerate(preds.utts):
            row = [utt, preds.refs[i], preds.hyps[i]]
            if preds.posteriors is not None:
                row += [_fmt_float(v) for v in preds.posteriors[i]]
            row += [_fmt_float(v) for v in preds.ref_dims[i]] + [_fmt_float(v) for v in preds.hyp_dims[i]]
            row += [preds.extra[name][i] for name in preds.extra]
            f.write("\t".join(row) + "\n")


def _score_rows(preds: Predictions, rows: np.ndarray | None = None) -> dict:
    refs, hyps = preds.refs, preds.hyps
    ref_dims, hyp_dims = preds.ref_dims, preds.hyp_dims
    if rows is not None:
        refs = [refs[i] for i in rows]
        hyps = [hyps[i] for i in rows]
        ref_dims, hyp_dims = ref_dims[rows], hyp_dims[rows]
    metrics = classification_metrics(refs, hyps, preds.classes)
    if preds.dims:
        try:
            dims = dimension_metrics(ref_dims, hyp_dims, preds.dims)
        except ValueError as e:
            raise ScoringError(f"{preds.origins[0].rsplit(':', 1)[0]}: {e}") from None
        if dims:
            metrics["dimensions"] = dims
    return metrics


def affwild2_measures(metrics: dict) -> dict:
    """The Aff-Wild2 challenge's measures: expressions 0.67 macro-F1 + 0.33 accuracy; valence and
    arousal the mean of their CCCs (None where a CCC is undefined)."""
    out = {"expr_macro_f1": metrics["macro_f1"], "expr_accuracy": metrics["WA"],
           "expr_score": 0.67 * metrics["macro_f1"] + 0.33 * metrics["WA"]}
    dims = metrics.get("dimensions") or {}
    cccs = [dims[d]["ccc"] for d in ("valence", "arousal") if d in dims]
    for d in ("valence", "arousal"):
        if d in dims:
            out[f"ccc_{d}"] = dims[d]["ccc"]
    if len(cccs) == 2:
        out["va_score"] = None if None in cccs else (cccs[0] + cccs[1]) / 2
    return out


def score_predictions(preds: Predictions) -> dict:
    """Metrics of all rows, plus per-corpus and per-language breakdowns where those columns exist,
    and the Aff-Wild2 measures when every row is from Aff-Wild2."""
    metrics = _score_rows(preds)
    for column, key in GROUP_COLUMNS.items():
        if column not in preds.extra:
            continue
        values = np.array(preds.extra[column])
        metrics[key] = {v: _score_rows(preds, np.flatnonzero(values == v)) for v in sorted(set(values))}
    if set(preds.extra.get("corpus", [])) == {"affwild2"}:
        metrics["affwild2"] = affwild2_measures(metrics)
    return metrics


def summary_line(metrics: dict) -> str:
    """One line: UA/WA/macro-F1 in percent, CCC per dimension where present, utterance count."""
    parts = [f"UA {100 * metrics['UA']:.2f}%", f"WA {100 * metrics['WA']:.2f}%",
             f"macro-F1 {100 * metrics['macro_f1']:.2f}%"]
    for name, value in (metrics.get("dimensions") or {}).items():
        if name != "mean_ccc":
            ccc = value["ccc"]
            parts.append(f"CCC-{name} " + ("n/a" if ccc is None else f"{ccc:.3f}"))
    parts.append(f"({metrics['num_utts']} utts)")
    return " ".join(parts)


def format_confusion(confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """Aligned text tables: counts (with row totals), then row-normalised percent."""
    matrix = np.asarray(confusion, dtype=np.int64)
    support = matrix.sum(axis=1)
    corner = "ref\\hyp"
    first = max(len(corner), *(len(c) for c in classes))
    width = max(7, *(len(c) for c in classes), len(str(int(matrix.max(initial=0)))))

    def row(label: str, cells: Sequence[str]) -> str:
        return label.ljust(first) + "".join(" " + cell.rjust(width) for cell in cells) + "\n"

    out = "# confusion matrix: rows = reference, columns = hypothesis\n# counts\n"
    out += row(corner, list(classes) + ["total"])
    for i, c in enumerate(classes):
        out += row(c, [str(v) for v in matrix[i]] + [str(support[i])])
    out += row("total", [str(v) for v in matrix.sum(axis=0)] + [str(matrix.sum())])
    out += "# percent of each reference class (row-normalised)\n"
    out += row(corner, list(classes))
    for i, c in enumerate(classes):
        cells = [f"{100 * v / support[i]:.1f}" if support[i] else "-" for v in matrix[i]]
        out += row(c, cells)
    return out


def plot_confusion(path: str | Path, confusion: Sequence[Sequence[int]], classes: Sequence[str],
                   title: str) -> None:
    """PNG heat map: colour = row-normalised share, cells annotated with count and percent."""
    # The object API with an Agg canvas: no pyplot, so no global backend state and no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(confusion, dtype=np.float64)
    support = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, support, out=np.zeros_like(matrix), where=support > 0)
    n = len(classes)
    size = max(4.5, 0.75 * n + 2.5)
    fig = Figure(figsize=(size + 1.0, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of reference class")
    fontsize = 9 if n <= 8 else 7
    for i in range(n):
        for j in range(n):
            label = f"{int(matrix[i, j])}\n{100 * share[i, j]:.0f}%" if support[i, 0] else "0"
            ax.text(j, i, label, ha="center", va="center", fontsize=fontsize,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), labels=list(classes), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=list(classes))
    ax.set_xlabel("hypothesis")
    ax.set_ylabel("reference")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def write_metrics(path: str | Path, metrics: dict) -> None:
    """metrics.json, atomic; NaN is refused (it is not JSON), undefined values are null."""
    write_text(path, json.dumps(metrics, indent=2, allow_nan=False) + "\n")


def read_metrics(path: str | Path) -> dict:
    """A metrics.json, or the metrics.json inside a directory."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        with open(path, encoding="utf-8") as f:
            metrics = json.load(f)
    except FileNotFoundError:
        raise ScoringError(f"{path}: metrics file not found") from None
    except json.JSONDecodeError as e:
        raise ScoringError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
    if not isinstance(metrics, dict):
        raise ScoringError(f"{path}: expected a JSON object")
    return metrics


def write_report(out_dir: str | Path, metrics: dict, title: str | None = None) -> None:
    """Writes metrics.json, confusion.txt and confusion.png into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = metrics["classes"]
    heading = f"{title}: " if title else ""
    heading += f"UA {100 * metrics['UA']:.2f}%  WA {100 * metrics['WA']:.2f}%  (N={metrics['num_utts']})"
    write_text(out_dir / "confusion.txt", f"# {heading}\n" + format_confusion(metrics["confusion"], classes))
    plot_confusion(out_dir / "confusion.png", metrics["confusion"], classes, heading)
    # metrics.json last: its presence means the whole report is there.
    write_metrics(out_dir / "metrics.json", metrics)


def score_file(predictions: str | Path, out_dir: str | Path, classes_file: str | Path | None = None,
               title: str | None = None) -> dict:
    """Reads predictions.tsv, scores it and writes the report; returns the metrics."""
    classes = read_classes(classes_file) if classes_file else None
    preds = read_predictions(predictions, classes, classes_source=str(classes_file))
    metrics = {"predictions": str(predictions)}
    metrics.update(score_predictions(preds))
    write_report(out_dir, metrics, title=title)
    return metrics
