"""Stage-1 front-ends other than fbank: openSMILE functionals and frozen torchaudio SSL upstreams.

SSL tests build small randomly initialised wav2vec 2.0 / WavLM models (no download); the bundle
path is exercised with a stand-in bundle object in torchaudio.pipelines.
"""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
import yaml

from conftest import EMODB, write_lines
from emogcn.bin import make_feats as make_feats_bin
from emogcn.features.make_feats import make_feats
from emogcn.config import ConfigError
from emogcn.features.frontends import load_frontend_config, make_extractor
from emogcn.features.ssl import SslConfig, SslExtractor, load_upstream

TINY_WAV2VEC2 = {
    "extractor_mode": "group_norm",
    "extractor_conv_layer_config": [[16, 10, 5], [16, 3, 2], [16, 3, 2], [16, 3, 2], [16, 3, 2], [16, 2, 2], [16, 2, 2]],
    "extractor_conv_bias": False,
    "encoder_embed_dim": 24,
    "encoder_projection_dropout": 0.0,
    "encoder_pos_conv_kernel": 16,
    "encoder_pos_conv_groups": 4,
    "encoder_num_layers": 3,
    "encoder_num_heads": 2,
    "encoder_attention_dropout": 0.0,
    "encoder_ff_interm_features": 32,
    "encoder_ff_interm_dropout": 0.0,
    "encoder_dropout": 0.0,
    "encoder_layer_norm_first": False,
    "encoder_layer_drop": 0.0,
    "aux_num_out": None,
}
TINY_WAVLM = {**TINY_WAV2VEC2, "encoder_num_buckets": 16, "encoder_max_distance": 50,
              "extractor_mode": "layer_norm", "encoder_layer_norm_first": True}


