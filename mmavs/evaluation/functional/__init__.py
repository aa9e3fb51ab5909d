"""Pure metric functions (per-frame statistics and their aggregations)."""
from .binary_metrics import (
    LEGACY_NUM_THRESHOLDS,
    MASK_LOGIT,
    binary_frame_stats,
    binary_masks_to_logits,
    legacy_batch_max_f,
    legacy_batch_mean_iou,
    legacy_f_curves,
    legacy_frame_iou,
    legacy_thresholds,
    logits_to_binary_masks,
    pooled_max_f,
    threshold_rank,
)
from .class_separation import class_separation, knn_accuracy, l2_normalize, silhouette, tsne_embedding
from .negative_audio import FPR_EPS, G_MODES, false_positive_rate, frame_foreground_fraction, g_score
from .semantic_metrics import (
    dataset_class_iou,
    false_detection_rate,
    legacy_class_scores,
    logits_to_class_masks,
    semantic_frame_stats,
    semantic_mask_stats,
)

__all__ = [
    'class_separation', 'knn_accuracy', 'l2_normalize', 'silhouette', 'tsne_embedding',
    'LEGACY_NUM_THRESHOLDS', 'MASK_LOGIT', 'binary_frame_stats', 'binary_masks_to_logits', 'dataset_class_iou',
    'false_detection_rate', 'legacy_batch_max_f', 'legacy_batch_mean_iou', 'legacy_class_scores',
    'legacy_f_curves', 'legacy_frame_iou', 'legacy_thresholds', 'logits_to_binary_masks', 'logits_to_class_masks',
    'pooled_max_f', 'semantic_frame_stats', 'semantic_mask_stats', 'threshold_rank', 'FPR_EPS', 'G_MODES',
    'false_positive_rate', 'frame_foreground_fraction', 'g_score'
]
