"""Results over folds and seeds (docs/DESIGN.md, "Evaluation"), RESULTS.md rows and summary tables.

- pool_folds: concatenates the predictions of cross-validation folds (each utterance is tested
  in exactly one fold) and scores the pool; adds mean and sample standard deviation over folds.
- summarize_runs: mean and standard deviation over runs (seeds) of their pooled metrics.json.
- recorded_labels: what produced a fold's scores (front-end, backbone, normalisation, graph, seed),
  from the marker inference wrote beside them (emogcn/provenance.py), never from the command line.
- append_results_row: one markdown row per result in a RESULTS.md; a result scored again replaces
  its own row.
- format_table: a compact text table of several metrics.json, for the end of a recipe.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Sequence

import numpy as np

from emogcn import provenance as pv
from emogcn.atomic import rewrite_lines
from emogcn.scoring.metrics import classification_metrics, headline, mean_std
from emogcn.scoring.report import (Predictions, ScoringError, read_classes, read_metrics, read_predictions,
                                   score_predictions, write_metrics, write_predictions, write_report)

# Info columns that come first in RESULTS.md, in this order; other keys follow alphabetically.
INFO_ORDER = ("model", "backbone", "features", "graph", "cmvn", "dev", "seeds")
BASE_COLUMNS = ("date", "name", "UA pooled", "UA folds mean ± std", "WA", "macro-F1", "folds")


def concat_predictions(parts: Sequence[Predictions]) -> Predictions:
    """Rows of every part in order; the parts must share classes, dimensions and extra columns,
    and no utterance may occur twice."""
    if not parts:
        raise ScoringError("no predictions to pool")
    first = parts[0]
    origin = {}
    for part in parts:
        where = part.origins[0].rsplit(":", 1)[0] if part.origins else "?"
        if part.classes != first.classes:
            raise ScoringError(f"{where}: classes {part.classes} differ from {first.classes} of the first fold")
        if part.dims != first.dims:
            raise ScoringError(f"{where}: dimension columns {part.dims} differ from {first.dims} of the first fold")
        if list(part.extra) != list(first.extra):
            raise ScoringError(f"{where}: extra columns {list(part.extra)} differ from {list(first.extra)} "
                               "of the first fold")
        if (part.posteriors is None) != (first.posteriors is None):
            raise ScoringError(f"{where}: p_ columns present in some folds only")
        for utt, here in zip(part.utts, part.origins):
            if utt in origin:
                raise ScoringError(f"{here}: utterance '{utt}' is also in {origin[utt]} "
                                   "(each utterance must be tested in one fold only)")
            origin[utt] = here
    pooled = Predictions(classes=list(first.classes), dims=list(first.dims))
    for part in parts:
        pooled.utts += part.utts
        pooled.refs += part.refs
        pooled.hyps += part.hyps
        pooled.origins += part.origins
    if first.posteriors is not None:
        pooled.posteriors = np.concatenate([p.posteriors for p in parts])
    pooled.ref_dims = np.concatenate([p.ref_dims for p in parts])
    pooled.hyp_dims = np.concatenate([p.hyp_dims for p in parts])
    pooled.extra = {name: [v for p in parts for v in p.extra[name]] for name in first.extra}
    return pooled


def _spread(per_item: list[dict]) -> dict:
    """{mean, std, n} per headline key over a list of flat headline dicts (None skipped)."""
    keys: list[str] = []
    for item in per_item:
        keys += [k for k in item if k not in keys and k not in ("dir", "path", "num_utts")]
    mean, std = {}, {}
    for k in keys:
        mean[k], std[k], _ = mean_std([item.get(k) for item in per_item])
    return {"mean": mean, "std": std, "n": len(per_item)}


# A scores marker's labels that describe the model, as RESULTS.md columns (seed -> seeds).
LABEL_COLUMNS = {"model": "model", "backbone": "backbone", "features": "features", "graph": "graph",
                 "cmvn": "cmvn", "dev": "dev", "seed": "seeds"}


def recorded_labels(score_dirs: Sequence[str | Path]) -> dict[str, str]:
    """The labels that the models of every score directory share (their `.done` markers); a key on
    which two folds disagree is an error, since one RESULTS.md row must describe one system."""
    labels: dict[str, str] = {}
    where: dict[str, str] = {}
    for d in score_dirs:
        record = pv.read_marker(Path(d) / ".done") or {}
        for key, column in LABEL_COLUMNS.items():
            if key not in (record.get("labels") or {}):
                continue
            value = str(record["labels"][key])
            if column in labels and labels[column] != value:
                raise ScoringError(f"{d}: {key} '{value}' differs from '{labels[column]}' of {where[column]}: "
                                   "folds of one result must come from one system")
            labels.setdefault(column, value)
            where.setdefault(column, str(d))
    return labels


def merge_info(recorded: dict[str, str], given: dict[str, str] | None, where: str) -> dict[str, str]:
    """Recorded labels, plus the keys given on the command line that the record does not hold; a
    given key that contradicts the record is an error."""
    info = dict(recorded)
    for key, value in (given or {}).items():
        if key in recorded and recorded[key] != value:
            raise ScoringError(f"{where}: --info {key}={value}, but the scores were made with {key}={recorded[key]}")
        info[key] = value
    return info


def pool_folds(fold_dirs: Sequence[str | Path], out_dir: str | Path, name: str,
               classes_file: str | Path | None = None, info: dict[str, str] | None = None) -> dict:
    """Pools <fold>/predictions.tsv of every fold into out_dir (predictions.tsv and the report).

    metrics.json holds the pooled metrics plus `folds: {mean, std, n, per_fold}` (UA, WA,
    macro_f1 and ccc_<dim> of each fold scored on its own; std is the sample std, None for 1 fold),
    and `info`: the labels recorded with the folds' scores (recorded_labels) and the given info.
    """
    info = merge_info(recorded_labels(fold_dirs), info, str(out_dir))
    classes = read_classes(classes_file) if classes_file else None
    parts, per_fold = [], []
    for fold_dir in fold_dirs:
        part = read_predictions(Path(fold_dir) / "predictions.tsv", classes, classes_source=str(classes_file))
        parts.append(part)
        per_fold.append({"dir": str(fold_dir), "num_utts": len(part), **headline(score_predictions(part))})
    pooled = concat_predictions(parts)
    metrics: dict = {"name": name, "predictions": [str(Path(d) / "predictions.tsv") for d in fold_dirs]}
    if info:
        metrics["info"] = dict(info)
    metrics.update(score_predictions(pooled))
    metrics["folds"] = {**_spread(per_fold), "per_fold": per_fold}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(out_dir / "predictions.tsv", pooled)
    write_report(out_dir, metrics, title=f"{name} (pooled over {len(parts)} folds)")
    return metrics


def summarize_runs(metric_files: Sequence[str | Path]) -> dict:
    """Mean and sample std over runs (e.g. seeds) of each run's headline metrics.

    Each entry is a metrics.json (or a directory holding one), typically the pooled result of one
    seed. Returns {mean, std, n, per_run: [{path, UA, WA, macro_f1, ...}]}.
    """
    if not metric_files:
        raise ScoringError("no metrics files to summarise")
    per_run = []
    for path in metric_files:
        metrics = read_metrics(path)
        if "UA" not in metrics:
            raise ScoringError(f"{path}: no 'UA' in the metrics (not a scoring metrics.json)")
        entry = {"path": str(path), **headline(metrics)}
        if "folds" in metrics:
            entry["num_folds"] = metrics["folds"]["n"]
        per_run.append(entry)
    summary = _spread([{k: v for k, v in e.items() if k != "num_folds"} for e in per_run])
    return {**summary, "per_run": per_run}


def summarize_seeds(metric_files: Sequence[str | Path], out_dir: str | Path, name: str,
                    info: dict[str, str] | None = None) -> dict:
    """Writes out_dir/metrics.json for several seeds: the mean of each headline metric at the
    top level (so tables read it like any result) and `seeds: {mean, std, n, per_run}`. Its info
    is what every run's info shares, with their seeds listed."""
    summary = summarize_runs(metric_files)
    infos = [read_metrics(path).get("info") or {} for path in metric_files]
    shared = {k: v for k, v in infos[0].items() if k != "seeds" and all(i.get(k) == v for i in infos)}
    differing = sorted({k for i in infos for k in i if k != "seeds"} - set(shared))
    if differing:
        raise ScoringError(f"{metric_files[0]}: the runs differ in {', '.join(differing)}, not only in the seed")
    seeds = [i["seeds"] for i in infos if "seeds" in i]
    if seeds:
        shared["seeds"] = ",".join(seeds)
    info = merge_info(shared, info, str(out_dir))
    metrics: dict = {"name": name}
    if info:
        metrics["info"] = dict(info)
    metrics.update(summary["mean"])
    folds = {e["num_folds"] for e in summary["per_run"] if "num_folds" in e}
    if len(folds) == 1:
        metrics["num_folds"] = folds.pop()
    metrics["seeds"] = summary
    write_metrics(Path(out_dir) / "metrics.json", metrics)
    return metrics


