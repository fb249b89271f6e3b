"""Reading one wav.scp entry as mono float32 audio at the recipe's sample rate, and the audio of
speed perturbation.

A wav.scp value is a file path or a Kaldi pipe (`<command> |`) whose standard output is the audio.
soundfile sniffs the real container, so AIFF data under a .wav name reads fine. Channels are
averaged to mono; other sample rates are resampled with torchaudio's windowed-sinc resampler.

Speed perturbation (speed_perturbed, Ko et al., Interspeech 2015) resamples by the factor through the
spectrum instead and keeps the sample rate and the channels. It runs once per utterance as a
wav.scp pipe (python -m emogcn.bin.perturb_speed audio), so this module imports no torch at module
level (the sinc resampler imports it when first built) and emogcn.features loads its other
modules, which do, on first use: importing torch costs seconds, far more than the work.

The perturbed copies' own pipes (speed, noise, reverberation: data/datadir.py writes them) run in
the reading process when the toolkit itself reads them (decode_audio): the same functions give the
same samples without starting Python once per utterance (about 0.3 s each). Kaldi's tools, or any
other reader, run them as ordinary pipes.
"""

from __future__ import annotations

import functools
import io
import math
import os
import subprocess
from fractions import Fraction

import numpy as np
import soundfile as sf

from emogcn.features.copy_pipes import parse_copy_pipe


class AudioError(ValueError):
    """Audio that cannot be used; the message names the file (or command) and the reason."""


def read_audio(spec: str, target_rate: int, min_samples: int = 1) -> np.ndarray:
    """Returns the audio of wav.scp value `spec` as float32 mono samples at `target_rate`.

    Raises AudioError when it cannot be read, holds no samples, or (after resampling) holds fewer
    than `min_samples` samples (e.g. less than one analysis frame).
    """
    samples, rate, where = decode_audio(spec)
    return prepare_wave(samples, rate, target_rate, min_samples, where)


def decode_audio(spec: str) -> tuple[np.ndarray, int, str]:
    """The samples (float32, (n, channels)) and sample rate of wav.scp value `spec`, as stored, and
    how messages name it (the file, or `command '...'`). Raises AudioError when it cannot be read."""
    spec = spec.strip()
    if spec.endswith("|"):
        command = spec[:-1].strip()
        where = f"command '{command}'"
        own = _own_pipe(command)
        if own is not None:
            try:
                samples, rate = own()
            except AudioError:
                raise
            except ValueError as e:
                raise AudioError(f"{where}: {e}") from None
            return samples, rate, where
        source = io.BytesIO(run_pipe(command))
    else:
        where = spec
        source = spec
        if not os.path.isfile(spec):  # soundfile would only say "System error"
            raise AudioError(f"{spec}: {'not a file' if os.path.exists(spec) else 'file not found'}")
    try:
        samples, rate = sf.read(source, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError/RuntimeError/TypeError by format
        reason = str(e).strip().replace("\n", " ") or type(e).__name__
        raise AudioError(f"{where}: cannot read audio: {reason}") from None
    return samples, rate, where


def prepare_wave(samples: np.ndarray, rate: int, target_rate: int, min_samples: int = 1,
                 where: str = "audio") -> np.ndarray:
    """Decoded samples ((n,) or (n, channels), any rate) -> float32 mono at `target_rate`.

    The checks and conversions of read_audio after decoding, shared with callers that hold the
    samples already (emogcn.inference: arrays handed to the Python API); `where` names the source.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise AudioError(f"{where}: expected samples of shape (n,) or (n, channels), got {samples.shape}")
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise AudioError(f"{where}: no samples (empty audio)")
    if rate <= 0:
        raise AudioError(f"{where}: sample rate must be positive, got {rate}")
    # Mono: one channel is a contiguous view already; several are averaged.
    wave = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1, dtype=np.float32)
    if not np.isfinite(wave).all():
        raise AudioError(f"{where}: audio holds NaN or infinite samples")
    if not np.any(wave):  # digital silence (a file cut or trimmed to nothing but zeros): no signal
        raise AudioError(f"{where}: silent: every one of its {wave.shape[0]} samples is 0")
    if rate != target_rate:
        wave = resample(wave, rate, target_rate)
    if wave.shape[0] < min_samples:
        raise AudioError(
            f"{where}: too short: {wave.shape[0]} samples at {target_rate} Hz "
            f"({1000.0 * wave.shape[0] / target_rate:.1f} ms), fewer than the {min_samples} of one frame"
        )
    return wave


def _own_pipe(command: str):
    """A function giving (samples, rate) of a perturbed copy's pipe (the templates of
    emogcn.features.copy_pipes), or None for any other command (it runs in a shell)."""
    parsed = parse_copy_pipe(command)
    if parsed is None:
        return None
    kind, value, seed, spec = parsed
    if kind == "speed":
        return lambda: speed_perturbed(value, spec)
    return lambda: corrupted(kind, value, seed, spec)


def _as_stored(samples: np.ndarray) -> np.ndarray:
    """Samples as a pipe's float WAV carries them: clipped to [-1, 1], float32, (n, channels)."""
    out = np.clip(samples, -1.0, 1.0).astype(np.float32)
    return out[:, None] if out.ndim == 1 else out