def _write_yaml(path: Path, values: dict) -> Path:
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def _speech(seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A voiced-like signal: a 150 Hz harmonic series with a moving pitch and some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 150 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    return (0.2 * x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


# ---- openSMILE functionals ----

@pytest.mark.parametrize("config, dim", [("conf/egemaps.yaml", 88), ("conf/compare.yaml", 6373)])
def test_opensmile_functionals_are_one_row_per_utterance(config, dim):
    extract = make_extractor(load_frontend_config(config))
    a, b = extract(_speech(1.0, seed=1)), extract(_speech(1.5, seed=2))
    assert extract.dim == dim and a.shape == b.shape == (1, dim) and a.dtype == np.float32
    assert np.isfinite(a).all() and not np.allclose(a, b)


def test_opensmile_lld_gives_frames_every_10_ms(tmp_path):
    cfg = load_frontend_config(_write_yaml(tmp_path / "lld.yaml", {"type": "opensmile", "feature_set": "eGeMAPSv02",
                                                                   "feature_level": "lld"}))
    feats = make_extractor(cfg)(_speech(1.0))
    assert feats.shape[1] == 25 and 90 <= feats.shape[0] <= 100


@pytest.mark.corpus  # ../shared/corpora
def test_opensmile_through_make_feats_on_real_speech_drops_short_audio(tmp_path):
    wavs = sorted((EMODB / "wav").glob("*.wav"))[:3]
    assert len(wavs) == 3, f"EmoDB not found at {EMODB}"
    sf.write(tmp_path / "short.wav", _speech(0.05), 16000)
    write_lines(tmp_path / "wav.scp", [f"{w.stem} {w}" for w in wavs] + [f"short {tmp_path / 'short.wav'}"])
    base = tmp_path / "out"
    assert make_feats_bin.main(["--config", "conf/egemaps.yaml", str(tmp_path), str(base)]) == 0
    feats = dict(kaldiio.load_scp(f"{base}.scp"))
    assert sorted(feats) == sorted(w.stem for w in wavs)
    assert all(m.shape == (1, 88) for m in feats.values())
    failed = Path(f"{base}.failed").read_text()
    assert failed.startswith("short ") and "too short" in failed


def test_opensmile_bad_feature_set_names_the_file(tmp_path):
    path = _write_yaml(tmp_path / "bad.yaml", {"type": "opensmile", "feature_set": "GeMAPS_2099"})
    with pytest.raises(ConfigError, match=r"bad.yaml: feature_set 'GeMAPS_2099' is not one of"):
        load_frontend_config(path)


def test_unknown_frontend_type_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"type 'spectrogram' is not one of fbank, mfcc, opensmile, ssl, face"):
        load_frontend_config(_write_yaml(tmp_path / "x.yaml", {"type": "spectrogram"}))


# ---- SSL upstreams ----

def _tiny_config(tmp_path: Path, **values) -> SslConfig:
    # the CPU, whatever the machine: tests compare with the model called directly on CPU tensors
    base = {"type": "ssl", "model": "wav2vec2_model", "model_options": TINY_WAV2VEC2, "weights": "none",
            "device": "cpu"}
    return load_frontend_config(_write_yaml(tmp_path / "ssl.yaml", {**base, **values}))


def test_ssl_layers_side_by_side_at_50_frames_a_second(tmp_path):
    torch.manual_seed(0)
    extract = make_extractor(_tiny_config(tmp_path))
    feats = extract(_speech(1.0))
    assert extract.num_layers == 3 and extract.dim == 3 * 24
    assert feats.shape == (49, 72) and feats.dtype == np.float32  # 16000 samples -> 49 frames of 20 ms
    # each block is that layer's hidden state
    with torch.inference_mode():
        hidden, _ = extract.model.extract_features(torch.from_numpy(_speech(1.0))[None])
    for k in range(3):
        np.testing.assert_allclose(feats[:, 24 * k:24 * (k + 1)], hidden[k][0].numpy(), rtol=1e-5, atol=1e-5)


def test_ssl_layer_subset_is_a_slice_of_all_layers(tmp_path):
    torch.manual_seed(0)
    every = SslExtractor(_tiny_config(tmp_path))
    some = SslExtractor(_tiny_config(tmp_path, layers=[3, 1]), model=every.model)
    x = _speech(0.7)
    full, part = every(x), some(x)
    assert part.shape[1] == 48
    np.testing.assert_allclose(part, np.concatenate([full[:, 48:72], full[:, 0:24]], axis=1), rtol=1e-5, atol=1e-5)


def test_ssl_wavlm_and_waveform_normalisation(tmp_path):
    torch.manual_seed(0)
    cfg = _tiny_config(tmp_path, model="wavlm_model", model_options=TINY_WAVLM, normalize_waveform=True)
    extract = make_extractor(cfg)
    x = _speech(0.5)
    # layer-normalising the waveform makes the features independent of its gain
    np.testing.assert_allclose(extract(x), extract(3 * x), rtol=1e-4, atol=1e-4)
    assert extract(x).shape == (24, 72)


def test_ssl_weights_from_a_local_state_dict(tmp_path):
    torch.manual_seed(1)
    model = torchaudio.models.wav2vec2_model(**TINY_WAV2VEC2)
    torch.save(model.state_dict(), tmp_path / "tiny.pth")
    extract = make_extractor(_tiny_config(tmp_path, weights=str(tmp_path / "tiny.pth")))
    x = _speech(0.5)
    with torch.inference_mode():
        expected = model.eval().extract_features(torch.from_numpy(x)[None])[0][1][0].numpy()
    np.testing.assert_allclose(extract(x)[:, 24:48], expected, rtol=1e-5, atol=1e-5)


def test_ssl_weights_that_do_not_fit_the_model_are_refused(tmp_path):
    other = torchaudio.models.wav2vec2_model(**{**TINY_WAV2VEC2, "encoder_embed_dim": 32})
    torch.save(other.state_dict(), tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="do not fit wav2vec2_model"):
        make_extractor(_tiny_config(tmp_path, weights=str(tmp_path / "other.pth")))
    with pytest.raises(ConfigError, match="file not found"):
        make_extractor(_tiny_config(tmp_path, weights=str(tmp_path / "missing.pth")))


def test_ssl_bundle_weights_come_from_torchaudio_pipelines(tmp_path, monkeypatch):
    torch.manual_seed(2)
    model = torchaudio.models.wav2vec2_model(**TINY_WAV2VEC2)

    class StandInBundle:  # what torchaudio.pipelines.HUBERT_BASE offers, without the download
        sample_rate = 16000.0

        def get_model(self):
            return model

    monkeypatch.setattr(torchaudio.pipelines, "HUBERT_BASE", StandInBundle())
    cfg = SslConfig(weights="bundle:HUBERT_BASE")
    assert load_upstream(cfg) is model
    with pytest.raises(ConfigError, match="has no wav2vec2-style bundle NOT_A_BUNDLE"):
        load_upstream(SslConfig(weights="bundle:NOT_A_BUNDLE"))
    with pytest.raises(ConfigError, match="expects 16000 Hz audio, sample_rate is 8000"):
        load_upstream(SslConfig(weights="bundle:HUBERT_BASE", sample_rate=8000))


@pytest.mark.parametrize("values, message", [
    ({"weights": ""}, "weights must be bundle:<NAME>"),
    ({"model": "hubert_base", "weights": "bundle:HUBERT_BASE"}, "the bundle fixes the architecture"),
    ({"model": "conformer", "weights": "none"}, "is not a torchaudio builder"),
    ({"model": "hubert_base", "weights": "none", "layers": [0, 2]}, "1-based layer numbers"),
    ({"model": "hubert_base", "weights": "none", "layers": [2, 2]}, "lists a layer twice"),
    ({"model": "hubert_base", "weights": "none", "dtype": "bfloat16"}, "dtype 'bfloat16' is not one of float32"),
    ({"model": "hubert_base", "weights": "none", "batch_size": 0}, "batch_size must be >= 1"),
    ({"model": "hubert_base", "weights": "none", "device": "gpu"}, "device 'gpu' is not auto, cpu, cuda"),
])
def test_ssl_config_errors(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        load_frontend_config(_write_yaml(tmp_path / "ssl.yaml", {"type": "ssl", **values}))


def test_ssl_layer_beyond_the_model_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="the model has 3 transformer layers"):
        make_extractor(_tiny_config(tmp_path, layers=[4]))


TINY_WAV2VEC2_LAYER_NORM = {**TINY_WAV2VEC2, "extractor_mode": "layer_norm"}


@pytest.mark.parametrize("model, options, normalize", [
    ("wav2vec2_model", TINY_WAV2VEC2, False),  # GroupNorm over time after the first convolution
    ("wav2vec2_model", TINY_WAV2VEC2_LAYER_NORM, True),  # the whole stack runs batched
    ("wavlm_model", TINY_WAVLM, False),  # relative position bias, padding as a key mask
])
def test_ssl_batches_give_what_one_utterance_at_a_time_gives(tmp_path, model, options, normalize):
    torch.manual_seed(0)
    extract = make_extractor(_tiny_config(tmp_path, model=model, model_options=options, batch_size=5,
                                          normalize_waveform=normalize))
    waves = [_speech(seconds, seed=k) for k, seconds in enumerate([0.5, 1.3, 0.04, 0.9, 0.7])]
    batched = extract.extract_batch(waves)
    assert len(batched) == 5
    for wave, got in zip(waves, batched):
        alone = extract(wave)
        assert got.shape == alone.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, alone, rtol=1e-4, atol=1e-4)