def fuse_results(result_dirs: Sequence[str | Path], out_dir: str | Path, name: str,
                 info: dict[str, str] | None = None) -> dict:
    """Late fusion: the mean of the posteriors of several results over the same utterances (the
    pooled predictions of seeds: an ensemble; of front-ends or backbones: a fusion), scored.

    Every input must hold the same utterances, references and classes. Its info keeps what the
    inputs share; keys on which they differ list their values joined by '+' (seeds by ',')."""
    parts = [read_predictions(Path(d) / "predictions.tsv") for d in result_dirs]
    infos = [read_metrics(d).get("info") or {} for d in result_dirs]
    first = parts[0]
    for d, part in zip(result_dirs, parts):
        if part.posteriors is None:
            raise ScoringError(f"{d}/predictions.tsv: no p_ columns to fuse")
        if part.classes != first.classes:
            raise ScoringError(f"{d}/predictions.tsv: classes {part.classes} differ from {first.classes}")
        if sorted(zip(part.utts, part.refs)) != sorted(zip(first.utts, first.refs)):
            raise ScoringError(f"{d}/predictions.tsv: not the same utterances and references as "
                               f"{result_dirs[0]}/predictions.tsv")
    order = {u: i for i, u in enumerate(first.utts)}
    mean = np.zeros_like(first.posteriors)
    for part in parts:
        rows = np.array([order[u] for u in part.utts])
        mean[rows] += part.posteriors
    mean /= len(parts)
    fused = Predictions(classes=list(first.classes), utts=list(first.utts), refs=list(first.refs),
                        hyps=[first.classes[int(k)] for k in mean.argmax(axis=1)], posteriors=mean,
                        ref_dims=np.zeros((len(first), 0)), hyp_dims=np.zeros((len(first), 0)),
                        extra={k: list(v) for k, v in first.extra.items()}, origins=list(first.origins))
    merged: dict[str, str] = {}
    for key in dict.fromkeys(k for i in infos for k in i):
        values = list(dict.fromkeys(i.get(key, "-") for i in infos))
        merged[key] = values[0] if len(values) == 1 else ("," if key == "seeds" else "+").join(values)
    merged["fused"] = str(len(parts))
    folds = {(read_metrics(d).get("folds") or {}).get("n") for d in result_dirs}
    metrics: dict = {"name": name, "predictions": [str(Path(d) / "predictions.tsv") for d in result_dirs],
                     "info": merge_info(merged, info, str(out_dir))}
    metrics.update(score_predictions(fused))
    if len(folds) == 1 and None not in folds:
        metrics["num_folds"] = folds.pop()
        per_fold = _fused_folds(fused, read_metrics(result_dirs[0]).get("folds") or {})
        if per_fold:  # the per-fold figures a paired test over folds needs (compare_systems)
            metrics["folds"] = {**_spread(per_fold), "per_fold": per_fold}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(out_dir / "predictions.tsv", fused)
    write_report(out_dir, metrics, title=f"{name} (mean posteriors of {len(parts)} results)")
    return metrics


