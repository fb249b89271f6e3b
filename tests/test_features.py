"""Stage 1, features: audio reading, Kaldi-compatible fbank/MFCC, the make_feats job and stage."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from torchaudio.compliance import kaldi

from conftest import EMODB, REPO, run_sh, write_lines
from emogcn.bin import make_feats as make_feats_bin
from emogcn.features.make_feats import make_feats
from emogcn.config import ConfigError
from emogcn.data.datadir import read_map, spk2utt_from_utt2spk, write_map
from emogcn.data.labels import corpus_label_map
from emogcn.features import AudioError, FeatureConfig, FeatureExtractor, load_feature_config, read_audio, resample


def _tone(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A chirp with noise and a silent stretch (exercises the log floor), in [-1, 1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.4 * np.sin(2 * np.pi * (200 + 800 * t) * t) + 0.05 * rng.standard_normal(t.shape)
    x[len(x) // 3: len(x) // 3 + rate // 20] = 0.0
    return x.astype(np.float32)


def _write_wav(path: Path, x: np.ndarray, rate: int, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, rate, subtype=kw.pop("subtype", "PCM_16"), **kw)
    return path


def _kaldi_fbank(x: np.ndarray, **opts) -> np.ndarray:
    return kaldi.fbank(torch.from_numpy(x)[None] * 32768.0, **opts).numpy()


# ---------------------------------------------------------------------------------------------
# Feature values


def test_default_fbank_equals_torchaudio_kaldi_fbank():
    cfg = load_feature_config(REPO / "conf" / "fbank.yaml")
    x = _tone(16000, 1.3)
    feats = FeatureExtractor(cfg)(x)
    ref = _kaldi_fbank(x, num_mel_bins=80, frame_length=25.0, frame_shift=10.0, dither=0.0,
                       sample_frequency=16000.0)
    assert feats.dtype == np.float32
    assert feats.shape == ref.shape == (cfg.num_frames(len(x)), 80)
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("window_type,snip_edges,use_energy,raw_energy,use_power,round_pow2,preemph",
                         list(itertools.product(["povey", "hamming", "blackman"], [True, False], [False, True],
                                                [True, False], [True, False], [True, False], [0.97, 0.0]))[::5])
def test_fbank_options_equal_torchaudio(window_type, snip_edges, use_energy, raw_energy, use_power, round_pow2,
                                        preemph):
    cfg = FeatureConfig(num_mel_bins=40, window_type=window_type, snip_edges=snip_edges, use_energy=use_energy,
                        raw_energy=raw_energy, use_power=use_power, round_to_power_of_two=round_pow2,
                        preemphasis=preemph, low_freq=60.0, high_freq=-400.0)
    x = _tone(16000, 0.5, seed=3)
    ref = _kaldi_fbank(x, **cfg.kaldi_options())
    feats = FeatureExtractor(cfg)(x)
    assert feats.shape == ref.shape == (cfg.num_frames(len(x)), cfg.dim)
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-4)


def test_mfcc_option_equals_torchaudio_kaldi_mfcc():
    cfg = load_feature_config(REPO / "conf" / "mfcc.yaml")
    x = _tone(16000, 0.8)
    feats = FeatureExtractor(cfg)(x)
    ref = kaldi.mfcc(torch.from_numpy(x)[None] * 32768.0, num_ceps=13, num_mel_bins=23, dither=0.0,
                     use_energy=False).numpy()
    assert feats.shape == ref.shape == (cfg.num_frames(len(x)), 13) and cfg.dim == 13
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-4)


def test_feature_config_is_strict_and_checked(tmp_path):
    assert load_feature_config(REPO / "conf" / "fbank.yaml").dim == 80
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: fbank\nnum_mel_bin: 40\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key\(s\) num_mel_bin"):
        load_feature_config(bad)
    bad.write_text("type: plp\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: feature config: type 'plp'"):
        load_feature_config(bad)
    bad.write_text("type: mfcc\nnum_mel_bins: 23\nnum_ceps: 30\n")
    with pytest.raises(ConfigError, match="num_ceps"):
        load_feature_config(bad)


# ---------------------------------------------------------------------------------------------
# Reading audio


@pytest.mark.parametrize("rate", [22050, 8000, 44100])
def test_resampling_to_16k(tmp_path, rate):
    x = _tone(rate, 1.0)
    path = _write_wav(tmp_path / f"r{rate}.wav", x, rate, subtype="FLOAT")
    wave = read_audio(str(path), 16000)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == math.ceil(16000 * len(x) / rate) == 16000
    ref = AF.resample(torch.from_numpy(x), rate, 16000).numpy()
    np.testing.assert_allclose(wave, ref, atol=1e-5)
    cfg = FeatureConfig()
    feats = FeatureExtractor(cfg)(wave)
    # One second at 16 kHz, 25 ms frames every 10 ms: 1 + (16000 - 400) // 160 = 98 frames.
    assert feats.shape == (98, 80)


def test_resample_matches_torchaudio_on_odd_lengths():
    rng = np.random.default_rng(0)
    for orig, new in [(22050, 16000), (11025, 16000), (48000, 16000), (16000, 8000), (24000, 16000)]:
        for length in (1, 7, 441, 1000, 4321):
            x = rng.uniform(-1, 1, length).astype(np.float32)
            ref = AF.resample(torch.from_numpy(x), orig, new).numpy()
            out = resample(x, orig, new)
            assert out.shape == ref.shape, (orig, new, length)
            np.testing.assert_allclose(out, ref, atol=1e-4)  # float32 rounding of the sums


def test_stereo_is_mixed_down_to_mono(tmp_path):
    left = _tone(16000, 0.5, seed=1)
    right = -0.5 * _tone(16000, 0.5, seed=2)
    path = _write_wav(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(str(path), 16000), (left + right) / 2, atol=1e-7)


def test_aiff_data_under_a_wav_name_is_read(tmp_path):
    x = _tone(16000, 0.3)
    path = _write_wav(tmp_path / "really_aiff.wav", x, 16000, format="AIFF")
    np.testing.assert_allclose(read_audio(str(path), 16000), x, atol=1 / 32768)


def test_pipe_entry_reads_command_output(tmp_path):
    x = _tone(16000, 0.4)
    path = _write_wav(tmp_path / "a.wav", x, 16000)
    np.testing.assert_array_equal(read_audio(f"cat {path} |", 16000), read_audio(str(path), 16000))


def test_failing_pipe_names_the_command(tmp_path):
    with pytest.raises(AudioError, match=r"command 'cat /nonexistent/x.wav': exited with status 1: .*No such file"):
        read_audio("cat /nonexistent/x.wav |", 16000)
    with pytest.raises(AudioError, match="wrote no audio"):
        read_audio("true |", 16000)


def test_unusable_audio_raises_audio_error_naming_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(AudioError, match=f"{corrupt}: cannot read audio"):
        read_audio(str(corrupt), 16000)
    empty = _write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=f"{empty}: no samples"):
        read_audio(str(empty), 16000)
    short = _write_wav(tmp_path / "short.wav", np.full(300, 0.1, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=f"{short}: too short: 300 samples"):
        read_audio(str(short), 16000, min_samples=FeatureConfig().min_samples)
    with pytest.raises(AudioError, match="file not found"):
        read_audio(str(tmp_path / "missing.wav"), 16000)


# ---------------------------------------------------------------------------------------------
# The job (emogcn.bin.make_feats) and the stage (steps/make_feats.sh)


def _small_data_dir(root: Path, bad: bool) -> Path:
    """Two speakers, five good utterances each at assorted rates; with `bad`, a corrupt and an
    empty wav for speaker spkB (2 of 12 utterances)."""
    data = root / "data" / "small"
    wavs = root / "wavs"
    wav_scp, utt2spk = {}, {}
    for i, rate in enumerate([16000, 22050, 8000, 44100, 16000] * 2):
        spk = "spkA" if i < 5 else "spkB"
        utt = f"{spk}-u{i:02d}"
        wav_scp[utt] = str(_write_wav(wavs / f"{utt}.wav", _tone(rate, 0.5 + 0.1 * i, seed=i), rate))
        utt2spk[utt] = spk
    if bad:
        (wavs / "corrupt.wav").write_bytes(b"this is not audio at all" * 10)
        _write_wav(wavs / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
        wav_scp["spkB-x01"] = str(wavs / "corrupt.wav")
        wav_scp["spkB-x02"] = str(wavs / "empty.wav")
        utt2spk["spkB-x01"] = utt2spk["spkB-x02"] = "spkB"
    data.mkdir(parents=True)
    write_map(data / "wav.scp", wav_scp)
    write_map(data / "utt2spk", utt2spk)
    write_map(data / "utt2emo", {u: "neutral" for u in utt2spk})
    write_map(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    return data


def test_make_feats_job_writes_ark_scp_round_trip(tmp_path):
    data = _small_data_dir(tmp_path, bad=False)
    base = tmp_path / "feats" / "job.1"
    assert make_feats_bin.main(["--config", str(REPO / "conf" / "fbank.yaml"), str(data), str(base)]) == 0
    scp = read_map(f"{base}.scp")
    assert list(scp) == sorted(read_map(data / "wav.scp"))
    assert all(v.startswith(f"{base.resolve()}.ark:") for v in scp.values())  # absolute path of the final ark
    frames = read_map(f"{base}.utt2num_frames")
    durs = read_map(f"{base}.utt2dur")
    assert Path(f"{base}.failed").read_text() == ""
    cfg = load_feature_config(REPO / "conf" / "fbank.yaml")
    for utt, mat in kaldiio.load_scp(f"{base}.scp").items():
        wave = read_audio(read_map(data / "wav.scp")[utt], 16000)
        np.testing.assert_array_equal(mat, FeatureExtractor(cfg)(wave))
        assert mat.shape == (int(frames[utt]), 80)
        assert abs(float(durs[utt]) - len(wave) / 16000) < 1e-3
    assert not list(base.parent.glob(".*tmp"))


def test_make_feats_job_killed_midway_leaves_nothing_final(tmp_path):
    data = _small_data_dir(tmp_path, bad=False)
    wav_scp = read_map(data / "wav.scp")

    class Interrupting(dict):
        def items(self):
            for i, item in enumerate(super().items()):
                if i == 3:
                    raise KeyboardInterrupt
                yield item

    base = tmp_path / "feats" / "job.1"
    with pytest.raises(KeyboardInterrupt):
        make_feats(Interrupting(wav_scp), FeatureConfig(), base)
    assert list(base.parent.iterdir()) == []


def test_make_feats_stage_usage_message(recipe_dir):
    p = run_sh("steps/make_feats.sh data/x exp/x", recipe_dir, check=False)
    assert p.returncode != 0 and "Usage: steps/make_feats.sh [options] <data-dir> <log-dir> <feat-dir>" in p.stderr


def test_make_feats_stage_counts_failures_and_applies_threshold(recipe_dir):
    data = _small_data_dir(recipe_dir, bad=True)
    # 2 of 12 fail: over the default 0.1, so the stage fails and leaves no feats.scp.
    p = run_sh("steps/make_feats.sh --nj 1 data/small exp/make_feats fbank", recipe_dir, check=False)
    assert p.returncode != 0
    assert ("error: 2 of 12 utterances (fraction 0.167) failed feature extraction, more than "
            "--max-fail-fraction 0.1") in p.stderr
    assert not (data / "feats.scp").exists()
    failed = read_map(recipe_dir / "exp" / "make_feats" / "failed.txt")
    assert set(failed) == {"spkB-x01", "spkB-x02"}
    assert "corrupt.wav: cannot read audio" in failed["spkB-x01"]
    assert "empty.wav: no samples" in failed["spkB-x02"]

    # Under a looser threshold the stage succeeds and drops the two from the data directory.
    p = run_sh("steps/make_feats.sh --nj 2 --max-fail-fraction 0.2 --config conf/fbank.yaml "
               "data/small exp/make_feats fbank", recipe_dir)
    assert "2 of 12 utterances failed" in p.stderr and "spkB-x01" in p.stderr
    assert "dropping the 2 utterances without features" in p.stderr
    feats = read_map(data / "feats.scp")
    assert sorted(feats) == sorted(read_map(data / "utt2spk")) and len(feats) == 10
    assert "spkB-x01" not in read_map(data / "wav.scp")
    assert sorted(read_map(data / "utt2num_frames")) == sorted(feats)
    assert all(v.startswith(str(recipe_dir / "fbank") + "/") for v in feats.values())
    assert (data / "conf" / "feats.yaml").read_text() == (REPO / "conf" / "fbank.yaml").read_text()
    assert len(list((recipe_dir / "exp" / "make_feats").glob("make_feats.*.log"))) == 2
    run_sh("utils/validate_data_dir.sh --need-feats data/small", recipe_dir)


def _emodb_data_dir(wav_dir: Path, data: Path) -> int:
    """EmoDB: speaker = first two digits of the file name, emotion letter at position 6."""
    label_map = corpus_label_map(REPO / "conf" / "emotions.yaml", "emodb")
    wav_scp, utt2spk, utt2emo = {}, {}, {}
    for path in sorted(wav_dir.glob("*.wav")):
        spk = f"emodb-{path.stem[:2]}"
        utt = f"{spk}-{path.stem[2:]}"
        wav_scp[utt], utt2spk[utt], utt2emo[utt] = str(path), spk, label_map[path.stem[5]]
    data.mkdir(parents=True)
    write_map(data / "wav.scp", wav_scp)
    write_map(data / "utt2spk", utt2spk)
    write_map(data / "utt2emo", utt2emo)
    write_map(data / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    return len(wav_scp)


@pytest.mark.corpus  # ../shared/corpora
def test_make_feats_stage_on_real_emodb(recipe_dir):
    if not (EMODB / "wav").is_dir():
        pytest.fail(f"EmoDB not found at {EMODB}: the real-speech tests need ../shared/corpora/emodb")
    assert _emodb_data_dir(EMODB / "wav", recipe_dir / "data" / "emodb") == 535
    run_sh("steps/make_feats.sh --nj 2 data/emodb exp/make_feats/emodb fbank", recipe_dir)
    data = recipe_dir / "data" / "emodb"
    feats = read_map(data / "feats.scp")
    assert len(feats) == 535
    frames = {u: int(n) for u, n in read_map(data / "utt2num_frames").items()}
    # 2.00 s at 22.05 kHz -> 32000 samples at 16 kHz -> 1 + (32000 - 400) // 160 = 198 frames.
    assert set(frames.values()) == {198}
    assert set(read_map(data / "utt2dur").values()) == {"2.0000"}
    reader = kaldiio.load_scp(str(data / "feats.scp"))
    for utt in list(feats)[::107]:
        mat = reader[utt]
        assert mat.shape == (198, 80) and mat.dtype == np.float32 and np.isfinite(mat).all()
    assert (recipe_dir / "exp" / "make_feats" / "emodb" / "failed.txt").read_text() == ""
    write_lines(recipe_dir / "check.txt", [])  # the recipe dir stays writable after the run
