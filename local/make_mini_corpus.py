#!/usr/bin/env python3
"""Synthesises the embedded mini corpus: a small speech-like emotional corpus made without download.

    python local/make_mini_corpus.py [--seed 0] [--speakers-per-language 4] [--utts-per-class 12] \
        <corpus-dir> <data-dir>

Writes 16-bit PCM wav files under <corpus-dir>/<lang>/<spk>/<utt>.wav and a Kaldi data directory
(wav.scp, utt2spk, spk2utt, utt2emo, utt2va, utt2lang, utt2corpus, spk2gender) to <data-dir>.

Each utterance is a source-filter synthesis of a random "sentence" of syllables:
- a glottal pulse train (Rosenberg pulse shape) whose pitch level, range, accent shape, tremor,
  loudness, tempo and voice quality (open quotient, spectral tilt, breathiness) depend on the
  emotion, scaled by a per-speaker and a per-utterance expressiveness;
- formant filtering in the short-time Fourier domain over phone-like segments (vowels, nasals,
  approximants), with smoothed formant tracks for coarticulation, plus shaped noise for
  fricatives and stop bursts;
- speakers of both sexes with their own pitch baseline, vocal-tract length (formant scaling),
  voice quality, level and channel colouring, so per-speaker normalisation matters;
- two synthetic languages (ISO 639-2 local-use codes qaa, qab) with different phone inventories,
  syllable structures and rhythm (syllable-timed vs stress-timed with vowel reduction).
Random sentence content, jittered prosody and background noise make the classes overlap, so a
simple classifier is well above chance but not perfect. Some speakers are written at 16 kHz and
some at 22.05 kHz, and one speaker's files are stereo, to exercise resampling and mix-down.
Everything is deterministic given --seed: each utterance draws from its own seeded generator.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from emogcn.atomic import atomic_path
from emogcn.data.datadir import spk2utt_from_utt2spk, write_map
from emogcn.log import get_logger, setup_logging

logger = get_logger("make_mini_corpus")

CORPUS = "mini"
NOMINAL_RATE = 6.0  # syllables per second that the phones' durations in _CONSONANTS/_VOWELS give
CONTROL_RATE = 200  # control tracks (pitch, formants, amplitudes) are built on a 5 ms grid
RATES = (16000, 22050)
DATA_FILES = ("wav.scp", "utt2spk", "spk2utt", "utt2emo", "utt2va", "utt2lang", "utt2corpus", "spk2gender")


# ---------------------------------------------------------------------------------------------
# Emotions


@dataclass(frozen=True)
class Emotion:
    """How a class is spoken, as deviations from a speaker's neutral voice."""

    valence: float  # canonical position in [-1, 1]
    arousal: float
    pitch_st: float  # mean F0 shift, semitones
    accent_st: float  # height of pitch accents on stressed syllables, semitones
    accent_width_s: float  # accent duration: sharp accents for anger, broad for happiness
    declination_st: float  # fall of the baseline over the utterance
    final_st: float  # final boundary tone: > 0 a rise, < 0 a fall
    tremor_st: float  # pitch tremor depth (about 6 Hz)
    jitter: float  # cycle-to-cycle F0 perturbation, relative
    energy_db: float  # loudness relative to neutral
    accent_db: float  # extra loudness of stressed syllables
    tempo: float  # syllable-rate factor
    open_quotient: float  # glottal open quotient: larger is breathier, smaller is pressed
    tilt_db_oct: float  # spectral tilt above 500 Hz, dB per octave (more negative: duller)
    breathiness: float  # aspiration-noise level relative to the voiced source
    formant_scale: float  # smiling raises formants, a lax low-effort voice lowers them


