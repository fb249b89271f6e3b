"""A packaged network, from (normalised) features to probabilities, as TorchScript and ONNX.

Both exports trace the network (torch.jit.trace; ONNX through torch.onnx.export with
dynamo=False, the TorchScript-based exporter). torch 2.14's default dynamo exporter goes through
torch.export, which stops at the backbones' data-dependent checks (`bool((lengths < 1).any())`)
and would need onnxscript besides; tracing needs neither, works offline, and needs only the
`onnx` package to check the file and onnxruntime to run it (optional extra `export`).

A trace records one path through the code, so it is taken on a batch whose utterances have
different lengths: the backbones then record their masking of padded frames, which is exact
(a no-op) for unpadded batches too. The exported function is
    speech: (feats float32 (B, T, F), lengths int64 (B,)) -> probs (B, C)[, dims (B, K)]
    faces:  (images float32 (B, 3, S, S), ImageNet-normalised) -> probs (B, C)[, dims (B, K)]
with the features normalised as the package says (its normalisation policy); feature extraction
and normalisation stay outside, in emogcn.inference.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import yaml

from emogcn.atomic import atomic_path, write_text
from emogcn.inference.package import ModelPackage

TORCHSCRIPT, ONNX, SPEC = "model.torchscript.pt", "model.onnx", "export.yaml"
OPSET = 17


class FramesNetwork(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor):
        out = self.model(feats, lengths)
        probs = torch.softmax(out["logits"], dim=-1)
        return probs if out["dims"] is None else (probs, out["dims"])


class ImageNetwork(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor):
        out = self.model(images, None)
        probs = torch.softmax(out["logits"], dim=-1)
        return probs if out["dims"] is None else (probs, out["dims"])


def probability_network(package: ModelPackage) -> torch.nn.Module:
    model = package.build_model("cpu")
    net = ImageNetwork(model) if package.info.input == "image" else FramesNetwork(model)
    return net.eval()


def image_size(package: ModelPackage) -> int:
    return int(getattr(package.frontend, "size", 227))


def example_inputs(package: ModelPackage, batch: int = 3, frames: int = 64, seed: int = 0) -> tuple:
    """Random inputs of the network's shape; speech batches with unequal lengths (see above)."""
    g = torch.Generator().manual_seed(seed)
    if package.info.input == "image":
        size = image_size(package)
        return (torch.randn(batch, 3, size, size, generator=g),)
    feats = torch.randn(batch, frames, package.info.input_dim, generator=g)
    lengths = torch.linspace(frames, 1, batch).round().long() if batch > 1 else torch.tensor([frames])
    return feats, lengths


def _names(package: ModelPackage) -> tuple[list[str], list[str], dict]:
    outputs = ["probs"] + (["dims"] if package.info.dims else [])
    if package.info.input == "image":
        inputs, axes = ["images"], {"images": {0: "batch"}}
    else:
        inputs, axes = ["feats", "lengths"], {"feats": {0: "batch", 1: "frames"}, "lengths": {0: "batch"}}
    axes.update({name: {0: "batch"} for name in outputs})
    return inputs, outputs, axes


def export_torchscript(package: ModelPackage, path: Path) -> Path:
    net = probability_network(package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings of the input checks, recorded as constants
        traced = torch.jit.trace(net, example_inputs(package), check_trace=False)
    with atomic_path(path) as tmp:
        traced.save(str(tmp))
    return path


def export_onnx(package: ModelPackage, path: Path, opset: int = OPSET) -> Path:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'emogcn[export]'") from None
    net = probability_network(package)
    inputs, outputs, axes = _names(package)
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
            torch.onnx.export(net, example_inputs(package), str(tmp), dynamo=False, input_names=inputs,
                              output_names=outputs, dynamic_axes=axes, opset_version=opset)
        onnx.checker.check_model(str(tmp))
    return path


def write_spec(package: ModelPackage, out_dir: Path, files: list[str], opset: int = OPSET) -> None:
    inputs, outputs, _ = _names(package)
    info = package.info
    if info.input == "image":
        size = image_size(package)
        shapes = {"images": ["batch", 3, size, size]}
        note = "RGB face crops (emogcn.features.faces), scaled to [0, 1], then ImageNet mean/std per channel"
    else:
        shapes = {"feats": ["batch", "frames", info.input_dim], "lengths": ["batch"]}
        note = (f"features of frontend.yaml ({package.frontend.type}), normalised with policy "
                f"'{info.normalisation.default}' (package.yaml), padded to the longest; lengths: valid rows")
    spec = {
        "files": files, "opset": opset if ONNX in files else None, "inputs": inputs, "input_shapes": shapes,
        "input_note": note, "outputs": outputs, "classes": info.classes, "dims": info.dims,
    }
    write_text(out_dir / SPEC, yaml.safe_dump(spec, sort_keys=False))


def max_difference(package: ModelPackage, torchscript: Path | None = None, onnx_path: Path | None = None,
                   batches=((1, 50), (2, 77), (4, 300))) -> dict[str, float]:
    """Largest absolute difference of each export's outputs from the eager network's, over random
    batches (speech: unpadded and padded) of the given (batch, frames) sizes."""
    net = probability_network(package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        ts = torch.jit.load(str(torchscript)) if torchscript else None
    session = None
    if onnx_path:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = {k: 0.0 for k, on in (("torchscript", ts), ("onnx", session)) if on is not None}
    for seed, (batch, frames) in enumerate(batches):
        args = example_inputs(package, batch=batch, frames=frames, seed=100 + seed)
        with torch.inference_mode():
            eager = _as_list(net(*args))
            if ts is not None:
                worst["torchscript"] = max(worst["torchscript"], _diff(eager, _as_list(ts(*args))))
        if session is not None:
            names = [i.name for i in session.get_inputs()]
            got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
            worst["onnx"] = max(worst["onnx"], _diff(eager, [torch.from_numpy(np.asarray(g)) for g in got]))
    return worst


def _as_list(out) -> list[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _diff(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} outputs against {len(b)}")
    return max(float((x.float() - y.float()).abs().max()) for x, y in zip(a, b))
