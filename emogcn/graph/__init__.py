"""The Emotion-GCN label graph (nodes: classes, then valence and arousal) and node features,
shared by faces and speech. Stage 3 builds it from the training data; training loads it."""

from emogcn.graph.adjacency import emotion_gcn_adjacency, propagation_matrix, spearman_correlation
from emogcn.graph.build import Graph, GraphConfig, GraphError, build_graph, load_graph

__all__ = [
    "Graph",
    "GraphConfig",
    "GraphError",
    "build_graph",
    "emotion_gcn_adjacency",
    "load_graph",
    "propagation_matrix",
    "spearman_correlation",
]
