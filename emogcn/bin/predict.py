"""Predicts emotions with a packaged model (python -m emogcn.bin.package) on any audio or face images.

    emogcn-predict --model DIR [options] INPUT...      (or python -m emogcn.bin.predict)

INPUT: an audio file (any format and rate soundfile reads, any channel count: mixed down to mono
and resampled as stage 1 does), a folder (walked for audio files, or images for face models), a
Kaldi list (`<key> <path>` lines, e.g. a wav.scp or img.scp), or `-` for one of these per line of
standard input.

Output (stdout, or --output FILE): one row per input, in input order, TSV with a header
    input  label  p_<class>...  [valence  arousal]  duration  error
or with --json one JSON object per line (the fields of emogcn.inference.results.Prediction).
A field with nothing to say is `-` in the TSV.

Normalisation (--speaker-stats; default: the package's, see its README.md):
    global     the training set's statistics, packaged
    utterance  each input's own frames
    batch      the inputs of this call pooled, as one speaker's recordings
    speaker    the inputs grouped by speaker: --utt2spk FILE (`<input> <speaker>` lines, input as
               given on the command line or the scp key) or --spk2utt FILE
    none       the features as they are

--segment cuts each recording into speech regions (Silero VAD when the silero-vad package is
installed, else an energy detector; --vad) and writes, per input, <timeline-dir>/<name>.csv
(start, end, label, probabilities per region) and <name>.png (the probabilities over time); the
row of the recording holds the regions' duration-weighted mean.

Exit status: 0 when every input was predicted; 2 when at least one was not (its row says why:
unreadable, empty, too short, silent, no speech found, ...), the others still predicted; 1 when
nothing could start (no model, a bad option or list).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.log import get_logger, setup_logging

logger = get_logger("emogcn.predict")

EXIT_OK, EXIT_ERROR, EXIT_SOME_FAILED = 0, 1, 2


def _speaker_map(args) -> dict[str, str] | None:
    from emogcn.data.datadir import read_map

    if args.utt2spk:
        return read_map(args.utt2spk, check_sorted=False)
    if args.spk2utt:
        mapping = {}
        for spk, utts in read_map(args.spk2utt, check_sorted=False).items():
            for utt in utts.split():
                mapping[utt] = spk
        return mapping
    return None


def _fmt(value) -> str:
    return "-" if value is None else (f"{value:.6f}" if isinstance(value, float) else str(value))


def tsv_header(classes: list[str], dims: list[str]) -> str:
    return "\t".join(["input", "label"] + [f"p_{c}" for c in classes] + dims + ["duration", "error"]) + "\n"


def tsv_row(pred, classes: list[str], dims: list[str]) -> str:
    fields = [pred.input, _fmt(pred.label)] + [_fmt(pred.probabilities.get(c)) for c in classes]
    fields += [_fmt(getattr(pred, d)) for d in dims]
    fields += [_fmt(round(pred.duration, 3) if pred.duration is not None else None), _fmt(pred.error)]
    return "\t".join(f.replace("\t", " ").replace("\n", " ") for f in fields) + "\n"


def timeline_name(key: str, taken: set[str]) -> str:
    """A file name for an input's timeline: its stem (or scp key), made unique within the call."""
    stem = Path(key).stem if ("/" in key or "." in key) else key
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "input"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}_{n}"
    taken.add(name)
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="package directory (python -m emogcn.bin.package)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of TSV")
    parser.add_argument("--output", "-o", type=Path, help="write the rows here instead of stdout")
    parser.add_argument("--gpu", type=int, default=None, help="CUDA device (default: 0 when present); -1: the CPU")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--speaker-stats", "--norm", dest="norm", default=None,
                        choices=("global", "utterance", "batch", "speaker", "none"),
                        help="normalisation policy (default: the package's)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--utt2spk", type=Path, help="`<input> <speaker>` lines, for --speaker-stats speaker")
    group.add_argument("--spk2utt", type=Path, help="`<speaker> <input>...` lines, for --speaker-stats speaker")
    parser.add_argument("--segment", action="store_true", help="cut recordings into speech regions (VAD)")
    parser.add_argument("--vad", default="auto", choices=("auto", "silero", "energy"))
    parser.add_argument("--max-segment", type=float, default=10.0, help="seconds; longer regions are cut (default 10)")
    parser.add_argument("--timeline-dir", type=Path, default=Path("timelines"),
                        help="with --segment: where <name>.csv and <name>.png go (default ./timelines)")
    parser.add_argument("--min-duration", type=float, default=0.1, help="seconds; shorter audio is an error row")
    parser.add_argument("--silence-db", type=float, default=-60.0,
                        help="peak level (dBFS) under which audio counts as silent (default -60)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("inputs", nargs="+", metavar="INPUT")
    args = parser.parse_args(argv)
    setup_logging()

    from emogcn.atomic import atomic_open
    from emogcn.config import ConfigError
    from emogcn.data.datadir import DataDirError
    from emogcn.inference.inputs import InputError, expand_inputs
    from emogcn.inference.normalise import NormalisationError
    from emogcn.inference.package import PackageError
    from emogcn.inference.recognizer import EmotionRecognizer
    from emogcn.inference.timeline import write_timeline
    from emogcn.inference.vad import VadOptions
    from emogcn.training.trainer import select_device

    errors = (PackageError, ConfigError, DataDirError, InputError, NormalisationError, ValueError, FileNotFoundError)
    with ErrorExit("emogcn-predict", errors) as run:
        device = select_device(args.gpu)
        recognizer = EmotionRecognizer.from_dir(args.model, device=device, normalisation=args.norm,
                                                batch_size=args.batch_size, min_duration=args.min_duration,
                                                silence_db=args.silence_db)
        if args.segment and recognizer.input != "frames":
            raise ValueError("--segment is for speech models; this package takes face images")
        items = expand_inputs(args.inputs, images=recognizer.input == "image")
        spk_map = _speaker_map(args)
        if recognizer.normalisation == "speaker" and spk_map is None:
            raise ValueError("--speaker-stats speaker needs --utt2spk or --spk2utt")
        if spk_map is not None and recognizer.normalisation != "speaker":
            logger.warning("--utt2spk/--spk2utt given but normalisation is '%s': the mapping is not used",
                           recognizer.normalisation)
    if run.status:
        return EXIT_ERROR
    if not items:
        print("emogcn-predict: error: no inputs found", file=sys.stderr)
        return EXIT_ERROR
    speakers = [spk_map.get(it.key) for it in items] if spk_map is not None else None
    segment = VadOptions(method=args.vad, max_segment_s=args.max_segment) if args.segment else None
    logger.info("%d input(s); model %s on %s; normalisation %s%s", len(items), args.model, device,
                recognizer.normalisation, f"; segmenting ({args.vad})" if segment else "")

    classes, dims = recognizer.classes, recognizer.dims
    failed, taken = 0, set()
    with (atomic_open(args.output) if args.output else contextlib.nullcontext(sys.stdout)) as out:
        if not args.json:
            out.write(tsv_header(classes, dims))
        for pred in recognizer.iter_predictions(items, speakers=speakers, segment=segment,
                                                progress=not args.no_progress and len(items) > 1):
            if pred.error is not None:
                failed += 1
            elif segment is not None:
                name = timeline_name(pred.input, taken)
                write_timeline(pred, classes, dims, args.timeline_dir / f"{name}.csv", args.timeline_dir / f"{name}.png")
            out.write(json.dumps(pred.to_dict(), ensure_ascii=False) + "\n" if args.json else tsv_row(pred, classes, dims))
            out.flush()
    done = len(items) - failed
    logger.info("%d of %d input(s) predicted%s", done, len(items), f", {failed} failed (see their rows)" if failed else "")
    return EXIT_SOME_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
