"""emogcn-predict and EmotionRecognizer on a packaged mini-corpus model: the recipe's own scoring
reproduced from raw audio, audio the recipe never saw in any format, rate and channel count,
bad input, input lists, normalisation policies, the Python API."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO, run_sh, speech_samples
from emogcn.features.audio import resample

PREDICT = "python -m emogcn.bin.predict"


def read_tsv(text: str) -> list[dict]:
    lines = text.strip("\n").split("\n")
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


@pytest.fixture(scope="module")
def new_audio(tmp_path_factory):
    """Utterances of speakers no recipe saw, written as soundfile writes them: several formats,
    rates, channel counts and lengths. Returns (folder, {name: (mono 16 kHz samples, file)})."""
    d = tmp_path_factory.mktemp("audio")
    waves = speech_samples(4)
    long_wave = np.concatenate([waves[1], waves[2], waves[3]])  # about 4 s
    cases = {
        "a_16k_mono.wav": (waves[0], 16000, 1, "WAV", "FLOAT"),
        "b_48k_stereo.flac": (waves[1], 48000, 2, "FLAC", "PCM_24"),
        "c_22k_mono.ogg": (waves[2], 22050, 1, "OGG", "VORBIS"),
        "d_8k_3ch.wav": (waves[3], 8000, 3, "WAV", "PCM_16"),
        "e_44k_long.wav": (long_wave, 44100, 1, "WAV", "PCM_16"),
    }
    files = {}
    for name, (wave, rate, channels, fmt, subtype) in cases.items():
        x = resample(wave, 16000, rate) if rate != 16000 else wave
        x = np.repeat(x[:, None], channels, axis=1) * np.linspace(1.0, 0.6, channels)[None]
        sf.write(d / name, x, rate, format=fmt, subtype=subtype)
        files[name] = (wave, d / name)
    (d / "notes.txt").write_text("not audio\n")
    return d, files


def test_reproduces_the_recipe_scoring_from_raw_audio(packaged_mini, tmp_path):
    """Per-speaker statistics from the inputs (--speaker-stats speaker) on the test set's wav.scp
    give the predictions of the recipe's own stage 5 (emogcn.bin.infer on stage-1 features)."""
    d, exp, pkg = packaged_mini
    test = d / "data" / "folds" / "fold1" / "test"
    run_sh(f"python -m emogcn.bin.infer {exp.relative_to(d)}/fold1 {test} {tmp_path}/infer", d)
    p = run_sh(f"{PREDICT} --model {pkg} --speaker-stats speaker --utt2spk {test}/utt2spk {test}/wav.scp", d)
    ours = {r["input"]: r for r in read_tsv(p.stdout)}
    theirs = read_tsv((tmp_path / "infer" / "predictions.tsv").read_text())
    assert len(theirs) == len(ours) == len((test / "utt2spk").read_text().splitlines()) > 10
    classes = (exp / "fold1" / "classes.txt").read_text().split()
    worst = 0.0
    for row in theirs:
        mine = ours[row["utt"]]
        assert mine["label"] == row["hypothesis"]
        for c in classes:
            worst = max(worst, abs(float(mine[f"p_{c}"]) - float(row[f"p_{c}"])))
        for dim in ("valence", "arousal"):
            worst = max(worst, abs(float(mine[dim]) - float(row[f"hyp_{dim}"])))
    assert worst < 2e-6


