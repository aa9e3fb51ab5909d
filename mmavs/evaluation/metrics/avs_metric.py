"""The AVS metric: legacy AVSBench J / F (comparable to published numbers), better definitions, and FDR."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from prettytable import PrettyTable
from torch import Tensor

from mmavs.registry import METRICS

from ..functional import (
    binary_frame_stats,
    binary_masks_to_logits,
    dataset_class_iou,
    false_detection_rate,
    legacy_batch_max_f,
    legacy_batch_mean_iou,
    legacy_class_scores,
    legacy_f_curves,
    legacy_frame_iou,
    pooled_max_f,
    semantic_frame_stats,
    semantic_mask_stats,
)
from ..per_class import DISPLAY_HEADERS, per_class_cells, per_class_rows

_METRIC_GROUPS = ('J', 'F', 'FDR')
#: What the metric scores: the data sample field of each ``prediction`` option.
PREDICTION_FIELDS = dict(logits='pred_logits', masks='pred_masks')
_REQUIRED_KEYS = ('gt_masks', 'gt_flags', 'frame_flags')
#: Clip selections of ``AVSMetric(clips=...)`` (frame mixing, :class:`mmavs.datasets.PerturbedAVSDataset`).
CLIP_SELECTIONS = ('all', 'frame_mixed', 'frame_unmixed')


def mean_or_nan(values: Tensor, mask: Tensor) -> float:
    """Mean of ``values[mask]`` as a float; nan when ``mask`` selects nothing."""
    return values[mask].mean().item() if mask.any() else float('nan')


@METRICS.register_module()
class AVSMetric(BaseMetric):
    """Audio-visual segmentation metric for binary (S4, MS3) and semantic (AVSS) subsets.

    It reports the **legacy** AVSBench figures, computed the way published numbers are (keys ending in
    ``_legacy``), and beside them definitions that do not depend on the test batch size or on padding.
    All values are percentages. Results are kept per clip as small integer statistics (no logits).

    Binary keys (``task='binary'``):

    - ``J_legacy``: per-frame IoU of ``sigmoid > 0.5`` (a frame with empty GT scores the background IoU;
      eps 1e-7), averaged within each test batch of ``legacy_batch_size`` clips, then over batches.
    - ``F_legacy``: per-frame F-measure curves over 255 thresholds (beta^2 = 0.3; frames with empty GT
      skipped), averaged within each batch, maximum per batch (0 for a batch without foreground), averaged
      over batches.
    - ``J_frame``: the legacy per-frame IoU averaged over all frames (batch-independent).
    - ``J_dataset``: foreground IoU of the areas pooled over the split (sum inter / sum union).
    - ``F_dataset``: maximum over thresholds of the split's mean F curve (one threshold for the split).
    - ``F_video``: per video, maximum of its mean F curve; averaged over videos with foreground.
    - ``FDR``: false detection rate FP / (FP + TP) of the split's pixel confusion matrix, background and
      foreground at 0.5, nan-mean over the 2 classes (lower is better).

    Semantic keys (``task='multiclass'``), from the arg-max over classes:

    - ``J_legacy`` / ``F_legacy``: per frame and class IoU (eps 2.22e-16) and F (beta^2 = 0.3, NaN -> 0)
      summed over frames, divided per class by the number of frames where the class is predicted or in the
      GT (NaN -> 0), then averaged over **all** ``num_classes`` classes (background included, classes absent
      from the split count 0).
    - ``J_legacy_nobg`` / ``F_legacy_nobg``: the same without the background (class 0).
    - ``J_legacy_drop_last`` / ``F_legacy_drop_last``: the official "noBg" figure, which drops the *last*
      class (``[:-1]``) instead of the background; kept only to compare with numbers reported that way.
    - ``mJ_present`` / ``mF_present``: the per-class J / F over frames with GT, averaged over the classes
      present in the split's GT.
    - ``mJ_dataset``: per-class IoU of pooled areas, averaged over the classes present in the GT.
    - ``FDR``: per-class FP / (FP + TP) of the split's pixel confusion matrix, nan-mean over classes.

    Frames: a frame counts only where ``gt_flags`` is set (real frames without GT are left out).
    Padded frames (``frame_flags`` False): the official AVSS loader pads clips to 10 frames with
    all-background labels and its evaluation scores all 10 frames, so with ``legacy_padded_frames=True``
    (default) the legacy keys score padded frames against an all-background GT; the other keys never
    include them. S4 / MS3 clips have no padded frames.

    Ignored pixels (GT ``ignore_index``) are left out of every count (the reference has none).

    The legacy batches are consecutive groups of ``legacy_batch_size`` clips in the order the results were
    processed, which is the dataset order for a non-shuffled sampler (MMEngine restores it across ranks).

    Scoring decided masks (``prediction='masks'``, e.g. saved prediction files): every J key, the areas and
    FDR are those of the logits the masks were decided from (binary: ``sigmoid > 0.5``; AVSS: arg-max),
    and so are all AVSS keys. The binary F keys can only be lower: a 0 / 1 mask reaches the legacy
    thresholds as a probability of 0 or 1, so each frame's F curve has two values, F of the
    all-foreground prediction at threshold 0 and F at 0.5 at every other threshold, instead of the best
    threshold of the logits (see :func:`mmavs.evaluation.binary_masks_to_logits`).

    After :meth:`compute_metrics`, :attr:`last_report` holds what was logged, for tools that print it
    themselves: ``rows``, a list of ``(key, value %, kind, definition)``, and ``classes`` (multiclass:
    ``dict`` of per-class tensors ``[C]``: ``J``, ``F``, ``frames``, ``J_gt``, ``F_gt``, ``IoU_pooled``,
    ``FDR`` as fractions, ``gt_frames``, ``frames_in_gt``, ``in_gt``; binary: None), plus ``names`` (class
    names); :func:`mmavs.evaluation.per_class.per_class_rows` makes the per-class table of it.

    Args:
        task (str, optional): ``'binary'`` or ``'multiclass'``; inferred from ``num_classes`` if None.
        num_classes (int): 1 for binary, the number of classes (71 for AVSS) otherwise. Defaults to 1.
        class_names (Sequence[str], optional): Names of the classes for the per-class table; defaults to
            ``dataset_meta['classes']`` when it has ``num_classes`` entries.
        legacy_batch_size (int): Clips per test batch of the legacy binary J / F: set it to the test batch
            size of the work compared with (AVSBench's S4 / MS3 ``test.sh``: 4). Defaults to 4.
        legacy_padded_frames (bool): Score padded frames as all-background in the legacy keys, as the
            official AVSS evaluation does. Defaults to True.
        metrics (Sequence[str] | str): Groups to report among ``'J'``, ``'F'``, ``'FDR'``.
            Defaults to all.
        ignore_index (int): GT value of ignored pixels. Defaults to 255.
        prediction (str): What is scored: ``'logits'`` (``pred_logits`` ``[T, C, H, W]``, what models
            predict) or ``'masks'`` (``pred_masks`` ``[T, H, W]``: 0 / 1, or class indices; see above).
            Defaults to 'logits'.
        collect_device (str): Device for collecting results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names (``'avs/J_legacy'``...); None or ``''`` gives
            ``'avs'``, MMEngine's rule. Defaults to None.
        clips (str): Which clips are scored: ``'all'`` (default), or, for frame-mixing runs
            (``PerturbedAVSDataset(frame_mix=...)``, which records ``perturbation['frame_mix']['mixed']`` in
            each data sample's metainfo), ``'frame_mixed'`` / ``'frame_unmixed'``; then a clip without that
            record is an error. Use two metrics (different ``prefix``) to report mixed clips and all clips.
    """

    default_prefix: Optional[str] = 'avs'

    def __init__(self,
                 task: Optional[str] = None,
                 num_classes: int = 1,
                 class_names: Optional[Sequence[str]] = None,
                 legacy_batch_size: int = 4,
                 legacy_padded_frames: bool = True,
                 metrics: Union[str, Sequence[str]] = _METRIC_GROUPS,
                 ignore_index: int = 255,
                 prediction: str = 'logits',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 clips: str = 'all') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if clips not in CLIP_SELECTIONS:
            raise ValueError(f'AVSMetric: clips must be one of {CLIP_SELECTIONS}, got {clips!r}')
        self.clips = clips
        if task is None:
            task = 'binary' if num_classes == 1 else 'multiclass'
        if task not in ('binary', 'multiclass'):
            raise ValueError(f"AVSMetric: task must be 'binary' or 'multiclass', got {task!r}")
        if task == 'binary' and num_classes != 1:
            raise ValueError(f'AVSMetric: binary task needs num_classes=1, got {num_classes}')
        if task == 'multiclass' and num_classes < 2:
            raise ValueError(f'AVSMetric: multiclass task needs num_classes >= 2, got {num_classes}')
        if not isinstance(legacy_batch_size, int) or legacy_batch_size < 1:
            raise ValueError(
                f'AVSMetric: legacy_batch_size must be a positive int, got {legacy_batch_size!r}')
        metrics = (metrics, ) if isinstance(metrics, str) else tuple(metrics)
        unknown = [m for m in metrics if m not in _METRIC_GROUPS]
        if unknown or not metrics:
            raise ValueError(
                f'AVSMetric: metrics must be a non-empty subset of {_METRIC_GROUPS}, got {metrics}')
        if prediction not in PREDICTION_FIELDS:
            raise ValueError(f'AVSMetric: prediction must be one of {tuple(PREDICTION_FIELDS)}, got {prediction!r}')
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f'AVSMetric: {len(class_names)} class_names for num_classes={num_classes}')
        self.task = task
        self.num_classes = num_classes
        self.class_names = None if class_names is None else list(class_names)
        self.legacy_batch_size = legacy_batch_size
        self.legacy_padded_frames = legacy_padded_frames
        self.metrics = metrics
        self.ignore_index = ignore_index
        self.prediction = prediction
        self.last_report: Optional[Dict[str, Any]] = None

    # ------------------------------------------------------------------ process
    def process(self, data_batch: Any, data_samples: Sequence[Union[dict, BaseDataElement]]) -> None:
        """Reduce each clip to per-frame statistics and keep them in ``self.results`` (CPU).

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): One per clip, as ``AVSDataSample.to_dict()``: ``pred_logits``
                float ``[T, C, H, W]`` (or, with ``prediction='masks'``, ``pred_masks`` int ``[T, H, W]``),
                ``gt_masks`` int ``[T, H, W]``, ``gt_flags`` / ``frame_flags`` bool
                ``[T]``, ``vid``.
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            if self._selected_clip(sample):
                self.results.append(self._clip_stats(sample))

    def _selected_clip(self, sample: dict) -> bool:
        """Whether ``clips`` keeps this clip (``'frame_mixed'`` / ``'frame_unmixed'`` read its metainfo)."""
        if self.clips == 'all':
            return True
        mix = (sample.get('perturbation') or {}).get('frame_mix')
        if mix is None:
            raise KeyError(f'AVSMetric(clips={self.clips!r}): clip {sample.get("vid")} has no '
                           'perturbation["frame_mix"] record; evaluate a PerturbedAVSDataset with frame_mix')
        return bool(mix['mixed']) == (self.clips == 'frame_mixed')

    def _clip_stats(self, sample: dict) -> dict:
        vid = sample.get('vid', '<unknown vid>')
        pred_key = PREDICTION_FIELDS[self.prediction]
        missing = [key for key in (pred_key, ) + _REQUIRED_KEYS if sample.get(key) is None]
        if missing:
            raise KeyError(f'AVSMetric: data sample of clip {vid} lacks {missing}')
        pred, gt = sample[pred_key], sample['gt_masks']
        gt_flags = torch.as_tensor(sample['gt_flags'], dtype=torch.bool).cpu()
        frame_flags = torch.as_tensor(sample['frame_flags'], dtype=torch.bool).cpu()
        channels = 1 if self.task == 'binary' else self.num_classes
        if self.prediction == 'logits' and (pred.dim() != 4 or pred.shape[1] != channels):
            raise ValueError(f'AVSMetric: pred_logits of clip {vid} must be [T, {channels}, H, W], got '
                             f'{tuple(pred.shape)}')
        if self.prediction == 'masks' and pred.dim() != 3:
            raise ValueError(f'AVSMetric: pred_masks of clip {vid} must be [T, H, W], got {tuple(pred.shape)}')
        num_frames = pred.shape[0]
        expected = (num_frames, ) + tuple(pred.shape[-2:])
        if gt.shape != expected:
            raise ValueError(f'AVSMetric: gt_masks of clip {vid} have shape {tuple(gt.shape)}, expected '
                             f'{expected} ({pred_key} {tuple(pred.shape)})')
        if gt_flags.shape != (num_frames, ) or frame_flags.shape != (num_frames, ):
            raise ValueError(f'AVSMetric: gt_flags {tuple(gt_flags.shape)} / frame_flags '
                             f'{tuple(frame_flags.shape)} of clip {vid} must be [{num_frames}]')
        if (gt_flags & ~frame_flags).any():
            raise ValueError(f'AVSMetric: clip {vid} has ground truth on padded frames')
        padded = ~frame_flags if self.legacy_padded_frames else torch.zeros_like(frame_flags)
        keep = gt_flags | padded
        index = keep.nonzero().squeeze(1).to(pred.device)
        pred, gt = pred.index_select(0, index), gt.to(pred.device).index_select(0, index).long()
        # padded frames are scored against an all-background GT in the legacy figures
        gt[padded[keep].to(gt.device)] = 0
        if self.task == 'binary':
            logits = pred[:, 0] if self.prediction == 'logits' else binary_masks_to_logits(pred)
            stats = binary_frame_stats(logits, gt, self.ignore_index)
            stats['pred_count'] = stats['pred_count'].int()
            stats['tp_count'] = stats['tp_count'].int()
        elif self.prediction == 'logits':
            stats = semantic_frame_stats(pred, gt, self.num_classes, self.ignore_index)
        else:
            stats = semantic_mask_stats(pred, gt, self.num_classes, self.ignore_index)
        result = {key: value.cpu() for key, value in stats.items()}
        result.update(vid=vid, real_gt=gt_flags[keep].clone())
        return result

    # ------------------------------------------------------------------ compute
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Aggregate the per-clip statistics of the whole split.

        Args:
            results (list[dict]): The outputs of :meth:`process`, one per clip in dataset order.

        Returns:
            dict[str, float]: Percentages; see the class docstring for the keys.
        """
        if not results:
            raise ValueError('AVSMetric: no results to evaluate')
        frames_per_clip = torch.tensor([len(r['real_gt']) for r in results])
        if int(frames_per_clip.sum()) == 0:
            raise ValueError('AVSMetric: none of the evaluated clips has a frame with ground truth')
        clip = torch.repeat_interleave(torch.arange(len(results)), frames_per_clip)
        stats = {key: torch.cat([r[key] for r in results]) for key in results[0] if key != 'vid'}
        self.last_report = dict(rows=[], classes=None, names=self._names())
        if self.task == 'binary':
            values, definitions = self._binary_metrics(stats, clip)
        else:
            values, definitions = self._semantic_metrics(stats)
        # both report fractions; the metric returns percentages
        values = {key: 100 * value for key, value in values.items() if self._selected(key)}
        self.last_report['rows'] = [(key, value, self._kind(key), definitions[key]) for key, value in values.items()]
        self._log_summary(self.last_report['rows'], num_clips=len(results), num_frames=len(clip),
                          num_gt_frames=int(stats['real_gt'].sum()))
        return values

    def _selected(self, key: str) -> bool:
        if key == 'FDR':
            return 'FDR' in self.metrics
        group = 'J' if key.lstrip('m').startswith('J') else 'F'
        return group in self.metrics

    def _binary_metrics(self, stats: Dict[str, Tensor], clip: Tensor) -> Tuple[dict, dict]:
        batch = clip // self.legacy_batch_size
        frame_iou = legacy_frame_iou(stats['inter'], stats['pred_area'], stats['gt_area'], stats['num_valid'])
        curves = legacy_f_curves(stats['tp_count'], stats['pred_count'], stats['gt_area'])
        has_fg = stats['gt_area'] > 0
        real = stats['real_gt']
        inter, pred_area = stats['inter'][real].sum(), stats['pred_area'][real].sum()
        gt_area, num_valid = stats['gt_area'][real].sum(), stats['num_valid'][real].sum()
        # classes background / foreground at 0.5
        class_inter = torch.stack([num_valid - pred_area - gt_area + inter, inter])
        class_pred = torch.stack([num_valid - pred_area, pred_area])
        union = (pred_area + gt_area - inter).double()
        values = dict(
            J_legacy=legacy_batch_mean_iou(frame_iou, batch),
            F_legacy=legacy_batch_max_f(curves, has_fg, batch),
            J_frame=mean_or_nan(frame_iou, real),
            J_dataset=(inter / union).item() if union > 0 else float('nan'),
            F_dataset=pooled_max_f(curves[real], has_fg[real], torch.zeros_like(clip[real])),
            F_video=pooled_max_f(curves[real], has_fg[real], clip[real]),
            FDR=false_detection_rate(class_inter, class_pred).nanmean().item())
        b = self.legacy_batch_size
        definitions = dict(
            J_legacy=f'legacy: frame IoU, mean per test batch of {b} clips, mean of batches',
            F_legacy=f'legacy: max of mean F curve per batch of {b} clips, mean of batches',
            J_frame='mean frame IoU over all frames (batch-independent)',
            J_dataset='IoU of foreground areas pooled over the split',
            F_dataset='max over thresholds of the split mean F curve',
            F_video='per-video max of mean F curve, mean over videos',
            FDR='FP / (FP + TP) at 0.5, nan-mean of bg / fg (lower is better)')
        return values, definitions

    def _semantic_metrics(self, stats: Dict[str, Tensor]) -> Tuple[dict, dict]:
        inter, pred_area, gt_area = stats['inter'], stats['pred_area'], stats['gt_area']
        real = stats['real_gt']
        class_j, class_f, count = legacy_class_scores(inter, pred_area, gt_area)
        real_j, real_f, real_count = legacy_class_scores(inter[real], pred_area[real], gt_area[real])
        present = gt_area[real].sum(0) > 0
        pooled_iou = dataset_class_iou(inter[real], pred_area[real], gt_area[real])
        fdr = false_detection_rate(inter[real], pred_area[real])
        values = dict(
            J_legacy=class_j.mean().item(),
            F_legacy=class_f.mean().item(),
            J_legacy_nobg=class_j[1:].mean().item(),
            F_legacy_nobg=class_f[1:].mean().item(),
            J_legacy_drop_last=class_j[:-1].mean().item(),
            F_legacy_drop_last=class_f[:-1].mean().item(),
            mJ_present=mean_or_nan(real_j, present),
            mF_present=mean_or_nan(real_f, present),
            mJ_dataset=mean_or_nan(pooled_iou, present),
            FDR=fdr.nanmean().item())
        padded = ', padded frames as background' if self.legacy_padded_frames else ''
        c = self.num_classes
        definitions = dict(
            J_legacy=f'legacy: per-class frame-mean IoU, mean over all {c} classes{padded}',
            F_legacy=f'legacy: per-class frame-mean F, mean over all {c} classes{padded}',
            J_legacy_nobg='legacy per-class J, mean without background (class 0)',
            F_legacy_nobg='legacy per-class F, mean without background (class 0)',
            J_legacy_drop_last='official "noBg": drops the LAST class, not background',
            F_legacy_drop_last='official "noBg": drops the LAST class, not background',
            mJ_present='per-class frame-mean IoU (GT frames), mean over classes in GT',
            mF_present='per-class frame-mean F (GT frames), mean over classes in GT',
            mJ_dataset='per-class pooled IoU (GT frames), mean over classes in GT',
            FDR='FP / (FP + TP) per class, nan-mean over classes (lower is better)')
        self._log_class_table(
            dict(J=class_j, F=class_f, frames=count, J_gt=real_j, F_gt=real_f, IoU_pooled=pooled_iou, FDR=fdr,
                 gt_frames=real_count, frames_in_gt=(gt_area[real] > 0).sum(0), in_gt=present))
        return values, definitions

    # ------------------------------------------------------------------ logging
    def _names(self) -> List[str]:
        if self.class_names is not None:
            return self.class_names
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and len(classes) == self.num_classes:
            return list(classes)
        return [f'class_{i}' for i in range(self.num_classes)]

    def _log_class_table(self, columns: Dict[str, Tensor]) -> None:
        self.last_report['classes'] = columns
        table = PrettyTable()
        table.field_names = list(DISPLAY_HEADERS)
        for row in per_class_rows(self.last_report):
            table.add_row(per_class_cells(row))
        print_log('AVSMetric per-class results (%):\n' + table.get_string(), logger='current')

    @staticmethod
    def _kind(key: str) -> str:
        if key in ('J_legacy', 'F_legacy'):
            return 'legacy: comparable to published'
        if key.endswith('_drop_last'):
            return 'legacy official "noBg" (flawed)'
        if key.endswith('_nobg'):
            return 'legacy formula, corrected noBg'
        return 'mmavs: batch/padding-free'

    def _log_summary(self, rows: List[Tuple[str, float, str, str]], num_clips: int, num_frames: int,
                     num_gt_frames: int) -> None:
        table = PrettyTable()
        table.field_names = ['Metric', 'Value (%)', 'Kind', 'Definition']
        table.align['Definition'] = 'l'
        for key, value, kind, definition in rows:
            table.add_row([key, f'{value:.2f}', kind, definition])
        print_log(
            f'AVSMetric ({self.task}, scoring {PREDICTION_FIELDS[self.prediction]}): {num_clips} clips, '
            f'{num_gt_frames} frames with GT, {num_frames} frames in the legacy figures\n' + table.get_string(),
            logger='current')
