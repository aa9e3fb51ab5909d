"""Semantic (AVSS, multi-class) AVS metrics as pure functions.

:func:`semantic_frame_stats` reduces each frame to per-class intersection, prediction and ground-truth areas
(one ``bincount`` of the frame's confusion matrix) of the arg-max prediction (:func:`logits_to_class_masks`);
:func:`semantic_mask_stats` does the same for class masks already decided (e.g. read from saved files).
The aggregations are computed from those counts:

- :func:`legacy_class_scores`: the AVSBench-semantic per-class J and F (per-frame IoU / F-measure summed over
  frames, divided by the number of frames where the class occurs in prediction or GT);
- :func:`dataset_class_iou`: per-class IoU of the areas pooled over the split;
- :func:`false_detection_rate`: per-class FP / (FP + TP) of the split's pixel confusion matrix.
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

# The reference adds numpy's float64 machine epsilon to the union.
LEGACY_SEMANTIC_EPS = 2.220446049250313e-16
LEGACY_F_BETA2 = 0.3


def logits_to_class_masks(logits: Tensor) -> Tensor:
    """The class of each pixel as the AVSBench-semantic evaluation decides it: arg-max of the softmax.

    The reference's order of operations (softmax in float32, then arg-max) also fixes how exact ties are
    broken: the first class wins.

    Args:
        logits (Tensor): float ``[N, C, H, W]`` class logits.

    Returns:
        Tensor: int64 ``[N, H, W]`` class indices.
    """
    return torch.softmax(logits.float(), dim=1).argmax(1)


def semantic_frame_stats(logits: Tensor, gt: Tensor, num_classes: int,
                         ignore_index: int = 255) -> Dict[str, Tensor]:
    """Per-frame, per-class areas of the arg-max prediction against the ground truth.

    The prediction is :func:`logits_to_class_masks`; see :func:`semantic_mask_stats` for the counts.

    Args:
        logits (Tensor): float ``[N, C, H, W]`` class logits, ``C == num_classes``.
        gt (Tensor): integer ``[N, H, W]`` class indices in ``[0, num_classes)`` or ``ignore_index``.
        num_classes (int): Number of classes ``C`` (background included).
        ignore_index (int): Ground-truth value of ignored pixels. Defaults to 255.

    Returns:
        dict[str, Tensor]: int64 ``[N, C]`` each, on ``logits``' device: ``inter`` (pixels predicted as the
        class where the GT is the class), ``pred_area`` and ``gt_area``.
    """
    if logits.dim() != 4 or gt.dim() != 3 or logits.shape[0] != gt.shape[0] \
            or logits.shape[2:] != gt.shape[1:]:
        raise ValueError(f'semantic_frame_stats expects logits [N, C, H, W] and gt [N, H, W], got '
                         f'{tuple(logits.shape)} and {tuple(gt.shape)}')
    if logits.shape[1] != num_classes:
        raise ValueError(f'logits have {logits.shape[1]} channels, expected num_classes={num_classes}')
    if not logits.is_floating_point():
        raise TypeError(f'logits must be floating point, got {logits.dtype}')
    return semantic_mask_stats(logits_to_class_masks(logits), gt, num_classes, ignore_index)


def semantic_mask_stats(pred: Tensor, gt: Tensor, num_classes: int,
                        ignore_index: int = 255) -> Dict[str, Tensor]:
    """Per-frame, per-class areas of predicted class masks against the ground truth.

    Pixels whose GT is ``ignore_index`` are left out of every count.

    Args:
        pred (Tensor): integer ``[N, H, W]`` predicted classes in ``[0, num_classes)``.
        gt (Tensor): integer ``[N, H, W]`` class indices in ``[0, num_classes)`` or ``ignore_index``.
        num_classes (int): Number of classes ``C`` (background included).
        ignore_index (int): Ground-truth value of ignored pixels. Defaults to 255.

    Returns:
        dict[str, Tensor]: int64 ``[N, C]`` each, on ``pred``'s device: ``inter``, ``pred_area`` and
        ``gt_area``.
    """
    if pred.dim() != 3 or pred.shape != gt.shape:
        raise ValueError(f'semantic_mask_stats expects pred and gt of the same shape [N, H, W], got '
                         f'{tuple(pred.shape)} and {tuple(gt.shape)}')
    if pred.is_floating_point() or pred.dtype == torch.bool:
        raise TypeError(f'predicted class masks must be integer, got {pred.dtype}')
    num_frames, num_pixels = gt.shape[0], gt.shape[1] * gt.shape[2]
    pred = pred.reshape(num_frames, num_pixels).long()
    if pred.numel() and (pred.min() < 0 or pred.max() >= num_classes):
        bad = pred[(pred < 0) | (pred >= num_classes)].unique()[:5].tolist()
        raise ValueError(f'predicted classes must be in [0, {num_classes}); found {bad}')
    gt = gt.reshape(num_frames, num_pixels).long()
    valid = gt != ignore_index
    in_range = (gt >= 0) & (gt < num_classes)
    if not (in_range | ~valid).all():
        bad = gt[~in_range & valid].unique()[:5].tolist()
        raise ValueError(f'semantic ground truth must be in [0, {num_classes}) or {ignore_index}; '
                         f'found {bad}')
    # confusion matrix of each frame, GT along rows, prediction along columns; ignored pixels in an extra bin
    frame_bins = num_classes * num_classes + 1
    code = gt * num_classes + pred
    if not valid.all():
        code.masked_fill_(~valid, frame_bins - 1)
    code.add_(torch.arange(num_frames, device=code.device).unsqueeze(1) * frame_bins)
    confusion = torch.bincount(code.reshape(-1), minlength=num_frames * frame_bins)
    confusion = confusion.view(num_frames, frame_bins)[:, :-1].view(num_frames, num_classes, num_classes)
    return dict(
        inter=confusion.diagonal(dim1=1, dim2=2).clone(),
        pred_area=confusion.sum(1),
        gt_area=confusion.sum(2))


def legacy_class_scores(inter: Tensor, pred_area: Tensor, gt_area: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """AVSBench-semantic per-class J and F over a set of frames.

    For each frame and class: IoU = inter / (union + 2.22e-16), and F (beta^2 = 0.3) from precision
    inter / pred and recall inter / GT, NaN -> 0. A class's count grows by one for each frame where its
    union is non-empty. Per class: sum over frames / count, NaN (count 0) -> 0.

    Args:
        inter, pred_area, gt_area (Tensor): ``[N, C]`` counts from :func:`semantic_frame_stats`.

    Returns:
        tuple[Tensor, Tensor, Tensor]: float64 ``[C]`` per-class J, per-class F, and the int64 ``[C]`` counts.
    """
    inter, pred_area, gt_area = inter.double(), pred_area.double(), gt_area.double()
    union = pred_area + gt_area - inter
    iou = inter / (union + LEGACY_SEMANTIC_EPS)
    precision = inter / pred_area
    recall = inter / gt_area
    f = (1 + LEGACY_F_BETA2) * precision * recall / (LEGACY_F_BETA2 * precision + recall)
    f = torch.nan_to_num(f, nan=0.0)
    count = (union > 0).sum(0)
    class_j = torch.nan_to_num(iou.sum(0) / count, nan=0.0)
    class_f = torch.nan_to_num(f.sum(0) / count, nan=0.0)
    return class_j, class_f, count


def dataset_class_iou(inter: Tensor, pred_area: Tensor, gt_area: Tensor) -> Tensor:
    """Per-class IoU of areas pooled over all frames: sum inter / sum union.

    Args:
        inter, pred_area, gt_area (Tensor): ``[N, C]`` (or already summed ``[C]``) counts.

    Returns:
        Tensor: float64 ``[C]``; NaN for a class absent from both prediction and GT.
    """
    if inter.dim() == 2:
        inter, pred_area, gt_area = inter.sum(0), pred_area.sum(0), gt_area.sum(0)
    inter = inter.double()
    return inter / (pred_area.double() + gt_area.double() - inter)


def false_detection_rate(inter: Tensor, pred_area: Tensor) -> Tensor:
    """Per-class false detection rate of the split's pixel confusion matrix: FP / (FP + TP).

    ``TP + FP`` is the class's predicted area and ``TP`` its intersection with the GT, so the pooled areas
    are all that is needed.

    Args:
        inter, pred_area (Tensor): ``[N, C]`` (or already summed ``[C]``) counts.

    Returns:
        Tensor: float64 ``[C]``; NaN for a class never predicted (left out of a nan-mean).
    """
    if inter.dim() == 2:
        inter, pred_area = inter.sum(0), pred_area.sum(0)
    pred_area = pred_area.double()
    return (pred_area - inter.double()) / pred_area
