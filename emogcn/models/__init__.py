"""Models: pluggable backbones (backbones.py), the label GCN (gcn.py), heads and EmotionModel
(heads.py), and build_model (build.py), which puts them together for each variant."""

from emogcn.models.backbones import BACKBONES, build_backbone, register_backbone
from emogcn.models.build import VARIANTS, build_model
from emogcn.models.ecapa import EcapaTDNN  # registers the "ecapa_tdnn" backbone
from emogcn.models.faces import BregNext, DenseNet121  # register "bregnext" and "densenet121"
from emogcn.models.gcn import GraphConvolution, LabelGCN
from emogcn.models.heads import EmotionModel, GCNHead, MultiTaskHead, SingleTaskHead

__all__ = [
    "BACKBONES",
    "VARIANTS",
    "BregNext",
    "DenseNet121",
    "EcapaTDNN",
    "EmotionModel",
    "GCNHead",
    "GraphConvolution",
    "LabelGCN",
    "MultiTaskHead",
    "SingleTaskHead",
    "build_backbone",
    "build_model",
    "register_backbone",
]