# Canonical valence/arousal are rough positions on Russell's circumplex of affect (J. A. Russell,
# "A circumplex model of affect", J. Pers. Soc. Psychol. 39(6), 1980), chosen for this synthetic
# corpus; the prosody follows the usual acoustic profiles of vocal emotion (P. N. Juslin and
# P. Laukka, "Communication of emotions in vocal expression and music performance", Psychol. Bull.
# 129(5), 2003): anger and happiness high and variable pitch, loud and fast; sadness low, flat,
# soft, slow and dull; fear high, fast, with tremor and irregular voicing.
EMOTIONS: dict[str, Emotion] = {
    # Columns in field order:  val   aro pitch accent width decl final trem jitter energy acc_db tempo  oq  tilt breath fscale
    "neutral":   Emotion(0.0, -0.1, 0.0, 1.5, 0.16, 2.0, -1.0, 0.0, 0.005, 0.0, 2.0, 1.00, 0.60, -1.5, 0.05, 1.00),
    "happiness": Emotion(0.8, 0.5, 3.0, 4.5, 0.22, 1.5, 2.0, 0.0, 0.006, 2.0, 3.0, 1.08, 0.55, -0.5, 0.05, 1.06),
    "sadness":   Emotion(-0.7, -0.6, -1.5, 0.6, 0.20, 2.5, -2.0, 0.0, 0.008, -5.0, 1.0, 0.80, 0.72, -4.0, 0.15, 0.97),
    "anger":     Emotion(-0.6, 0.8, 3.0, 4.0, 0.09, 3.5, -3.0, 0.0, 0.008, 6.0, 5.0, 1.12, 0.45, 2.0, 0.04, 1.02),
    "fear":      Emotion(-0.6, 0.6, 5.0, 2.0, 0.12, 0.5, 1.0, 1.0, 0.020, -0.5, 1.5, 1.22, 0.68, -2.5, 0.22, 1.00),
}
CLASSES = tuple(EMOTIONS)
VA_JITTER = 0.08  # per-utterance spread of utt2va around the class's canonical point


# ---------------------------------------------------------------------------------------------
# Languages and phones


@dataclass(frozen=True)
class Phone:
    """A phone-like segment: how it is voiced, its formant targets and its noise."""

    kind: str  # vowel, nasal, approximant, fricative, stop
    formants: tuple[float, float, float]  # F1-F3 targets (Hz, for a male vocal tract); loci for consonants
    duration_s: float
    voice: float = 0.0  # voiced-source amplitude
    noise: float = 0.0  # frication / burst amplitude
    noise_hz: float = 0.0  # centre of the noise band
    noise_bw: float = 0.0  # width of the noise band


def _vowel(f1, f2, f3):
    return Phone("vowel", (f1, f2, f3), 0.085, voice=1.0)


# Male-vocal-tract formant targets after Peterson and Barney (1952), rounded.
_VOWELS = {
    "i": _vowel(270, 2290, 3010), "e": _vowel(400, 2000, 2550), "E": _vowel(530, 1840, 2480),
    "a": _vowel(730, 1090, 2440), "O": _vowel(570, 840, 2410), "o": _vowel(450, 800, 2400),
    "u": _vowel(300, 870, 2240), "@": _vowel(500, 1500, 2500),
}
_CONSONANTS = {
    "p": Phone("stop", (400, 900, 2300), 0.075, noise=0.5, noise_hz=1000, noise_bw=1500),
    "t": Phone("stop", (400, 1700, 2600), 0.075, noise=0.7, noise_hz=4200, noise_bw=2500),
    "k": Phone("stop", (400, 2000, 2500), 0.080, noise=0.7, noise_hz=2200, noise_bw=1200),
    "b": Phone("stop", (400, 900, 2300), 0.065, voice=0.15, noise=0.35, noise_hz=1000, noise_bw=1500),
    "s": Phone("fricative", (400, 1700, 2600), 0.095, noise=0.35, noise_hz=5500, noise_bw=2500),
    "S": Phone("fricative", (400, 1900, 2500), 0.095, noise=0.40, noise_hz=3000, noise_bw=1500),
    "f": Phone("fricative", (400, 1000, 2300), 0.090, noise=0.12, noise_hz=5000, noise_bw=6000),
    "x": Phone("fricative", (400, 1500, 2400), 0.085, noise=0.30, noise_hz=1600, noise_bw=1000),
    "z": Phone("fricative", (400, 1700, 2600), 0.080, voice=0.3, noise=0.25, noise_hz=5500, noise_bw=2500),
    "m": Phone("nasal", (280, 1000, 2200), 0.065, voice=0.35),
    "n": Phone("nasal", (280, 1500, 2500), 0.060, voice=0.35),
    "l": Phone("approximant", (360, 1250, 2700), 0.055, voice=0.65),
    "r": Phone("approximant", (420, 1300, 1700), 0.050, voice=0.60),
}


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-2 local-use code, so utt2lang stays a valid language code
    vowels: tuple[str, ...]
    onsets: tuple[str, ...]  # syllable onsets, clusters as strings of consonants
    codas: tuple[str, ...]  # "" for an open syllable
    coda_prob: float
    syllable_rate: float  # speaking-rate factor: open syllables per second at neutral tempo
    stress_every: int  # a stressed syllable every N (with some randomness)
    stressed_lengthening: float  # vowel duration factor of stressed syllables
    unstressed_reduction: float  # 0: full vowels; 1: unstressed vowels become schwa