def _fused_folds(fused: Predictions, first_folds: dict) -> list[dict]:
    """Per-fold figures of a fusion: pool_folds concatenates its folds in order and the fusion keeps
    its first input's utterance order, so the first input's fold sizes cut the fused rows into its
    folds. [] when those sizes do not add up to the fused utterances (not a pool_folds result)."""
    per_fold = first_folds.get("per_fold") or []
    sizes = [f.get("num_utts") for f in per_fold]
    if not sizes or not all(isinstance(n, int) for n in sizes) or sum(sizes) != len(fused):
        return []
    out, start = [], 0
    for fold, n in zip(per_fold, sizes):
        rows = slice(start, start + n)
        start += n
        m = classification_metrics(fused.refs[rows], fused.hyps[rows], fused.classes)
        out.append({"dir": fold.get("dir", ""), "num_utts": n, **headline(m)})
    return out


# ---------------------------------------------------------------- RESULTS.md


def seeds_summary_line(summary: dict) -> str:
    """One line of a summarize_runs result: mean ± std in percent (CCC as is) and the run count."""
    parts = []
    for key, value in summary["mean"].items():
        std = summary["std"].get(key)
        if key.startswith("ccc_"):
            parts.append(f"CCC-{key[4:]} {_ccc_pm(value, std)}")
        else:
            parts.append(f"{'macro-F1' if key == 'macro_f1' else key} {_pct_pm(value, std)}%")
    return " ".join(parts) + f" (mean ± std over {summary['n']} runs)"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _pct_pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{100 * mean:.2f} ± {100 * std:.2f}" if std is not None else f"{100 * mean:.2f}"