def test_ssl_through_make_feats_in_batches_and_as_float16(tmp_path):
    torch.manual_seed(0)
    inputs = {}
    for k, seconds in enumerate([0.6, 1.1, 0.3, 0.01, 0.8, 0.45]):  # 0.01 s: shorter than one frame
        utt = f"u{k}"
        sf.write(tmp_path / f"{utt}.wav", _speech(seconds, seed=k), 16000)
        inputs[utt] = str(tmp_path / f"{utt}.wav")
    single = SslExtractor(_tiny_config(tmp_path))
    cfg16 = _tiny_config(tmp_path, batch_size=4, dtype="float16")
    batched16 = SslExtractor(cfg16, model=single.model)
    make_feats(inputs, single.cfg, tmp_path / "f32", extractor=single)
    summary = make_feats(inputs, cfg16, tmp_path / "f16", extractor=batched16)
    assert summary.done == 5 and summary.failed == 1
    for base in ("f32", "f16"):
        assert Path(tmp_path / f"{base}.failed").read_text().startswith("u3 ")
    full, half = dict(kaldiio.load_scp(str(tmp_path / "f32.scp"))), dict(kaldiio.load_scp(str(tmp_path / "f16.scp")))
    assert sorted(full) == sorted(half) == ["u0", "u1", "u2", "u4", "u5"]
    for utt in full:
        assert full[utt].dtype == np.float32 and half[utt].dtype == np.float16 and half[utt].shape == full[utt].shape
        # float16 keeps 11 significant bits: within one unit in the last place of the float32 values
        np.testing.assert_allclose(half[utt].astype(np.float32), full[utt], rtol=2 ** -10, atol=1e-5)
    ratio = (tmp_path / "f16.ark").stat().st_size / (tmp_path / "f32.ark").stat().st_size
    assert 0.45 < ratio < 0.56, ratio
    assert (tmp_path / "f16.utt2num_frames").read_text() == (tmp_path / "f32.utt2num_frames").read_text()


def test_ssl_float16_out_of_range_is_an_error_not_inf(tmp_path):
    extract = make_extractor(_tiny_config(tmp_path, dtype="float16"))
    assert extract(_speech(0.3)).dtype == np.float16
    with pytest.raises(ValueError, match="beyond float16's range: store them with dtype: float32"):
        extract._stored(np.array([[1.0, 7e4]], dtype=np.float32))


def test_ssl_device_cuda_without_cuda_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device 'cuda': CUDA is not available"):
        make_extractor(_tiny_config(tmp_path, device="cuda"))
    assert make_extractor(_tiny_config(tmp_path, device="auto")).device == torch.device("cpu")


def test_shipped_ssl_configs_name_real_bundles():
    for name in ("ssl_wav2vec2_base", "ssl_hubert_base", "ssl_wavlm_base_plus"):
        cfg = load_frontend_config(f"conf/{name}.yaml")
        bundle = getattr(torchaudio.pipelines, cfg.weights.split(":", 1)[1])
        assert hasattr(bundle, "get_model") and int(bundle.sample_rate) == cfg.sample_rate


def test_opensmile_missing_package_is_one_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "opensmile", None)  # what an install without the extra looks like
    with pytest.raises(ConfigError, match=r"need the opensmile package: pip install 'emogcn\[opensmile\]'"):
        make_extractor(load_frontend_config("conf/egemaps.yaml"))
