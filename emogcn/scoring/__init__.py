"""Scoring (stage 5): metrics, the scored set's report files, pooling over folds and seeds.

metrics  UA, WA, macro-F1, per-class scores, confusion matrix, CCC
report   predictions.tsv reader/writer; metrics.json, confusion.txt, confusion.png
pool     folds pooled and averaged, seeds averaged, RESULTS.md rows, summary tables
"""

from emogcn.scoring.metrics import ccc, classification_metrics, confusion_matrix, dimension_metrics, headline
from emogcn.scoring.report import (Predictions, ScoringError, read_classes, read_metrics, read_predictions,
                                   score_file, score_predictions, write_predictions, write_report)

__all__ = [
    "Predictions", "ScoringError", "ccc", "classification_metrics", "confusion_matrix", "dimension_metrics",
    "headline", "read_classes", "read_metrics", "read_predictions", "score_file", "score_predictions",
    "write_predictions", "write_report",
]