def test_any_format_rate_and_channel_count(packaged_mini, new_audio, tmp_path):
    """A folder of new files in wav/flac/ogg at 8-48 kHz with 1-3 channels: each predicted as stage
    1 would see it (features from steps/make_feats.sh of the same files, then emogcn.bin.infer)."""
    d, exp, pkg = packaged_mini
    folder, files = new_audio
    p = run_sh(f"{PREDICT} --model {pkg} --speaker-stats batch --no-progress {folder}", d)
    rows = read_tsv(p.stdout)
    assert [r["input"] for r in rows] == [str(files[n][1]) for n in sorted(files)]  # notes.txt skipped
    assert all(r["error"] == "-" for r in rows)
    classes = (exp / "fold1" / "classes.txt").read_text().split()
    for r in rows:
        assert abs(sum(float(r[f"p_{c}"]) for c in classes) - 1) < 1e-5
        assert r["label"] == max(classes, key=lambda c: float(r[f"p_{c}"]))
    assert float(rows[-1]["duration"]) > 3.5  # the long one
    # the same files through the recipe: a data directory, stage 1 features, its CMVN, stage 5
    data = tmp_path / "data"
    data.mkdir()
    utts = [f"new-{n.split('_')[0]}" for n in sorted(files)]
    (data / "wav.scp").write_text("".join(f"{u} {files[n][1]}\n" for u, n in zip(utts, sorted(files))))
    (data / "utt2spk").write_text("".join(f"{u} new\n" for u in utts))
    (data / "spk2utt").write_text("new " + " ".join(utts) + "\n")
    (data / "utt2emo").write_text("".join(f"{u} anger\n" for u in utts))
    run_sh(f"steps/make_feats.sh --nj 1 {data} {tmp_path}/log {tmp_path}/feats && "
           f"steps/compute_cmvn.sh {data} {tmp_path}/log {tmp_path}/cmvn && "
           f"python -m emogcn.bin.infer {exp.relative_to(d)}/fold1 {data} {tmp_path}/infer", d)
    theirs = {r["utt"]: r for r in read_tsv((tmp_path / "infer" / "predictions.tsv").read_text())}
    for u, r in zip(utts, rows):
        for c in classes:
            assert abs(float(r[f"p_{c}"]) - float(theirs[u][f"p_{c}"])) < 2e-6, (u, c)


def test_bad_inputs_get_error_rows_and_exit_status_2(packaged_mini, new_audio, tmp_path):
    d, _, pkg = packaged_mini
    good = new_audio[1]["a_16k_mono.wav"][1]
    (tmp_path / "garbage.wav").write_bytes(b"this is not audio at all" * 40)
    (tmp_path / "empty.wav").write_bytes(b"")
    sf.write(tmp_path / "no_samples.wav", np.zeros((0, 1), np.float32), 16000)
    sf.write(tmp_path / "short.wav", 0.3 * np.sin(np.arange(800) / 5.0), 16000)  # 50 ms
    sf.write(tmp_path / "zeros.wav", np.zeros(16000, np.float32), 16000)
    sf.write(tmp_path / "hiss.wav", 1e-5 * np.random.default_rng(0).standard_normal(16000), 16000, subtype="FLOAT")
    names = ["garbage.wav", "empty.wav", "no_samples.wav", "short.wav", "zeros.wav", "hiss.wav", "missing.wav"]
    args = " ".join(str(tmp_path / n) for n in names[:3]) + f" {good} " + " ".join(str(tmp_path / n) for n in names[3:])
    p = run_sh(f"{PREDICT} --model {pkg} --no-progress {args}", d, check=False)
    assert p.returncode == 2, p.stderr
    rows = {r["input"].rsplit("/", 1)[-1]: r for r in read_tsv(p.stdout)}
    assert len(rows) == 8
    expected = {"garbage.wav": "cannot read audio", "empty.wav": "cannot read audio",
                "no_samples.wav": "no samples (empty audio)", "short.wav": "too short: 0.050 s",
                "zeros.wav": "silent: every one of its 16000 samples is 0",
                "hiss.wav": "silent: peak level", "missing.wav": "file not found"}
    for name, reason in expected.items():
        assert reason in rows[name]["error"] and rows[name]["error"].startswith(str(tmp_path / name)), rows[name]
        assert rows[name]["label"] == "-"
    assert rows["a_16k_mono.wav"]["error"] == "-" and rows["a_16k_mono.wav"]["label"] != "-"
    assert "7 failed" in p.stderr
    # JSON lines carry the same
    p = run_sh(f"{PREDICT} --model {pkg} --json --no-progress {good} {tmp_path}/zeros.wav", d, check=False)
    assert p.returncode == 2
    first, second = (json.loads(line) for line in p.stdout.splitlines())
    assert first["error"] is None and set(first["probabilities"]) == set(first["probabilities"]) and first["label"]
    assert second["label"] is None and "silent" in second["error"]
    # every input good: 0; nothing to start with: 1
    assert run_sh(f"{PREDICT} --model {pkg} --no-progress {good}", d, check=False).returncode == 0
    p = run_sh(f"{PREDICT} --model {tmp_path} {good}", d, check=False)
    assert p.returncode == 1 and "not a model package" in p.stderr


