"""The model card (README.md) of a package, and the provenance it reports: the experiment's row of
a recipe's RESULTS.md, the git commit of the code, the training and packaging commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cells(line: str) -> list[str] | None:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split(" | ")]


def results_rows(results_md: Path, name: str) -> list[dict[str, str]]:
    """Every row of the markdown tables in results_md whose `name` column is `name`, as
    {column: cell}, in file order (the last is the newest: RESULTS.md rows are only appended)."""
    rows, header = [], None
    for line in results_md.read_text(encoding="utf-8").splitlines():
        cells = _cells(line)
        if cells is None:
            header = None
            continue
        if header is None:
            header = cells
            continue
        if all(set(c) <= set("-: ") for c in cells):  # the |---|---| line under a header
            continue
        row = dict(zip(header, cells))
        if row.get("name") == name:
            rows.append(row)
    return rows


def experiment_result(results_md: Path, experiment: str) -> dict[str, str]:
    """The newest RESULTS.md row of `experiment` (e.g. single_task_ecapa_seed0: the pooled folds of
    that seed), with the mean over seeds of its family (`<name>_seeds`) when there is one."""
    if not results_md.is_file():
        raise FileNotFoundError(f"{results_md}: results file not found")
    rows = results_rows(results_md, experiment)
    if not rows:
        raise ValueError(f"{results_md}: no row named '{experiment}' (the experiment's directory name)")
    result = {"results_file": str(results_md), **rows[-1]}
    family = experiment.rsplit("_seed", 1)[0] + "_seeds" if "_seed" in experiment else None
    seeds = results_rows(results_md, family) if family else []
    if seeds:
        result["UA pooled, mean over seeds"] = f"{seeds[-1].get('UA pooled', '-')} (seeds {seeds[-1].get('seeds', '-')})"
    return result


def git_commit(repo: Path = REPO_ROOT) -> str:
    """HEAD of the checkout the code runs from, '+dirty' when it has uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def _table(rows: list[tuple[str, str]]) -> str:
    out = ["| | |", "|---|---|"]
    out += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    return "\n".join(out) + "\n"


def model_card(info, train_command: str | None) -> str:
    """README.md of a package: what the model is, how it was made and scored, how to use it."""
    src = info.source
    dims = ", ".join(info.dims) if info.dims else "none"
    norm = info.normalisation
    about = [
        ("corpus", src.get("corpus", "unknown")),
        ("classes", ", ".join(info.classes)),
        ("dimensions predicted", dims),
        ("input", "speech audio" if info.input == "frames" else "face images"),
        ("front-end", src.get("frontend", "-")),
        ("model", src.get("model", "-")),
        ("protocol", src.get("protocol", "-")),
        ("checkpoint", info.checkpoint),
        ("normalisation in training", norm.trained),
        ("normalisation at prediction (default)", norm.default),
    ]
    if info.input == "frames":
        about.append(("sample rate of the front-end", f"{info.sample_rate} Hz (other rates are resampled)"))
    metrics = info.metrics
    if metrics:
        scored = [(k, v) for k, v in metrics.items() if k != "results_file"]
        results = (f"From `{metrics.get('results_file')}`, the row of this experiment (UA: unweighted average "
                   "recall over classes, pooled over the test predictions of all folds; the folds' test speakers "
                   "were never seen in their training):\n\n" + _table(scored))
    else:
        results = "No RESULTS.md row was given when packaging (`--results`): no score is reported.\n"
    provenance = [
        ("experiment", src.get("experiment", "-")),
        ("training data", src.get("train_dir", "-")),
        ("front-end config", src.get("feat_config", "-")),
        ("git commit", src.get("git_commit", "-")),
        ("packaged", src.get("created", "-")),
    ]
    lines = [
        f"# {info.name}",
        "",
        "An emogcn emotion-recognition model, packaged by `python -m emogcn.bin.package`.",
        "",
        _table(about),
        "## Scores",
        "",
        results,
        "## How it was made",
        "",
        _table(provenance),
        "Training command:",
        "",
        "```",
        (train_command or "(no command.txt in the experiment)").strip(),
        "```",
        "",
        "Packaging command:",
        "",
        "```",
        src.get("command", "-"),
        "```",
        "",
        "## Use",
        "",
        "```sh",
        "emogcn-predict --model <this-dir> recording.wav more/recordings/   # or python -m emogcn.bin.predict",
        "emogcn-predict --model <this-dir> --segment --timeline-dir out long_recording.flac",
        "```",
        "",
        "```python",
        "from emogcn import EmotionRecognizer",
        "r = EmotionRecognizer.from_dir('<this-dir>')",
        "print(r.predict('recording.wav'))",
        "```",
        "",
        f"Normalisation policies: `--speaker-stats {'|'.join(norm.allowed)}` (default `{norm.default}`). "
        "`speaker` and `batch` take their statistics from the inputs of the call, which is how the model "
        "was scored when its training used per-speaker normalisation.",
        "",
        "Files: `model.pt` (state dict, `torch.load(..., weights_only=True)`), `config.yaml` (training "
        "config), `frontend.yaml` (feature config), `classes.txt`, `graph/` (label graph), "
        "`cmvn_global.npy` (training-set statistics, Kaldi layout), `package.yaml` (what this card says, "
        "read by the tools).",
        "",
    ]
    return "\n".join(lines)
