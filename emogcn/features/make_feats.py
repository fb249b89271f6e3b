"""Stage 1, one job: the features of the utterances of one data directory (or one part of a split),
in <ark-base>.{ark,scp,utt2num_frames,utt2dur,failed} (python -m emogcn.bin.make_feats, the job of
steps/make_feats.sh).

An utterance that fails (unreadable, empty, too short, ...) is logged and skipped; the job goes on.
Every output is written under a temporary name and renamed only when the job completes, the scp
last, so a killed job leaves nothing that steps/make_feats.sh would take as finished. Utterances
are streamed one at a time (an SSL front-end with batch_size N: N at a time): memory does not
grow with the number of utterances.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
from tqdm import tqdm

from emogcn.atomic import atomic_path, repoint_scp
from emogcn.features.audio import read_audio
from emogcn.features.faces import FaceConfig, FaceExtractor
from emogcn.features.frontends import FrontendConfig, make_extractor
from emogcn.log import get_logger

logger = get_logger("make_feats")

KALDI_ONE_BYTE_UNSIGNED_INTEGER = 6  # kaldiio's compression_method for Kaldi's kOneByteUnsignedInteger


# Renamed into place in this order: the scp, which later stages read, comes last.
OUTPUTS = ("ark", "utt2num_frames", "utt2dur", "failed", "scp")


@dataclass
class JobSummary:
    done: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    processing_seconds: float = 0.0  # wall clock, first utterance to last rename
    cpu_seconds: float = 0.0  # CPU time of this process over the same span


def _one_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    return text if text else type(e).__name__


def _audio_processor(extract, sample_rate: int):
    def process(utt: str, spec: str) -> tuple[np.ndarray, float]:
        wave = read_audio(spec, sample_rate, min_samples=extract.min_samples)
        feats = extract(wave)
        if not np.isfinite(feats).all():
            raise ValueError(f"{spec}: features hold NaN or infinite values")
        return feats, wave.shape[0] / sample_rate

    return process


def _batch_processor(extract, sample_rate: int):
    """Like _audio_processor over a list of (utt, spec), the upstream called once per batch."""
    def process_many(items: list[tuple[str, str]]) -> list[tuple[np.ndarray, float] | Exception]:
        results: list = [None] * len(items)
        read, waves = [], []
        for j, (utt, spec) in enumerate(items):
            try:
                waves.append(read_audio(spec, sample_rate, min_samples=extract.min_samples))
                read.append(j)
            except Exception as e:
                results[j] = e
        if not waves:
            return results
        try:
            feats = extract.extract_batch(waves)
        except Exception:  # one utterance the batch fails on (or memory) must not fail the others
            feats = []
            for wave in waves:
                try:
                    feats.extend(extract.extract_batch([wave]))
                except Exception as e:
                    feats.append(e)
        for j, wave, f in zip(read, waves, feats):
            if isinstance(f, Exception):
                results[j] = f
            elif not np.isfinite(f).all():
                results[j] = ValueError(f"{items[j][1]}: features hold NaN or infinite values")
            else:
                results[j] = (f, wave.shape[0] / sample_rate)
        return results

    return process_many


def _one_by_one(process):
    def process_many(items: list[tuple[str, str]]) -> list[tuple[np.ndarray, float] | Exception]:
        results = []
        for utt, spec in items:
            try:
                results.append(process(utt, spec))
            except Exception as e:  # one bad utterance must not end the job
                results.append(e)
        return results

    return process_many


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _face_processor(extract: FaceExtractor, faces: dict[str, str]):
    def process(utt: str, spec: str) -> tuple[np.ndarray, float]:
        return extract(spec, faces.get(utt), where=f"utt2face {utt}"), 0.0

    return process


def make_feats(inputs: dict[str, str], cfg: FrontendConfig, ark_base: str | Path,
               faces: dict[str, str] | None = None, extractor=None) -> JobSummary:
    """Extracts features of every wav.scp (or img.scp) entry into <ark_base>.{ark,scp,utt2num_frames,utt2dur,failed}.

    `extractor` (built from cfg when not given) is reused by callers that run several jobs."""
    ark_base = Path(os.path.abspath(ark_base))
    final = {name: ark_base.with_name(f"{ark_base.name}.{name}") for name in OUTPUTS}
    summary = JobSummary()
    is_face = isinstance(cfg, FaceConfig)
    extractor = extractor if extractor is not None else make_extractor(cfg)
    batch_size = 1 if is_face else max(1, int(getattr(extractor, "batch_size", 1)))
    if batch_size > 1:
        process_many = _batch_processor(extractor, cfg.sample_rate)
    else:
        process_many = _one_by_one(_face_processor(extractor, faces or {}) if is_face
                                   else _audio_processor(extractor, cfg.sample_rate))
    # faces are 0-255 integers: Kaldi's one-byte unsigned-integer compression holds them exactly
    compression = KALDI_ONE_BYTE_UNSIGNED_INTEGER if is_face else None
    # Kaldi's matrix format has no float16: such matrices go into the ark as kaldiio's NPY records
    # (read back by kaldiio.load_mat through np.load, which refuses pickles)
    write_function = "numpy" if getattr(cfg, "dtype", "float32") == "float16" else None
    start, start_cpu = time.perf_counter(), time.process_time()
    with contextlib.ExitStack() as stack:
        # atomic_path renames on leaving, last entered first: enter in reverse of OUTPUTS.
        tmp = {name: stack.enter_context(atomic_path(final[name])) for name in reversed(OUTPUTS)}
        with kaldiio.WriteHelper(f"ark,scp:{tmp['ark']},{tmp['scp']}", compression_method=compression,
                                 write_function=write_function) as writer, \
                open(tmp["utt2num_frames"], "w", encoding="utf-8") as frames_out, \
                open(tmp["utt2dur"], "w", encoding="utf-8") as dur_out, \
                open(tmp["failed"], "w", encoding="utf-8") as failed_out:
            progress = tqdm(inputs.items(), total=len(inputs), desc=f"make_feats {ark_base.name}", unit="utt",
                            file=sys.stderr, mininterval=5.0, ascii=True)
            for chunk in _chunks(progress, batch_size):
                for (utt, _), result in zip(chunk, process_many(chunk)):
                    if isinstance(result, Exception):
                        reason = _one_line(result)
                        logger.warning("%s: skipped: %s", utt, reason)
                        failed_out.write(f"{utt} {reason}\n")
                        summary.failed += 1
                        continue
                    feats, seconds = result
                    writer(utt, feats)
                    frames_out.write(f"{utt} {feats.shape[0]}\n")
                    if not is_face:
                        dur_out.write(f"{utt} {seconds:.4f}\n")
                    summary.done += 1
                    summary.audio_seconds += seconds
            progress.close()
        # kaldiio wrote the temporary ark's name into the scp; point it at the final name.
        repoint_scp(tmp["scp"], final["ark"])
    summary.processing_seconds = time.perf_counter() - start
    summary.cpu_seconds = time.process_time() - start_cpu
    return summary


def media_file(cfg: FrontendConfig) -> str:
    """The data-directory file a front-end reads: img.scp for a face config, else wav.scp."""
    return "img.scp" if isinstance(cfg, FaceConfig) else "wav.scp"


def run_job(inputs: dict[str, str], cfg: FrontendConfig, ark_base: str | Path, faces: dict[str, str] | None,
            extractor, where: str) -> JobSummary:
    """make_feats with the job's log lines: what it reads, then one `done: key=value ...` line (speed
    and memory, which benchmarks/bench_feats.py reads back from the job log)."""
    rss_startup_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logger.info("%s: %d utterances, %s features of dim %d", where, len(inputs), cfg.type, extractor.dim)
    s = make_feats(inputs, cfg, ark_base, faces, extractor)
    rss_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    speed = s.audio_seconds / s.processing_seconds if s.processing_seconds > 0 else float("inf")
    logger.info("done: utterances=%d failed=%d audio_seconds=%.3f processing_seconds=%.3f cpu_seconds=%.3f "
                "xrealtime=%.1f rss_startup_mb=%.0f rss_peak_mb=%.0f", s.done, s.failed, s.audio_seconds,
                s.processing_seconds, s.cpu_seconds, speed, rss_startup_mb, rss_peak_mb)
    return s