def test_lists_on_stdin_and_scp_files(packaged_mini, new_audio, tmp_path):
    d, _, pkg = packaged_mini
    folder, files = new_audio
    a, b = files["a_16k_mono.wav"][1], files["c_22k_mono.ogg"][1]
    p = subprocess.run(["bash", "-c", f". ./path.sh && {PREDICT} --model {pkg} --no-progress --json -"], cwd=d,
                       input=f"{a}\n\n# a comment\n{folder}\n", capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert [json.loads(line)["input"] for line in p.stdout.splitlines()] == [str(a)] + [str(files[n][1]) for n in sorted(files)]
    (tmp_path / "wav.scp").write_text(f"key-a {a}\nkey-b sox-free-pipe-does-not-exist {b} |\nkey-c {b}\n")
    p = run_sh(f"{PREDICT} --model {pkg} --no-progress {tmp_path}/wav.scp", d, check=False)
    rows = read_tsv(p.stdout)
    assert [r["input"] for r in rows] == ["key-a", "key-b", "key-c"] and p.returncode == 2
    assert "exited with status 127" in rows[1]["error"]
    (tmp_path / "bad.scp").write_text(f"key-a {a}\nlonely\n")
    p = run_sh(f"{PREDICT} --model {pkg} {tmp_path}/bad.scp", d, check=False)
    assert p.returncode == 1 and f"{tmp_path}/bad.scp:2: expected '<key> <path>'" in p.stderr and not p.stdout


def test_normalisation_policies(packaged_mini, new_audio):
    from emogcn import EmotionRecognizer
    from emogcn.data.cmvn import apply_cmvn
    from emogcn.inference.normalise import NormalisationError

    d, _, pkg = packaged_mini
    files = new_audio[1]
    paths = [str(files[n][1]) for n in sorted(files)]
    r = EmotionRecognizer.from_dir(pkg, device="cpu")
    assert r.normalisation == "global"  # the package's default
    by = {}
    for policy in ("global", "utterance", "batch", "none"):
        by[policy] = EmotionRecognizer.from_dir(pkg, device="cpu", normalisation=policy).predict_many(paths)
    spk = EmotionRecognizer.from_dir(pkg, device="cpu", normalisation="speaker")
    one_speaker = spk.predict_many(paths, speakers=["x"] * len(paths))
    two = spk.predict_many(paths, speakers=["x", "x", "y", "y", None])
    for a, b in zip(by["batch"], one_speaker):  # one speaker's statistics = the batch's
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)
    assert two[-1].error and "no speaker given" in two[-1].error and two[0].ok
    assert two[0].probabilities != pytest.approx(one_speaker[0].probabilities, abs=1e-6)
    for p in ("global", "utterance", "none"):
        assert [x.probabilities for x in by[p]] != [y.probabilities for y in by["batch"]], p
    # global is the packaged training statistics, applied to the front-end's features
    wave, _ = files["a_16k_mono.wav"]
    g = EmotionRecognizer.from_dir(pkg, device="cpu", normalisation="global")
    feats = apply_cmvn(g.extractor(wave), g.package.global_stats)
    [(probs, _)] = g._forward([feats])
    assert by["global"][0].probabilities == pytest.approx(dict(zip(g.classes, probs.tolist())), abs=1e-6)
    with pytest.raises(NormalisationError, match="not one of"):
        EmotionRecognizer.from_dir(pkg, normalisation="cohort")
    p = run_sh(f"{PREDICT} --model {pkg} --speaker-stats speaker {paths[0]}", d, check=False)
    assert p.returncode == 1 and "needs --utt2spk or --spk2utt" in p.stderr