LANGUAGES = (
    # qaa: a three-vowel, open-syllable, syllable-timed language (Spanish/Japanese-like rhythm).
    Language("qaa", ("a", "i", "u"), ("p", "t", "k", "s", "m", "n", "l", ""), ("", "n"), 0.15,
             syllable_rate=6.0, stress_every=3, stressed_lengthening=1.15, unstressed_reduction=0.0),
    # qab: a seven-vowel, closed-syllable, stress-timed language with clusters and vowel reduction.
    Language("qab", ("i", "e", "E", "a", "O", "o", "u"),
             ("t", "k", "b", "S", "f", "x", "z", "r", "m", "st", "kr", "Sl", "fr", ""),
             ("", "s", "x", "r", "m", "n", "t", "ks"), 0.6,
             syllable_rate=5.5, stress_every=2, stressed_lengthening=1.7, unstressed_reduction=0.6),
)


# ---------------------------------------------------------------------------------------------
# Speakers


@dataclass(frozen=True)
class Speaker:
    spk: str
    lang: Language
    key: tuple[int, int]  # (language index, index within the language): seeds its utterances
    gender: str  # m / f
    rate: int  # sample rate of its files
    channels: int
    f0_hz: float  # neutral pitch baseline
    vtl_scale: float  # formant scaling: shorter vocal tract -> higher formants
    pitch_range: float  # scales accent heights
    expressiveness: float  # how strongly this speaker acts the emotions
    tempo: float
    tilt_db_oct: float  # offset to the emotion's tilt
    breathiness: float  # offset to the emotion's breathiness
    level_db: float  # recording level
    channel_lowcut_hz: float  # microphone/channel colouring
    channel_peak_hz: float
    channel_peak_db: float


def make_speakers(seed: int, speakers_per_language: int) -> list[Speaker]:
    """Speakers alternate sex within a language (starting with f in qaa and m in qab, so even one
    speaker per language gives both sexes); odd-numbered speakers overall are written at 22.05 kHz
    and the last speaker in stereo."""
    speakers = []
    total = len(LANGUAGES) * speakers_per_language
    for li, lang in enumerate(LANGUAGES):
        counts = Counter()
        for si in range(speakers_per_language):
            g = li * speakers_per_language + si
            rng = np.random.default_rng(np.random.SeedSequence([seed, 1, li, si]))
            gender = "fm"[(si + li) % 2]
            counts[gender] += 1
            female = gender == "f"
            speakers.append(Speaker(
                spk=f"{CORPUS}-{lang.code}-{gender}{counts[gender]}",
                lang=lang,
                key=(li, si),
                gender=gender,
                rate=RATES[g % 2],
                channels=2 if g == total - 1 else 1,
                f0_hz=rng.uniform(180, 240) if female else rng.uniform(95, 135),
                vtl_scale=rng.uniform(1.12, 1.22) if female else rng.uniform(0.94, 1.04),
                pitch_range=rng.uniform(0.75, 1.25),
                expressiveness=rng.uniform(0.75, 1.0),
                tempo=rng.uniform(0.9, 1.1),
                tilt_db_oct=rng.uniform(-1.5, 1.5),
                breathiness=rng.uniform(0.0, 0.08) if female else rng.uniform(0.0, 0.04),
                level_db=rng.uniform(-4, 4),
                channel_lowcut_hz=rng.uniform(60, 200),
                channel_peak_hz=rng.uniform(1500, 4000),
                channel_peak_db=rng.uniform(-4, 4),
            ))
    return speakers


