"""TorchScript and ONNX exports of packaged networks agree with the eager network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from conftest import make_random_experiment, run_sh
from emogcn.inference import export
from emogcn.inference.package import load_package, write_package

SPEECH = {
    "gcn_cnn": {"model": {"variant": "emotion_gcn", "backbone": "speech_cnn",
                          "backbone_options": {"channels": [4, 8, 8], "embed_dim": 16}, "gcn_hidden": 8}},
    "multi_ecapa": {"model": {"variant": "multi_task", "backbone": "ecapa_tdnn", "backbone_options": {
        "channels": 16, "dilations": [2, 3], "se_channels": 4, "attention_channels": 8, "embed_dim": 8}}},
    "single_mlp": {"model": {"variant": "single_task", "backbone": "mlp", "backbone_options": {"hidden": [16]}}},
}


def _package(tmp_path, name, cfg, input_dim, frontend_yaml):
    exp = make_random_experiment(tmp_path / name, cfg, input_dim=input_dim)
    (tmp_path / f"{name}.yaml").write_text(frontend_yaml)
    return load_package(write_package(exp, tmp_path / f"{name}_model", feat_config=tmp_path / f"{name}.yaml"))


@pytest.mark.parametrize("name", sorted(SPEECH))
def test_speech_exports_match_eager(tmp_path, name):
    package = _package(tmp_path, name, SPEECH[name], 40, "type: fbank\nnum_mel_bins: 40\n")
    ts = export.export_torchscript(package, tmp_path / "m.pt")
    onnx = export.export_onnx(package, tmp_path / "m.onnx")
    # batches of other sizes and lengths than the trace's, padded and not
    worst = export.max_difference(package, ts, onnx, batches=((1, 37), (5, 211), (2, 8)))
    assert set(worst) == {"torchscript", "onnx"}
    assert worst["torchscript"] < 1e-4 and worst["onnx"] < 1e-4, worst
    # padding does not change an utterance's output in the export either
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    feats = np.random.default_rng(0).standard_normal((2, 90, 40)).astype(np.float32)
    alone = session.run(None, {"feats": feats[:1, :30], "lengths": np.array([30])})[0]
    padded = session.run(None, {"feats": feats, "lengths": np.array([30, 90])})[0]
    assert np.abs(alone[0] - padded[0]).max() < 1e-5
    outputs = [o.name for o in session.get_outputs()]
    assert outputs == (["probs"] if package.info.dims == [] else ["probs", "dims"])
    assert np.allclose(padded.sum(axis=1), 1.0, atol=1e-5)


def test_face_export_and_cli(tmp_path):
    cfg = {"input": "image", "model": {"variant": "emotion_gcn", "backbone": "bregnext", "gcn_hidden": 8,
                                       "backbone_options": {"width": 0.125, "depth": [1, 1, 1, 1, 1]}}}
    package = _package(tmp_path, "face", cfg, 3, "type: face\nsize: 32\n")
    p = run_sh(f"python -m emogcn.bin.export_model {package.path}", tmp_path)
    assert "torchscript: largest absolute difference" in p.stderr and "onnx: largest absolute difference" in p.stderr
    spec = yaml.safe_load((package.path / "export.yaml").read_text())
    assert spec["inputs"] == ["images"] and spec["input_shapes"]["images"] == ["batch", 3, 32, 32]
    assert spec["outputs"] == ["probs", "dims"] and spec["files"] == ["model.torchscript.pt", "model.onnx"]
    worst = export.max_difference(package, package.path / export.TORCHSCRIPT, package.path / export.ONNX)
    assert max(worst.values()) < 1e-4
    with pytest.warns(FutureWarning, match="deprecated"):  # TorchScript is deprecated in torch 2.14, still works
        traced = torch.jit.load(str(package.path / export.TORCHSCRIPT))
    probs, dims = traced(torch.randn(4, 3, 32, 32))
    assert probs.shape == (4, 3) and dims.shape == (4, 2)