def test_python_api(packaged_mini, new_audio):
    d, _, pkg = packaged_mini
    # `import emogcn` stays light: no torch until the recognizer is asked for
    probe = subprocess.run([sys.executable, "-c", "import sys, emogcn; print('torch' in sys.modules); "
                            "emogcn.EmotionRecognizer; print('torch' in sys.modules)"],
                           cwd=REPO, capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["False", "True"]

    from emogcn import EmotionRecognizer, Prediction, PredictionError

    wave, path = new_audio[1]["a_16k_mono.wav"]
    r = EmotionRecognizer.from_dir(pkg, device="cpu")
    from_file = r.predict(str(path))
    assert isinstance(from_file, Prediction) and from_file.ok
    assert list(from_file.probabilities) == r.classes and from_file.label in r.classes
    assert from_file.valence is not None and from_file.arousal is not None
    assert from_file.duration == pytest.approx(len(wave) / 16000, abs=1e-3)
    # an array gives the same; so does int16 PCM (up to quantisation) and another rate
    from_array = r.predict(wave, sample_rate=16000)
    assert from_array.probabilities == pytest.approx(from_file.probabilities, abs=1e-6)
    pcm = np.round(wave * 32767).astype(np.int16)
    assert r.predict(pcm, sample_rate=16000).probabilities == pytest.approx(from_file.probabilities, abs=1e-3)
    stereo_48k = np.stack([resample(wave, 16000, 48000)] * 2, axis=1)
    assert r.predict(stereo_48k, sample_rate=48000).probabilities == pytest.approx(from_file.probabilities, abs=1e-2)
    with pytest.raises(PredictionError, match="silent"):
        r.predict(np.zeros(16000, np.float32), sample_rate=16000)
    with pytest.raises(PredictionError, match="needs its sample_rate"):
        r.predict(wave)
    results = r.predict_many([str(path), np.zeros(8000, np.float32)], sample_rate=16000)
    assert results[0].ok and not results[1].ok and "silent" in results[1].error
    assert set(results[0].to_dict()) == {"input", "label", "probabilities", "valence", "arousal", "duration", "error"}


def test_console_script_and_devices(packaged_mini, new_audio):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    target = project["project"]["scripts"]["emogcn-predict"]
    module, func = target.split(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), func))
    d, _, pkg = packaged_mini
    good = new_audio[1]["a_16k_mono.wav"][1]
    # utils/emogcn-predict: the command under its own name in a recipe (path.sh puts utils/ on PATH)
    cpu = run_sh(f". ./path.sh && emogcn-predict --model {pkg} --gpu -1 --batch-size 1 {good}", d)
    assert "on cpu" in cpu.stderr
    # --gpu 0: CUDA device 0, or (no CUDA here) the CPU with a warning; the same predictions either way
    gpu = run_sh(f"{PREDICT} --model {pkg} --gpu 0 {good}", d)
    [a], [b] = read_tsv(cpu.stdout), read_tsv(gpu.stdout)
    assert a["label"] == b["label"]
    assert all(abs(float(a[k]) - float(b[k])) < 1e-4 for k in a if k.startswith("p_"))


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory):
    """About 14 s at 44.1 kHz stereo: three utterances of new speakers between pauses of noise.
    Returns (file, [(start, end) of each utterance in seconds])."""
    rng = np.random.default_rng(3)
    waves = speech_samples(3, seed=91)
    pieces, truth, t = [], [], 0.0
    for pause, wave in zip((2.0, 3.0, 2.5), waves):
        pieces.append(np.zeros(int(pause * 16000), np.float32))
        t += pause
        pieces.append(wave)
        truth.append((t, t + len(wave) / 16000))
        t += len(wave) / 16000
    pieces.append(np.zeros(32000, np.float32))
    x = np.concatenate(pieces) + 1e-3 * rng.standard_normal(int(sum(len(p) for p in pieces))).astype(np.float32)
    path = tmp_path_factory.mktemp("long") / "meeting.wav"
    x44 = resample(x.astype(np.float32), 16000, 44100)
    sf.write(path, np.stack([x44, 0.8 * x44], axis=1), 44100, subtype="PCM_16")
    return path, truth


