"""Using a trained model: packages (package.py), prediction on audio and images (recognizer.py),
inference-time normalisation (normalise.py), voice-activity segmentation (vad.py, timeline.py) and
export to TorchScript and ONNX (export.py). Nothing here is imported by `import emogcn`."""
