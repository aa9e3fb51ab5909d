"""Evaluation: the registered ``AVSMetric`` and the pure metric functions behind it."""
from .functional import (
                         LEGACY_NUM_THRESHOLDS,
                         binary_frame_stats,
                         dataset_class_iou,
                         false_detection_rate,
                         legacy_batch_max_f,
                         legacy_batch_mean_iou,
                         legacy_class_scores,
                         legacy_f_curves,
                         legacy_frame_iou,
                         legacy_thresholds,
                         pooled_max_f,
                         semantic_frame_stats,
                         threshold_rank,
)
from .metrics import AVSMetric

__all__ = [
    'AVSMetric', 'LEGACY_NUM_THRESHOLDS', 'binary_frame_stats', 'dataset_class_iou', 'false_detection_rate',
    'legacy_batch_max_f', 'legacy_batch_mean_iou', 'legacy_class_scores', 'legacy_f_curves',
    'legacy_frame_iou', 'legacy_thresholds', 'pooled_max_f', 'semantic_frame_stats', 'threshold_rank'
]
