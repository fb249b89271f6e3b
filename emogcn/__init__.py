"""emogcn: Kaldi-style recipes for label-graph GCN emotion recognition on faces and speech."""

__version__ = "0.1.0"
