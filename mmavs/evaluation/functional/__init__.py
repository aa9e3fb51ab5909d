"""Pure metric functions (per-frame statistics and their aggregations)."""
from .binary_metrics import (
                             LEGACY_NUM_THRESHOLDS,
                             binary_frame_stats,
                             legacy_batch_max_f,
                             legacy_batch_mean_iou,
                             legacy_f_curves,
                             legacy_frame_iou,
                             legacy_thresholds,
                             pooled_max_f,
                             threshold_rank,
)
from .semantic_metrics import dataset_class_iou, false_detection_rate, legacy_class_scores, semantic_frame_stats

__all__ = [
    'LEGACY_NUM_THRESHOLDS', 'binary_frame_stats', 'dataset_class_iou', 'false_detection_rate',
    'legacy_batch_max_f', 'legacy_batch_mean_iou', 'legacy_class_scores', 'legacy_f_curves',
    'legacy_frame_iou', 'legacy_thresholds', 'pooled_max_f', 'semantic_frame_stats', 'threshold_rank'
]