# ---------------------------------------------------------------------------------------------
# Synthesis


@dataclass
class Prosody:
    """One utterance's realised emotion: the class profile moved towards neutral by the
    speaker's and the utterance's expressiveness, then jittered."""

    pitch_st: float
    accent_st: float
    accent_width_s: float
    declination_st: float
    final_st: float
    tremor_st: float
    jitter: float
    energy_db: float
    accent_db: float
    tempo: float
    open_quotient: float
    tilt_db_oct: float
    breathiness: float
    formant_scale: float


def realise_prosody(emo: Emotion, spk: Speaker, rng: np.random.Generator) -> Prosody:
    neutral = EMOTIONS["neutral"]
    strength = spk.expressiveness * rng.uniform(0.8, 1.15)

    def towards(name: str, spread: float) -> float:
        base = getattr(neutral, name)
        return base + strength * (getattr(emo, name) - base) + rng.normal(0, spread)

    return Prosody(
        pitch_st=towards("pitch_st", 1.0),
        accent_st=max(0.2, towards("accent_st", 1.0)) * spk.pitch_range,
        accent_width_s=float(np.clip(towards("accent_width_s", 0.03), 0.06, 0.35)),
        declination_st=towards("declination_st", 1.0),
        final_st=towards("final_st", 1.5),
        tremor_st=max(0.0, towards("tremor_st", 0.15)),
        jitter=max(0.002, towards("jitter", 0.002)),
        energy_db=towards("energy_db", 1.5),
        accent_db=max(0.0, towards("accent_db", 1.0)),
        tempo=max(0.6, towards("tempo", 0.08)) * spk.tempo,
        open_quotient=float(np.clip(towards("open_quotient", 0.05), 0.35, 0.85)),
        tilt_db_oct=towards("tilt_db_oct", 0.6) + spk.tilt_db_oct,
        breathiness=max(0.0, towards("breathiness", 0.03) + spk.breathiness),
        formant_scale=towards("formant_scale", 0.01),
    )


@dataclass
class Segment:
    phone: Phone
    duration_s: float
    stressed: bool
    reduction: float  # how far a vowel moves towards schwa


def make_sentence(lang: Language, pro: Prosody, target_s: float, rng: np.random.Generator) -> list[Segment]:
    """Random syllables of the language until the speech part lasts about `target_s` seconds."""
    segments: list[Segment] = []
    total = 0.0
    syllable = 0
    next_stress = int(rng.integers(0, lang.stress_every))
    # The phones' nominal durations give about NOMINAL_RATE open syllables per second.
    rate_scale = NOMINAL_RATE / (lang.syllable_rate * pro.tempo)
    while total < target_s:
        stressed = syllable == next_stress
        if stressed:
            next_stress = syllable + lang.stress_every + int(rng.integers(-1, 2) if lang.stress_every > 2 else 0)
        onset = lang.onsets[rng.integers(len(lang.onsets))]
        vowel = lang.vowels[rng.integers(len(lang.vowels))]
        coda = lang.codas[rng.integers(len(lang.codas))] if rng.random() < lang.coda_prob else ""
        phones = [(_CONSONANTS[c], False) for c in onset] + [(_VOWELS[vowel], True)]
        phones += [(_CONSONANTS[c], False) for c in coda]
        for phone, is_nucleus in phones:
            dur = phone.duration_s * rate_scale
            if is_nucleus:
                dur *= lang.stressed_lengthening if stressed else 1.0 / np.sqrt(lang.stressed_lengthening)
            dur *= float(np.exp(rng.normal(0, 0.18)))
            reduction = lang.unstressed_reduction if (is_nucleus and not stressed) else 0.0
            segments.append(Segment(phone, dur, stressed and is_nucleus, reduction))
            total += dur
        syllable += 1
        # An occasional phrase break inside longer sentences.
        if total > 0.6 and total < target_s - 0.4 and rng.random() < 0.08:
            pause = rng.uniform(0.08, 0.2) / pro.tempo
            segments.append(Segment(Phone("pause", (500, 1500, 2500), pause), pause, False, 0.0))
            total += pause
    return segments


def _steps(seconds: float) -> int:
    return max(1, int(round(seconds * CONTROL_RATE)))


