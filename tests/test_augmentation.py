"""Noise and reverberation generated for augmentation (emogcn/features/corrupt.py), the corrupted
copies of a data directory (emogcn.bin.perturb_data_dir), and the tokens the recipes take."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import soundfile as sf

from conftest import make_data_dir, run_sh
from emogcn.data import datadir as dd
from emogcn.features.copy_pipes import copy_pipe, parse_copy_pipe
from emogcn.features.corrupt import add_noise, coloured_noise, reverberate, simulated_rir


def _tone(seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[:, None]


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_noise_is_added_at_the_asked_snr_and_repeats_with_the_seed(snr):
    x = _tone()
    y = add_noise(x, snr, np.random.default_rng(7))
    measured = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
    assert abs(measured - snr) < 0.01 and y.shape == x.shape
    assert np.array_equal(y, add_noise(x, snr, np.random.default_rng(7)))
    assert not np.array_equal(y, add_noise(x, snr, np.random.default_rng(8)))


def test_coloured_noise_tilts_its_spectrum_with_the_slope():
    rng = np.random.default_rng(0)
    def low_share(slope):  # power below 1/8 of the band
        p = np.abs(np.fft.rfft(coloured_noise(1 << 14, slope, rng))) ** 2
        return p[: len(p) // 8].sum() / p.sum()
    assert abs(low_share(0.0) - 0.125) < 0.03 and low_share(1.0) > 0.5 and low_share(2.0) > low_share(1.0)


def test_the_room_response_decays_60_db_in_rt60():
    rate, rt60 = 16000, 0.5
    rir = simulated_rir(rate, rt60, np.random.default_rng(0))
    assert rir[0] == 1.0 and len(rir) == int(rt60 * rate)
    def level(t0, t1):
        return 10 * np.log10(np.mean(rir[int(t0 * rate):int(t1 * rate)] ** 2))
    assert abs((level(0.05, 0.1) - level(0.25, 0.3)) - 60 * 0.2 / rt60) < 3  # 24 dB over 0.2 s


def test_reverberation_keeps_length_and_level_and_smears_the_signal():
    x = np.zeros((16000, 1), np.float32)
    x[4000:4400] = _tone(0.025)  # a 25 ms burst
    y = reverberate(x, 16000, 0.6, np.random.default_rng(1))
    assert y.shape == x.shape and abs(np.sqrt(np.mean(y ** 2)) - np.sqrt(np.mean(x ** 2))) < 1e-4
    assert np.abs(y[6000:8000]).max() > 0.01  # 100-250 ms after the burst: its reverberant tail
    assert np.abs(y[:3900]).max() < 1e-3  # nothing before it


def test_tokens_of_the_recipes(recipe_dir):
    assert dd.perturbation_of("0.9") == ("speed", 0.9)
    assert dd.perturbation_of("noise10") == ("noise", 10.0)
    assert dd.perturbation_of("reverb0.5") == ("reverb", 0.5)
    with pytest.raises(ValueError, match="'hiss3': expected a speed factor"):
        dd.perturbation_of("hiss3")
    with pytest.raises(ValueError, match="'0.9': expected noise<SNR dB>"):
        dd.perturbation_of("0.9", ("noise", "reverb"))
    with pytest.raises(ValueError, match=r"'reverb5': RT60 \(s\) 5.0 outside"):
        dd.perturbation_of("reverb5")
    # the names the recipes give their copies (data/all_<name>), and the prefix of the copies' ids
    p = run_sh("python -m emogcn.bin.perturb_data_dir names --speed-perturb '0.90 1.1' --augment 'noise10 reverb0.5'",
               recipe_dir)
    assert p.stdout.split("\n")[:4] == ["0.90 sp0.9", "1.1 sp1.1", "noise10 noise10", "reverb0.5 reverb0.5"]
    p = run_sh("python -m emogcn.bin.perturb_data_dir names --speed-perturb noise10", recipe_dir, check=False)
    assert p.returncode == 1 and "--speed-perturb 'noise10': expected a speed factor (0.9)" in p.stderr


def test_a_corrupted_copy_is_read_by_stage_1_and_made_again_the_same(recipe_dir):
    data = make_data_dir(recipe_dir / "data/train", {"c-s1": 2, "c-s2": 1})
    wavs = {}
    for i, utt in enumerate(dd.read_map(data / "utt2spk")):
        path = recipe_dir / f"{utt}.wav"
        sf.write(path, _tone(1.0)[:, 0] * (i + 1) / 3, 16000)
        wavs[utt] = str(path)
    dd.write_map(data / "wav.scp", wavs)
    dd.write_map(data / "utt2dur", {u: "1.0" for u in wavs})
    for kind, value in (("noise", "10"), ("reverb", "0.3")):
        run_sh(f"python -m emogcn.bin.perturb_data_dir copy {kind}{value} data/train data/train_{kind}", recipe_dir)
    copy = recipe_dir / "data/train_noise"
    assert dd.validate_data_dir(copy) == 3
    # a training set with its copies, and back to the audio as recorded (the classic baseline's)
    run_sh("utils/combine_data.sh data/train_sp data/train data/train_noise data/train_reverb", recipe_dir)
    run_sh("python -m emogcn.bin.perturb_data_dir unperturbed data/train_sp data/train_unperturbed", recipe_dir)
    assert dd.read_map(recipe_dir / "data/train_unperturbed/utt2spk") == dd.read_map(data / "utt2spk")
    assert dd.read_map(copy / "utt2spk")["noise10-c-s1-u000"] == "noise10-c-s1"
    assert dd.read_map(copy / "utt2emo")["noise10-c-s1-u000"] == dd.read_map(data / "utt2emo")["c-s1-u000"]
    assert dd.read_map(copy / "utt2dur")["noise10-c-s1-u000"] == "1.0000"  # same length, unlike speed
    # each utterance's pipe has its own seed, the same every time: the same samples (not the same
    # bytes: libsndfile stamps a float WAV's PEAK chunk with the time of writing)
    pipe = dd.read_map(recipe_dir / "data/train_reverb/wav.scp")["reverb0.3-c-s1-u000"]
    once, again = (sf.read(io.BytesIO(subprocess.run(pipe[:-1], shell=True, cwd=recipe_dir, check=True,
                                                     capture_output=True).stdout))[0] for _ in range(2))
    assert np.array_equal(once, again) and not np.allclose(once, sf.read(wavs["c-s1-u000"])[0])
    run_sh("steps/make_feats.sh --nj 1 data/train_reverb exp/log feats", recipe_dir)
    assert dd.validate_data_dir(recipe_dir / "data/train_reverb") == 3

    p = run_sh("python -m emogcn.bin.perturb_data_dir copy noise99 data/train data/x", recipe_dir, check=False)
    assert p.returncode == 1 and "'noise99': SNR (dB) 99.0 outside [-10.0, 60.0]" in p.stderr


def test_the_copies_pipes_run_in_the_reader_with_the_pipes_samples(recipe_dir, monkeypatch):
    """decode_audio computes a perturbed copy's pipe in its own process (no Python start-up per
    utterance) and gives exactly the samples the pipe writes; a copy of a copy nests; other commands
    and malformed ones still run in a shell."""
    from emogcn.features import audio

    path = recipe_dir / "tone.wav"
    sf.write(path, np.concatenate([_tone(0.7), 0.5 * _tone(0.7)], axis=1), 16000)  # stereo, as stored
    src = str(path)
    # the pipes as perturb_data_dir writes them (one template per kind, read back by the reader)
    specs = [copy_pipe("noise", 10, 123, src), copy_pipe("reverb", 0.3, 7, src),
             copy_pipe("speed", 0.9, 0, src)]
    specs.append(copy_pipe("noise", 5, 9, specs[2]))  # noise over speed
    assert [parse_copy_pipe(s[:-1])[:3] for s in specs] == [
        ("noise", 10.0, 123), ("reverb", 0.3, 7), ("speed", 0.9, None), ("noise", 5.0, 9)]
    assert parse_copy_pipe(specs[3][:-1])[3] == specs[2]
    piped = {}
    for spec in specs:
        out = subprocess.run(spec[:-1], shell=True, cwd=recipe_dir, check=True, capture_output=True).stdout
        piped[spec] = sf.read(io.BytesIO(out), dtype="float32", always_2d=True)
    ran = []
    monkeypatch.setattr(audio, "run_pipe", lambda command: ran.append(command) or b"")
    for spec in specs:
        samples, rate, where = audio.decode_audio(spec)
        assert rate == piped[spec][1] == 16000 and samples.dtype == np.float32
        assert np.array_equal(samples, piped[spec][0]), spec
        assert where == f"command '{spec[:-1].strip()}'"
    assert ran == []  # none went through a shell
    assert piped[specs[2]][0].shape[0] == round(0.7 * 16000 / 0.9)
    for other in (f"sox {src} -t wav - |", f"python -m emogcn.bin.corrupt_audio audio noise ten 1 {src} |"):
        with pytest.raises(Exception):
            audio.decode_audio(other)  # the fake shell wrote nothing
        assert ran[-1] == other[:-1].strip()
    with pytest.raises(audio.AudioError, match="missing.wav: file not found"):
        audio.decode_audio(f"python -m emogcn.bin.corrupt_audio audio noise 10 1 {recipe_dir}/missing.wav |")
