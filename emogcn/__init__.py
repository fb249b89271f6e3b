"""emogcn: Kaldi-style recipes for label-graph GCN emotion recognition on faces and speech.

`from emogcn import EmotionRecognizer` gives the prediction API (emogcn/inference/recognizer.py);
it is imported on first use, so `import emogcn` stays light (no torch).
"""

__version__ = "0.1.0"

_LAZY = {
    "EmotionRecognizer": "emogcn.inference.recognizer",
    "Prediction": "emogcn.inference.results",
    "Segment": "emogcn.inference.results",
    "PredictionError": "emogcn.inference.results",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emogcn' has no attribute '{name}'")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