def info_columns(keys: Sequence[str]) -> list[str]:
    """The stable column order of --info keys: INFO_ORDER first, then the rest alphabetically."""
    return [k for k in INFO_ORDER if k in keys] + sorted(k for k in keys if k not in INFO_ORDER)


def results_row(metrics: dict, name: str, date: str | None = None) -> dict[str, str]:
    """The base RESULTS.md cells of a pooled-folds metrics.json or of a seeds summary.

    A seeds summary shows mean ± std over seeds in UA pooled, WA and macro-F1, '-' in the
    fold column, and the number of folds of each seed's result (when they agree) in folds.
    """
    date = date or datetime.date.today().isoformat()
    if "seeds" in metrics:
        seeds = metrics["seeds"]
        m, s = seeds["mean"], seeds["std"]
        folds = metrics.get("num_folds")
        return {"date": date, "name": name, "UA pooled": _pct_pm(m.get("UA"), s.get("UA")),
                "UA folds mean ± std": "-", "WA": _pct_pm(m.get("WA"), s.get("WA")),
                "macro-F1": _pct_pm(m.get("macro_f1"), s.get("macro_f1")),
                "folds": "-" if folds is None else str(folds)}
    folds = metrics.get("folds")
    return {"date": date, "name": name, "UA pooled": _pct(metrics.get("UA")),
            "UA folds mean ± std": _pct_pm(folds["mean"].get("UA"), folds["std"].get("UA")) if folds else "-",
            "WA": _pct(metrics.get("WA")), "macro-F1": _pct(metrics.get("macro_f1")),
            "folds": str(folds["n"]) if folds else str(metrics.get("num_folds", 1))}


def _cell(text: str) -> str:
    text = str(text)
    if "\n" in text:
        raise ScoringError(f"a RESULTS.md cell cannot hold a newline: {text!r}")
    return text.replace("|", "\\|") or "-"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |\n"


def _split_md_row(line: str) -> list[str] | None:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split(" | ")]


def append_results_row(results_md: str | Path, row: dict[str, str], info: dict[str, str] | None = None) -> str:
    """Writes one result's row into the markdown tables of results_md and returns the row text.

    A row whose name is already in a table replaces it there (a result scored again; other rows
    of that name, left by an older emogcn, are removed); a new one is appended to the table that
    ends the file, or to a new table (blank line, header) when that one's columns lack one of
    its info keys; info keys the row lacks show as '-'. Other text is never changed. The file is
    rewritten under a temporary name and renamed, under a lock so that concurrent writers do not
    lose rows. A new file gets a header.
    """
    results_md = Path(results_md)
    info = dict(info or {})
    for key in info:
        if key in BASE_COLUMNS:
            raise ScoringError(f"--info key '{key}' clashes with a RESULTS.md base column")
    cells = {**row, **info}
    written = []

    def edit(lines: list[str]) -> str:
        own = _rows_named(lines, row["name"])
        replaced = None
        for index, header in own:
            if replaced is None and header[: len(BASE_COLUMNS)] == list(BASE_COLUMNS) \
                    and set(info) <= set(header[len(BASE_COLUMNS):]):
                replaced = _md_row([cells.get(c, "-") for c in header])
                lines[index] = replaced
            else:
                lines[index] = ""
        if replaced is not None:
            written.append(replaced)
            return "".join(lines)
        old = "".join(lines)
        header = _last_table_header(old)
        if header is not None and header[: len(BASE_COLUMNS)] == list(BASE_COLUMNS) \
                and set(info) <= set(header[len(BASE_COLUMNS):]):
            columns, add = header, ""
        else:
            columns = list(BASE_COLUMNS) + info_columns(list(info))
            add = ("\n" if old else "") + _md_row(columns) + "|" + "|".join("---" for _ in columns) + "|\n"
        written.append(_md_row([cells.get(c, "-") for c in columns]))
        return old + add + written[0]

    rewrite_lines(results_md, edit)
    return written[0]


