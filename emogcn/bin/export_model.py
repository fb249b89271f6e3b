"""Exports a packaged model's network (normalised features -> probabilities) to TorchScript and ONNX.

    python -m emogcn.bin.export_model [--format all|torchscript|onnx] [--out-dir DIR] [--opset 17] <model-dir>

Writes <out-dir>/model.torchscript.pt, <out-dir>/model.onnx and <out-dir>/export.yaml (input and
output names and shapes, and what the inputs must be); <out-dir> defaults to the package itself.
Each export is checked against the eager network on random batches (padded and not) and the
largest absolute difference printed; above --tolerance (default 1e-4) is an error. ONNX needs the
`export` extra (onnx, onnxruntime); see emogcn/inference/export.py for how it is made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogcn.bin import ErrorExit
from emogcn.log import get_logger, setup_logging

logger = get_logger("emogcn.export_model")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emogcn-export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", default="all", choices=("all", "torchscript", "onnx"))
    parser.add_argument("--out-dir", type=Path, help="default: the model directory")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()

    from emogcn.inference import export
    from emogcn.inference.package import PackageError, load_package

    errors = (PackageError, ImportError, ValueError, RuntimeError)
    with ErrorExit("export_model", errors, one_line=True) as run:
        package = load_package(args.model_dir)
        out = args.out_dir or args.model_dir
        out.mkdir(parents=True, exist_ok=True)
        ts = export.export_torchscript(package, out / export.TORCHSCRIPT) if args.format in ("all", "torchscript") else None
        onnx = export.export_onnx(package, out / export.ONNX, args.opset) if args.format in ("all", "onnx") else None
        files = [p.name for p in (ts, onnx) if p is not None]
        export.write_spec(package, out, files, args.opset)
        worst = export.max_difference(package, ts, onnx)
    if run.status:
        return run.status
    for name, diff in worst.items():
        logger.info("%s: largest absolute difference from the eager network %.2e", name, diff)
    bad = {k: v for k, v in worst.items() if not v <= args.tolerance}
    if bad:
        print(f"export_model: error: exports differ from the eager network by more than {args.tolerance:g}: {bad}",
              file=sys.stderr)
        return 1
    print(f"export_model: wrote {', '.join(files)} and {export.SPEC} to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