def _smooth(x: np.ndarray, seconds: float) -> np.ndarray:
    """Moving average along the last axis over about `seconds` (edge values repeated)."""
    n = max(1, int(round(seconds * CONTROL_RATE)))
    if n == 1:
        return x
    pad = [(0, 0)] * (x.ndim - 1) + [(n // 2, n - 1 - n // 2)]
    padded = np.pad(x, pad, mode="edge")
    kernel = np.ones(n) / n
    return np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), -1, padded)


@dataclass
class Tracks:
    """Control tracks on the CONTROL_RATE grid."""

    f0_st: np.ndarray  # pitch relative to the speaker's baseline, semitones
    voice: np.ndarray  # voiced-source amplitude (linear)
    noise: np.ndarray  # noise-source amplitude
    noise_hz: np.ndarray
    noise_bw: np.ndarray
    formants: np.ndarray  # (3, steps), Hz before speaker scaling


def build_tracks(segments: list[Segment], pro: Prosody, lead_s: float, tail_s: float,
                 rng: np.random.Generator) -> Tracks:
    lead, tail = _steps(lead_s), _steps(tail_s)
    lengths = [_steps(s.duration_s) for s in segments]
    n = lead + sum(lengths) + tail
    voice = np.zeros(n)
    noise = np.zeros(n)
    noise_hz = np.full(n, 3000.0)
    noise_bw = np.full(n, 2000.0)
    formants = np.tile(np.array(_VOWELS["@"].formants)[:, None], (1, n))
    loud = np.zeros(n)  # accent loudness, dB
    accents = []  # (centre step, stressed)
    schwa = np.array(_VOWELS["@"].formants)
    pos = lead
    for seg, length in zip(segments, lengths):
        ph = seg.phone
        sl = slice(pos, pos + length)
        target = np.array(ph.formants)
        if seg.reduction:
            target = (1 - seg.reduction) * target + seg.reduction * schwa
        formants[:, sl] = target[:, None]
        if ph.kind == "stop":
            # Closure (silence, or a weak voice bar), then a short noise burst.
            burst = max(1, min(length - 1, _steps(rng.uniform(0.012, 0.02))))
            voice[pos:pos + length - burst] = ph.voice
            noise[pos + length - burst:pos + length] = ph.noise
            noise_hz[sl], noise_bw[sl] = ph.noise_hz, ph.noise_bw
        elif ph.kind != "pause":
            voice[sl] = ph.voice
            noise[sl] = ph.noise
            if ph.noise:
                noise_hz[sl], noise_bw[sl] = ph.noise_hz, ph.noise_bw
        if ph.kind == "vowel":
            if seg.stressed:
                loud[sl] = pro.accent_db
            accents.append((pos + length // 2, seg.stressed))
        pos += length

    # Coarticulation: formants glide between targets; amplitudes ramp instead of clicking.
    formants = _smooth(formants, 0.04)
    voice = _smooth(voice, 0.015)
    noise = _smooth(noise, 0.006)
    gain = 10 ** (_smooth(loud, 0.05) / 20)
    voice, noise = voice * gain, noise * np.sqrt(gain)

    # Pitch: declining baseline, accents on stressed vowels, a boundary tone, tremor and drift.
    t = np.arange(n) / CONTROL_RATE
    speech = slice(lead, n - tail)
    progress = np.clip((np.arange(n) - lead) / max(1, n - lead - tail), 0, 1)
    f0 = pro.pitch_st + pro.declination_st * (0.5 - progress)
    width = pro.accent_width_s * CONTROL_RATE
    for centre, stressed in accents:
        height = pro.accent_st * (rng.uniform(0.6, 1.3) if stressed else rng.uniform(0.0, 0.25))
        # Skewed bump: a rise to the peak and a slower fall.
        d = np.arange(n) - centre - 0.15 * width
        f0 = f0 + height * np.exp(-0.5 * (d / np.where(d < 0, 0.8 * width, 1.2 * width)) ** 2)
    final = np.clip((progress - 0.8) / 0.2, 0, 1)
    f0 = f0 + pro.final_st * final ** 2
    f0 = f0 + pro.tremor_st * np.sin(2 * np.pi * rng.uniform(5, 7.5) * t + rng.uniform(0, 2 * np.pi))
    drift = _smooth(rng.normal(0, 1, n), 0.25)
    f0 = f0 + 0.5 * drift / max(1e-9, drift[speech].std())
    return Tracks(f0, voice, noise, noise_hz, noise_bw, formants)


def glottal_source(f0_hz: np.ndarray, rate: int, pro: Prosody, rng: np.random.Generator) -> np.ndarray:
    """Derivative of a Rosenberg glottal pulse train following `f0_hz` (per sample), with jitter
    and aspiration noise during the open phase. Unit RMS."""
    # Jitter: an F0 perturbation redrawn every 5 ms, about one glottal cycle.
    block = rate // CONTROL_RATE
    jitter = 1 + pro.jitter * np.repeat(rng.normal(0, 1, f0_hz.size // block + 1), block)[:f0_hz.size]
    phase = np.cumsum(f0_hz * jitter / rate)
    frac = phase - np.floor(phase)
    rise = 0.65 * pro.open_quotient
    fall = 0.35 * pro.open_quotient
    flow = np.where(frac < rise, 0.5 * (1 - np.cos(np.pi * frac / rise)),
                    np.where(frac < rise + fall, np.cos(0.5 * np.pi * (frac - rise) / fall), 0.0))
    source = np.diff(flow, prepend=0.0)
    source /= max(1e-12, np.sqrt(np.mean(source ** 2)))
    aspiration = rng.normal(0, 1, f0_hz.size) * (0.3 + flow)
    return source + pro.breathiness * 3.0 * aspiration


def _resonances(freqs: np.ndarray, formants_hz: np.ndarray, bandwidths_hz: np.ndarray, rate: int) -> np.ndarray:
    """Magnitude response of cascaded two-pole resonators (unit gain at DC).
    freqs: (bins,); formants_hz, bandwidths_hz: (k, frames). Returns (bins, frames)."""
    w = 2 * np.pi * freqs / rate
    cos1, sin1, cos2, sin2 = (v[:, None] for v in (np.cos(w), np.sin(w), np.cos(2 * w), np.sin(2 * w)))
    out = np.ones((freqs.size, formants_hz.shape[1]))
    for f, b in zip(formants_hz, bandwidths_hz):
        r = np.exp(-np.pi * b / rate)[None, :]
        rc2 = 2 * r * np.cos(2 * np.pi * f / rate)[None, :]
        r2 = r ** 2
        # |1 - 2 r cos(theta) e^{-jw} + r^2 e^{-2jw}|, written out in real arithmetic.
        re = 1 - rc2 * cos1 + r2 * cos2
        im = rc2 * sin1 - r2 * sin2
        out *= (1 - rc2 + r2) / np.sqrt(re ** 2 + im ** 2)
    return out


def synthesize(spk: Speaker, emotion: str, rng: np.random.Generator) -> np.ndarray:
    """One utterance of `emotion` by `spk`: float samples in [-1, 1], shape (samples, channels)."""
    pro = realise_prosody(EMOTIONS[emotion], spk, rng)
    rate = spk.rate
    lead_s, tail_s = rng.uniform(0.08, 0.2), rng.uniform(0.08, 0.2)
    target_s = rng.uniform(0.75, 1.9)
    segments = make_sentence(spk.lang, pro, target_s, rng)
    tracks = build_tracks(segments, pro, lead_s, tail_s, rng)
    steps = tracks.voice.size
    samples = int(steps * rate / CONTROL_RATE)
    ctrl_t = np.arange(steps) / CONTROL_RATE
    sample_t = np.arange(samples) / rate

    f0 = spk.f0_hz * 2 ** (np.interp(sample_t, ctrl_t, tracks.f0_st) / 12)
    voiced = glottal_source(np.clip(f0, 50, 600), rate, pro, rng)

    nperseg = int(round(0.032 * rate))
    hop = nperseg // 2  # Hann at 50 % overlap adds back to a constant
    freqs, frame_t, voiced_spec = signal.stft(voiced, rate, nperseg=nperseg, noverlap=nperseg - hop)
    # White noise drawn straight in the STFT domain, at the level stft() gives unit-variance noise.
    window = signal.get_window("hann", nperseg)
    hiss_scale = np.sqrt(np.sum(window ** 2) / 2) / np.sum(window)
    hiss_spec = hiss_scale * (rng.normal(0, 1, voiced_spec.shape) + 1j * rng.normal(0, 1, voiced_spec.shape))

    def at_frames(track: np.ndarray) -> np.ndarray:
        return np.interp(frame_t, ctrl_t, track)

    # Vocal-tract filter: F1-F3 from the phones, a fixed F4/F5, all scaled by the speaker's
    # vocal-tract length; bandwidths widen a little with frequency.
    f123 = np.stack([at_frames(tracks.formants[k]) for k in range(3)]) * spk.vtl_scale * pro.formant_scale
    f45 = np.minimum(np.array([[3500.0], [4500.0]]) * spk.vtl_scale * pro.formant_scale, 0.45 * rate)
    tract = _resonances(freqs, f123, 50 + 0.06 * f123, rate) * _resonances(freqs, f45, 50 + 0.06 * f45, rate)

    # Spectral tilt (voice quality) and the speaker's channel colouring, frequency-only shapes.
    octaves = np.log2(np.maximum(freqs, 500) / 500)
    tilt = 10 ** (pro.tilt_db_oct * octaves / 20)
    lowcut = 1 / np.sqrt(1 + (spk.channel_lowcut_hz / np.maximum(freqs, 1)) ** 4)
    peak = 10 ** (spk.channel_peak_db / 20 * np.exp(-0.5 * (np.log2(np.maximum(freqs, 1) / spk.channel_peak_hz) / 0.5) ** 2))
    channel = (lowcut * peak)[:, None]

    voice_amp = at_frames(tracks.voice)[None, :]
    noise_amp = at_frames(tracks.noise)[None, :]
    centre = at_frames(tracks.noise_hz)[None, :] * np.sqrt(spk.vtl_scale)
    width = at_frames(tracks.noise_bw)[None, :]
    band = np.exp(-0.5 * ((freqs[:, None] - centre) / (0.5 * width)) ** 2)
    band = band * (freqs[:, None] < 0.48 * rate)

    spec = voiced_spec * tract * tilt[:, None] * voice_amp + hiss_spec * band * noise_amp * 2.5
    _, audio = signal.istft(spec * channel, rate, nperseg=nperseg, noverlap=nperseg - hop)
    audio = np.pad(audio, (0, max(0, samples - audio.size)))[:samples]

    # Level: the speaker's recording level plus the emotion's loudness, measured over the speech.
    active = (tracks.voice + tracks.noise > 0.05)[np.arange(samples) * CONTROL_RATE // rate]
    rms = np.sqrt(np.mean(audio[active] ** 2)) if active.any() else 1.0
    level_db = -24 + spk.level_db + pro.energy_db
    audio = audio / max(rms, 1e-9) * 10 ** (level_db / 20)

    # Background noise at a random signal-to-noise ratio (pinkish: white through a one-pole lowpass).
    snr_db = rng.uniform(20, 35)
    background = signal.lfilter([1.0], [1.0, -0.9], rng.normal(0, 1, samples))
    background *= 10 ** ((level_db - snr_db) / 20) / max(1e-12, background.std())
    audio = audio + background

    peak_abs = np.max(np.abs(audio))
    if peak_abs > 0.95:  # rare: keep loud shouts from clipping
        audio *= 0.95 / peak_abs
    if spk.channels == 2:
        # A second microphone: slightly delayed, quieter, with its own noise.
        other = np.roll(audio, 3) * 0.8 + rng.normal(0, 10 ** ((level_db - 40) / 20), samples)
        return np.stack([audio, np.clip(other, -1, 1)], axis=1)
    return audio[:, None]


# ---------------------------------------------------------------------------------------------
# Corpus and data directory


def canonical_va(emotion: str) -> tuple[float, float]:
    emo = EMOTIONS[emotion]
    return emo.valence, emo.arousal


def utt_id(spk: Speaker, emotion: str, index: int) -> str:
    return f"{spk.spk}-{emotion}-{index + 1:03d}"


def make_mini_corpus(corpus_dir: str | Path, data_dir: str | Path, seed: int = 0,
                     speakers_per_language: int = 4, utts_per_class: int = 12) -> dict[str, dict[str, str]]:
    """Synthesises the corpus into `corpus_dir` and writes its data directory to `data_dir`.
    Returns the maps written, by file name."""
    if speakers_per_language < 1 or utts_per_class < 1 or seed < 0:
        raise ValueError("--speakers-per-language and --utts-per-class must be at least 1, --seed at least 0")
    corpus_dir = Path(corpus_dir).resolve()
    if any(c.isspace() for c in str(corpus_dir)):
        raise ValueError(f"{corpus_dir}: corpus path contains whitespace, which wav.scp cannot hold")
    data_dir = Path(data_dir)
    # A data directory from an earlier run would look complete while its wavs are rewritten.
    for name in DATA_FILES:
        (data_dir / name).unlink(missing_ok=True)

    maps: dict[str, dict[str, str]] = {n: {} for n in DATA_FILES}
    speakers = make_speakers(seed, speakers_per_language)
    for spk in speakers:
        out = corpus_dir / spk.lang.code / spk.spk
        out.mkdir(parents=True, exist_ok=True)
        maps["spk2gender"][spk.spk] = spk.gender
        for ci, emotion in enumerate(CLASSES):
            for i in range(utts_per_class):
                utt = utt_id(spk, emotion, i)
                # Its own generator, so an utterance is the same whatever else is generated.
                rng = np.random.default_rng(np.random.SeedSequence([seed, 2, *spk.key, ci, i]))
                audio = synthesize(spk, emotion, rng)
                path = out / f"{utt}.wav"
                with atomic_path(path) as tmp:
                    sf.write(tmp, audio, spk.rate, subtype="PCM_16", format="WAV")
                valence, arousal = np.clip(np.array(canonical_va(emotion)) + rng.normal(0, VA_JITTER, 2), -1, 1)
                maps["wav.scp"][utt] = str(path)
                maps["utt2spk"][utt] = spk.spk
                maps["utt2emo"][utt] = emotion
                maps["utt2va"][utt] = f"{valence:.3f} {arousal:.3f}"
                maps["utt2lang"][utt] = spk.lang.code
                maps["utt2corpus"][utt] = CORPUS
        logger.info("%s: %d utterances at %d Hz, %d channel(s)", spk.spk, utts_per_class * len(CLASSES),
                    spk.rate, spk.channels)
    maps["spk2utt"] = spk2utt_from_utt2spk(maps["utt2spk"])

    # Data-directory files last, utt2spk and spk2utt at the very end: a killed run leaves no
    # directory that validates.
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        if name not in ("utt2spk", "spk2utt"):
            write_map(data_dir / name, maps[name])
    write_map(data_dir / "utt2spk", maps["utt2spk"])
    write_map(data_dir / "spk2utt", maps["spk2utt"])
    return maps


def print_counts(maps: dict[str, dict[str, str]], out=None) -> None:
    out = out or sys.stdout
    per_class = Counter(maps["utt2emo"].values())
    per_spk = Counter(maps["utt2spk"].values())
    print(f"{len(maps['utt2spk'])} utterances, {len(per_spk)} speakers, {len(per_class)} classes", file=out)
    print("per class:", file=out)
    for emotion in CLASSES:
        print(f"  {emotion:<10} {per_class[emotion]}", file=out)
    print("per speaker:", file=out)
    for spk in sorted(per_spk):
        print(f"  {spk:<14} {per_spk[spk]}  ({maps['spk2gender'][spk]})", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speakers-per-language", type=int, default=4)
    parser.add_argument("--utts-per-class", type=int, default=12)
    parser.add_argument("corpus_dir", help="where the wav files go")
    parser.add_argument("data_dir", help="the Kaldi data directory to write")
    args = parser.parse_args(argv)
    setup_logging()
    if args.speakers_per_language < 1 or args.utts_per_class < 1 or args.seed < 0:
        parser.error("--speakers-per-language and --utts-per-class must be at least 1, --seed at least 0")
    maps = make_mini_corpus(args.corpus_dir, args.data_dir, seed=args.seed,
                            speakers_per_language=args.speakers_per_language,
                            utts_per_class=args.utts_per_class)
    print_counts(maps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