def _rows_named(lines: list[str], name: str) -> list[tuple[int, list[str]]]:
    """(line index, its table's header cells) of every table row whose name cell is `name`."""
    found, header = [], None
    for i, line in enumerate(lines):
        cells = _split_md_row(line)
        if cells is None:
            header = None
        elif header is None:
            header = cells
        elif len(cells) > 1 and header[:2] == list(BASE_COLUMNS[:2]) and cells[1] == _cell(name):
            found.append((i, header))
    return found


def _last_table_header(text: str) -> list[str] | None:
    """Header cells of the table that ends the text, or None when the text does not end in one."""
    lines = text.rstrip("\n").split("\n")
    if not lines or _split_md_row(lines[-1]) is None:
        return None
    i = len(lines) - 1
    while i > 0 and _split_md_row(lines[i - 1]) is not None:
        i -= 1
    return _split_md_row(lines[i])


# ---------------------------------------------------------------- tables on stdout


def format_table(entries: Sequence[tuple[str, dict]]) -> str:
    """A compact aligned table (percent) of named metrics: name, UA, WA, macro-F1, UA folds
    mean ± std where pooled, CCC per dimension where any result has it, utterances."""
    dims: list[str] = []
    for _, m in entries:
        dims += [d for d in (m.get("dimensions") or {}) if d != "mean_ccc" and d not in dims]
    header = ["name", "UA", "WA", "macro-F1", "UA folds", *[f"CCC-{d}" for d in dims], "N"]
    rows = []
    for name, m in entries:
        seeds = m.get("seeds")
        if seeds:  # a seeds summary: mean ± std over seeds
            cells = [name] + [_pct_pm(seeds["mean"].get(k), seeds["std"].get(k)) for k in ("UA", "WA", "macro_f1")]
            cells.append("-")
            cells += [_ccc_pm(seeds["mean"].get(f"ccc_{d}"), seeds["std"].get(f"ccc_{d}")) for d in dims]
            cells.append(f"{seeds['n']} seeds")
        else:
            folds = m.get("folds")
            cells = [name, _pct(m.get("UA")), _pct(m.get("WA")), _pct(m.get("macro_f1")),
                     _pct_pm(folds["mean"].get("UA"), folds["std"].get("UA")) if folds else "-"]
            dim_metrics = m.get("dimensions") or {}
            cells += [_ccc_pm(dim_metrics[d]["ccc"], None) if d in dim_metrics else "-" for d in dims]
            cells.append(str(m.get("num_utts", "-")))
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header] + rows]
    return "\n".join(lines) + "\n"


def _ccc_pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{mean:.3f} ± {std:.3f}" if std is not None else f"{mean:.3f}"


GRID_KEYS = ("features", "backbone", "model", "cmvn")


def grid_table(seed_results: Sequence[tuple[str, dict]]) -> str:
    """A markdown table with one row per (front-end, backbone, variant, normalisation) over the
    pooled results of single seeds (their --info keys): UA pooled over folds, mean ± std over
    seeds; and UA, WA, macro-F1 mean ± std over every (fold, seed) pair."""
    groups: dict[tuple, list[tuple[str, dict]]] = {}
    for path, m in seed_results:
        info = m.get("info") or {}
        missing = [k for k in GRID_KEYS if k not in info]
        if missing or "folds" not in m:
            raise ValueError(f"{path}: not the pooled result of one seed with info {', '.join(GRID_KEYS)}")
        groups.setdefault(tuple(info[k] for k in GRID_KEYS), []).append((info.get("seeds", "?"), m))
    header = ["front-end", "backbone", "variant", "normalisation", "seeds", "folds", "UA pooled (seeds)",
              "UA (folds x seeds)", "WA (folds x seeds)", "macro-F1 (folds x seeds)"]
    lines = [_md_row(header), _md_row(["---"] * len(header))]
    for key, runs in groups.items():
        per_fold = [f for _, m in runs for f in m["folds"]["per_fold"]]
        cells = list(key) + [",".join(s for s, _ in runs), str(len(runs[0][1]["folds"]["per_fold"])),
                             _pct_pm(*mean_std([m["UA"] for _, m in runs])[:2])]
        for metric in ("UA", "WA", "macro_f1"):
            mean, std, _ = mean_std([f.get(metric) for f in per_fold])
            cells.append(_pct_pm(mean, std))
        lines.append(_md_row(cells))
    return "".join(lines)
