"""Evaluation: the registered ``AVSMetric`` and ``NegativeAudioMetric``, the pure metric functions behind
them, (in :mod:`mmavs.evaluation.mask_files`) the saved prediction files of the AVSBench layout and (in
:mod:`mmavs.evaluation.per_class`) the per-class result tables of AVSS runs."""
from .functional import (
    LEGACY_NUM_THRESHOLDS,
    MASK_LOGIT,
    binary_frame_stats,
    binary_masks_to_logits,
    dataset_class_iou,
    false_detection_rate,
    legacy_batch_max_f,
    legacy_batch_mean_iou,
    legacy_class_scores,
    legacy_f_curves,
    legacy_frame_iou,
    legacy_thresholds,
    logits_to_binary_masks,
    logits_to_class_masks,
    pooled_max_f,
    semantic_frame_stats,
    semantic_mask_stats,
    threshold_rank,
)
from .metrics import AVSMetric, NegativeAudioMetric

__all__ = [
    'AVSMetric', 'NegativeAudioMetric', 'LEGACY_NUM_THRESHOLDS', 'MASK_LOGIT', 'binary_frame_stats',
    'binary_masks_to_logits',
    'dataset_class_iou', 'false_detection_rate', 'legacy_batch_max_f', 'legacy_batch_mean_iou',
    'legacy_class_scores', 'legacy_f_curves', 'legacy_frame_iou', 'legacy_thresholds', 'logits_to_binary_masks',
    'logits_to_class_masks', 'pooled_max_f', 'semantic_frame_stats', 'semantic_mask_stats', 'threshold_rank'
]