def _timeline(path):
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("vad", ["silero", "energy"])
def test_segment_long_recording(packaged_mini, long_recording, tmp_path, vad):
    d, exp, pkg = packaged_mini
    path, truth = long_recording
    out = tmp_path / "timelines"
    p = run_sh(f"{PREDICT} --model {pkg} --segment --vad {vad} --timeline-dir {out} {path}", d)
    [row] = read_tsv(p.stdout)
    assert row["error"] == "-" and float(row["duration"]) == pytest.approx(truth[-1][1] + 2.0, abs=0.01)
    regions = _timeline(out / "meeting.csv")
    classes = (exp / "fold1" / "classes.txt").read_text().split()
    assert list(regions[0]) == ["start", "end", "label"] + [f"p_{c}" for c in classes] + ["valence", "arousal"]
    spans = [(float(r["start"]), float(r["end"])) for r in regions]
    # every utterance found, every region inside (padding aside) an utterance
    for start, end in truth:
        covered = sum(max(0.0, min(end, e) - max(start, s)) for s, e in spans)
        assert covered > 0.7 * (end - start), (vad, start, end, spans)
    for s, e in spans:
        assert any(s > start - 0.3 and e < end + 0.3 for start, end in truth), (vad, s, e, truth)
    # the recording's row: the regions' duration-weighted mean
    weights = np.array([e - s for s, e in spans])
    for c in classes:
        mean = float(np.dot(weights, [float(r[f"p_{c}"]) for r in regions]) / weights.sum())
        assert float(row[f"p_{c}"]) == pytest.approx(mean, abs=1e-5)
    png = (out / "meeting.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # long regions are cut into pieces of at most --max-segment seconds
    p = run_sh(f"{PREDICT} --model {pkg} --segment --vad {vad} --max-segment 0.4 --timeline-dir {tmp_path}/short {path}", d)
    pieces = [(float(r["start"]), float(r["end"])) for r in _timeline(tmp_path / "short" / "meeting.csv")]
    assert len(pieces) > len(spans) and all(e - s <= 0.4 + 1e-3 for s, e in pieces)


def test_segment_finds_no_speech_in_noise(packaged_mini, tmp_path):
    d, _, pkg = packaged_mini
    sf.write(tmp_path / "noise.wav", 0.01 * np.random.default_rng(1).standard_normal(5 * 16000), 16000)
    good = speech_samples(1, seed=5)[0]
    sf.write(tmp_path / "speech.wav", np.concatenate([np.zeros(8000), good, np.zeros(8000)]), 16000)
    p = run_sh(f"{PREDICT} --model {pkg} --segment --timeline-dir {tmp_path}/t {tmp_path}/noise.wav "
               f"{tmp_path}/speech.wav", d, check=False)
    assert p.returncode == 2
    noise, speech = read_tsv(p.stdout)
    assert "no speech found (the silero voice-activity detector)" in noise["error"]
    assert speech["error"] == "-" and (tmp_path / "t" / "speech.csv").is_file()
    assert not (tmp_path / "t" / "noise.csv").exists()