def speed_perturbed(factor: float, spec: str) -> tuple[np.ndarray, int]:
    """The samples and rate of wav.scp value `spec` at speed `factor`: resampled by the factor at
    the same sample rate, so that tempo and pitch change together, as sox's `speed` does."""
    # Resampled with numpy alone rather than torch or scipy.signal (see the module's docstring).
    samples, rate, _ = decode_audio(spec)
    # 0.9 -> 10/9 as many samples at the same rate: slower and lower, as sox's `speed` does
    ratio = Fraction(1 / factor).limit_denominator(100)
    num_out = max(1, round(samples.shape[0] * ratio.numerator / ratio.denominator))
    return _as_stored(fft_resample(samples, num_out)), rate


def corrupted(kind: str, value: float, seed: int, spec: str) -> tuple[np.ndarray, int]:
    """The samples and rate of wav.scp value `spec` with coloured noise at `value` dB SNR (kind
    noise) or reverberated with RT60 `value` s (kind reverb), drawn from `seed`
    (emogcn/features/corrupt.py)."""
    from emogcn.features.corrupt import add_noise, reverberate

    samples, rate, _ = decode_audio(spec)
    rng = np.random.default_rng(seed)
    out = add_noise(samples, value, rng) if kind == "noise" else reverberate(samples, rate, value, rng)
    return _as_stored(out), rate


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """samples as a float WAV (what a pipe writes to standard output)."""
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def run_pipe(command: str) -> bytes:
    """The standard output of shell command `command` (a wav.scp pipe without its `|`)."""
    proc = subprocess.run(["bash", "-c", "set -o pipefail; " + command], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {lines[-1]}" if lines else ""
        raise AudioError(f"command '{command}': exited with status {proc.returncode}{detail}")
    if not proc.stdout:
        raise AudioError(f"command '{command}': wrote no audio to standard output")
    return proc.stdout


def resample(wave: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """torchaudio.functional.resample (sinc_interp_hann, its defaults) on a 1-D float32 array."""
    if orig_rate == target_rate:
        return wave
    return _resampler(int(orig_rate), int(target_rate))(wave)


class _SincResampler:
    """torchaudio's windowed-sinc resampler, with its kernel prepared once per rate pair.

    torchaudio.functional.resample rebuilds the kernel on every call and applies it as a conv1d
    whose kernel spans a whole step of input (441 taps for 22.05 -> 16 kHz) although each output
    phase has only about 2 * width nonzero taps. Here the kernel (taken from
    torchaudio.transforms.Resample, so the filter is torchaudio's) is cut into groups of
    consecutive output phases, each keeping only the input span its phases touch, and applied as
    one batched matrix product over strided windows of the padded signal: the same sums over the
    same nonzero taps, about 3x faster than the conv1d on CPU.
    """

    PHASES_PER_GROUP = 16

    def __init__(self, orig_rate: int, target_rate: int):
        import torch
        from torchaudio.transforms import Resample

        module = Resample(orig_rate, target_rate)
        gcd = math.gcd(orig_rate, target_rate)
        self.step = orig_rate // gcd  # input samples consumed per step
        self.outputs = target_rate // gcd  # output samples (phases) produced per step
        self.width = int(module.width)
        kernel = module.kernel[:, 0, :].to(torch.float32)  # (outputs, taps)
        taps = kernel.shape[1]
        per_group = min(self.outputs, self.PHASES_PER_GROUP)
        groups = -(-self.outputs // per_group)
        kernel = torch.nn.functional.pad(kernel, (0, 0, 0, groups * per_group - self.outputs))
        # Input columns each group of phases touches.
        used = (kernel != 0).reshape(groups, per_group, taps).any(dim=1)
        spans = [(int(cols[0]), int(cols[-1])) if len(cols) else None
                 for cols in (row.nonzero()[:, 0] for row in used)]
        first = spans[0][0]
        # Windows start at first + g * spacing (a uniform stride, so one strided view serves all
        # groups); the spacing never overshoots a group's first column.
        self.spacing = min([(s[0] - first) // g for g, s in enumerate(spans) if g > 0 and s is not None], default=0)
        self.span = 1 + max(s[1] - (first + g * self.spacing) for g, s in enumerate(spans) if s is not None)
        matrices = torch.zeros(groups, self.span, per_group)
        for g in range(groups):
            start = first + g * self.spacing
            stop = min(taps, start + self.span)
            matrices[g, : stop - start] = kernel[g * per_group:(g + 1) * per_group, start:stop].T
        self.matrices = matrices  # (groups, span, phases per group)
        self.first = first
        # Zeros past torchaudio's own right padding, so the last windows stay inside the signal.
        self.extra_pad = max(0, first + (groups - 1) * self.spacing + self.span - taps)

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        import torch

        length = wave.shape[0]
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        padded = torch.nn.functional.pad(x[None], (self.width, self.width + self.step + self.extra_pad))[0]
        num_steps = length // self.step + 1  # what torchaudio's strided conv1d gives
        groups, span, per_group = self.matrices.shape
        windows = padded.as_strided((groups, num_steps, span), (self.spacing, self.step, 1), self.first)
        out = torch.bmm(windows, self.matrices)  # (groups, steps, phases per group)
        out = out.permute(1, 0, 2).reshape(num_steps, groups * per_group)[:, : self.outputs].reshape(-1)
        target_length = -(-self.outputs * length // self.step)  # ceil, in exact integers
        return out[:target_length].numpy()


@functools.lru_cache(maxsize=16)
def _resampler(orig_rate: int, target_rate: int) -> _SincResampler:
    return _SincResampler(orig_rate, target_rate)


def fft_resample(x: np.ndarray, num_out: int) -> np.ndarray:
    """Band-limited resampling of x (samples, channels) to num_out samples through the spectrum
    (what scipy.signal.resample does): the shorter spectrum is copied, the rest left zero."""
    n = x.shape[0]
    spectrum = np.fft.rfft(x, axis=0)
    kept = min(spectrum.shape[0], num_out // 2 + 1)
    out_spectrum = np.zeros((num_out // 2 + 1, x.shape[1]), dtype=spectrum.dtype)
    out_spectrum[:kept] = spectrum[:kept]
    return (np.fft.irfft(out_spectrum, n=num_out, axis=0) * (num_out / n)).astype(np.float32)
