"""Binary (S4 / MS3) AVS metrics as pure functions.

Two stages, so that a metric can keep compact per-frame statistics and aggregate them at the end:

1. :func:`binary_frame_stats` turns logits and ground truth of ``N`` frames into integer counts: the areas at
   the 0.5 operating point and, for each of the 255 legacy F-measure thresholds, the predicted and true
   positive pixel counts. The thresholds are applied without a loop over thresholds: each pixel's
   probability is mapped to the number of thresholds it reaches (an exact look-up on a dyadic grid, see
   :func:`threshold_rank`), and one ``bincount`` per few frames gives every threshold's counts at once.
2. Aggregations: :func:`legacy_frame_iou`, :func:`legacy_f_curves`, :func:`legacy_batch_mean_iou`,
   :func:`legacy_batch_max_f` reproduce the AVSBench reference; :func:`pooled_max_f` gives the
   batch-independent F (dataset-level or per video).

The reference computes ``sigmoid`` in float32 and compares with a float32 ``linspace``; the same is done
here, so each pixel's decision at each threshold is identical, and the per-frame F curves are computed with
the reference's float32 operations in the reference's order.
"""
from functools import lru_cache
from typing import Dict, Tuple

import torch
from torch import Tensor

LEGACY_NUM_THRESHOLDS = 255
LEGACY_F_BETA2 = 0.3
LEGACY_IOU_EPS = 1e-7
# Dyadic grid of the threshold look-up: with more cells than thresholds, a cell holds at most one threshold.
_GRID = 256
# Frames per vectorised pass: keeps the per-pixel work in cache.
_CHUNK_FRAMES = 8


def legacy_thresholds() -> Tensor:
    """The reference's F-measure thresholds.

    Returns:
        Tensor: float32 ``[255]``, ``torch.linspace(0, 1 - 1e-10, 255)`` in float32 (its last value rounds
        to exactly 1.0, so only saturated probabilities reach it).
    """
    return torch.linspace(0, 1 - 1e-10, LEGACY_NUM_THRESHOLDS, dtype=torch.float32)


def _rank_tables(thresholds: Tensor) -> Tuple[Tensor, Tensor]:
    """Look-up tables giving, for a probability ``p``, the number of ``thresholds`` that are ``<= p``.

    Cell ``j`` of the dyadic grid holds ``p`` in ``[j / G, (j + 1) / G)`` (the last cell holds exactly 1.0);
    ``j = floor(p * G)`` is exact in float32 since ``G`` is a power of two. Every threshold ``<= j / G`` is
    reached, none ``>= (j + 1) / G`` is, and at most one lies strictly inside the cell, compared directly:
    ``rank = count_le[j] + (p >= inner[j])``.

    Args:
        thresholds (Tensor): float32 ``[K]`` sorted thresholds in ``[0, 1]``, at most one per open cell.

    Returns:
        tuple[Tensor, Tensor]: ``count_le`` int64 ``[G + 1]``, the number of thresholds ``<= j / G``, and
        ``inner`` float32 ``[G + 1]``, the threshold strictly inside cell ``j`` (``inf`` if none).
    """
    edges = torch.arange(_GRID + 1, dtype=torch.float64) / _GRID
    thresholds64 = thresholds.double()  # exact
    count_le = torch.searchsorted(thresholds64, edges, right=True)
    cell = torch.floor(thresholds64 * _GRID).long()
    strictly_inside = thresholds64 * _GRID > cell.double()
    inner_cells = cell[strictly_inside]
    if inner_cells.unique().numel() != inner_cells.numel():
        raise RuntimeError('threshold look-up grid too coarse: two thresholds share a cell')
    inner = torch.full((_GRID + 1, ), float('inf'), dtype=torch.float32)
    inner[inner_cells] = thresholds[strictly_inside]
    return count_le, inner


def threshold_rank(probs: Tensor) -> Tensor:
    """Number of legacy thresholds each probability reaches (``prob >= threshold``), without a loop.

    The result is exactly ``(probs[..., None] >= legacy_thresholds()).sum(-1)`` (see :func:`_rank_tables`).

    Args:
        probs (Tensor): float32 probabilities in ``[0, 1]``, any shape.

    Returns:
        Tensor: int64, same shape, values in ``[1, 255]`` (the first threshold is 0).
    """
    if probs.dtype != torch.float32:
        raise TypeError(f'threshold_rank expects float32 probabilities, got {probs.dtype}')
    count_le, inner = (t.to(probs.device) for t in _rank_tables(legacy_thresholds()))
    cell = (probs * _GRID).long()
    return count_le[cell] + (probs >= inner[cell])


class _StatsTables:
    """Look-up tables of :func:`binary_frame_stats` on one device.

    The 0.5 operating point (``sigmoid > 0.5``) is folded into the threshold ranks: the smallest float32
    above 0.5 is added to the legacy thresholds as a 256th, *extended* threshold, so that one rank gives
    both the legacy thresholds reached and whether the pixel is positive at 0.5. The tables cover a pixel's
    cell and foreground flag at once (index ``cell + (G + 1) * fg``).

    Attributes:
        split (int): Index of the extra threshold among the 256 extended ones.
        lut (Tensor): int32 ``[2 (G + 1)]``: extended rank at the cell's lower edge, plus ``257 * fg``.
        inner (Tensor): float32 ``[2 (G + 1)]``: the extended threshold inside the cell, or ``inf``.
    """

    slots = LEGACY_NUM_THRESHOLDS + 2  # extended ranks 0..256

    def __init__(self, device: torch.device) -> None:
        legacy = legacy_thresholds()
        above_half = torch.nextafter(torch.tensor(0.5), torch.tensor(1.0)).reshape(1)
        extended, order = torch.cat([legacy, above_half]).sort(stable=True)
        self.split = int((order == LEGACY_NUM_THRESHOLDS).nonzero())
        count_le, inner = _rank_tables(extended)
        self.lut = torch.cat([count_le, count_le + self.slots]).to(device, torch.int32)
        self.inner = torch.cat([inner, inner]).to(device)


@lru_cache(maxsize=None)
def _stats_tables(device: torch.device) -> _StatsTables:
    """The (constant) tables of a device, built once."""
    return _StatsTables(device)


def binary_frame_stats(logits: Tensor, gt: Tensor, ignore_index: int = 255) -> Dict[str, Tensor]:
    """Per-frame counts of binary predictions (sigmoid of ``logits``) against binary ground truth.

    Args:
        logits (Tensor): float ``[N, H, W]`` foreground logits.
        gt (Tensor): integer or bool ``[N, H, W]`` with values 0 (background), 1 (foreground) or
            ``ignore_index``.
        ignore_index (int): Ground-truth value of pixels left out of every count. Defaults to 255.

    Returns:
        dict[str, Tensor]: int64, on ``logits``' device:

        - ``num_valid`` ``[N]``: pixels not ignored.
        - ``pred_area``, ``gt_area``, ``inter`` ``[N]``: positives of ``sigmoid > 0.5``, GT foreground,
          and their intersection.
        - ``pred_count``, ``tp_count`` ``[N, 255]``: for each legacy threshold ``t``, pixels with
          ``sigmoid >= t``, and those among them that are GT foreground.
    """
    if logits.dim() != 3 or logits.shape != gt.shape:
        raise ValueError(f'binary_frame_stats expects logits and gt of the same shape [N, H, W], got '
                         f'{tuple(logits.shape)} and {tuple(gt.shape)}')
    if not logits.is_floating_point():
        raise TypeError(f'logits must be floating point, got {logits.dtype}')
    # a sum is NaN if any logit is (or if +inf and -inf meet): cheap test first, exact one if needed
    if torch.isnan(logits.sum()) and torch.isnan(logits).any():
        raise ValueError('logits contain NaN')
    if gt.dtype == torch.bool:
        gt = gt.to(torch.uint8)
    num_frames, num_pixels = logits.shape[0], logits.shape[1] * logits.shape[2]
    logits, gt = logits.reshape(num_frames, num_pixels), gt.reshape(num_frames, num_pixels)
    tables = _stats_tables(logits.device)
    chunks = [
        _chunk_stats(logits[i:i + _CHUNK_FRAMES], gt[i:i + _CHUNK_FRAMES], ignore_index, tables)
        for i in range(0, max(num_frames, 1), _CHUNK_FRAMES)
    ]
    return {key: torch.cat([chunk[key] for chunk in chunks]) for key in chunks[0]}


def _chunk_stats(logits: Tensor, gt: Tensor, ignore_index: int, tables: _StatsTables) -> Dict[str, Tensor]:
    """:func:`binary_frame_stats` of a few frames flattened to ``[n, H * W]``."""
    num_frames, num_pixels, slots = logits.shape[0], logits.shape[1], tables.slots
    frame_bins = 2 * slots + 1  # (fg, extended rank), and one bin for ignored pixels
    probs = torch.sigmoid(logits.float())
    cell = (probs * _GRID).long()
    low, high = torch.aminmax(gt) if gt.numel() else (0, 0)
    if low >= 0 and high <= 1:  # the common case: no ignored pixel, GT already 0 / 1
        cell.add_(gt, alpha=_GRID + 1)
        valid = None
    else:
        fg, valid = gt == 1, gt != ignore_index
        if not (fg | (gt == 0) | ~valid).all():
            bad = gt[~(fg | (gt == 0) | ~valid)].unique()[:5].tolist()
            raise ValueError(f'binary ground truth must be 0, 1 or {ignore_index}; found {bad}')
        cell.add_(fg, alpha=_GRID + 1)
    cell = cell.view(-1)
    code = torch.index_select(tables.lut, 0, cell).view(num_frames, num_pixels)
    code += probs >= torch.index_select(tables.inner, 0, cell).view(num_frames, num_pixels)
    if valid is not None:
        code.masked_fill_(~valid, frame_bins - 1)
    code += torch.arange(num_frames, dtype=torch.int32, device=code.device).unsqueeze(1) * frame_bins
    hist = torch.bincount(code.view(-1), minlength=num_frames * frame_bins)
    hist = hist.view(num_frames, frame_bins)[:, :-1].view(num_frames, 2, slots)  # [n, fg, extended rank]
    # pixels reaching extended threshold m are those of extended rank > m: suffix sums over ranks
    suffix = hist.flip(-1).cumsum(-1).flip(-1)[..., 1:]
    legacy = [m for m in range(slots - 1) if m != tables.split]
    return dict(
        num_valid=hist.sum((1, 2)),
        pred_area=suffix[:, :, tables.split].sum(1),
        gt_area=hist[:, 1].sum(-1),
        inter=suffix[:, 1, tables.split],
        pred_count=suffix[:, :, legacy].sum(1),
        tp_count=suffix[:, 1, legacy])


#: Logit magnitude of a pixel of a mask that is already decided (:func:`binary_masks_to_logits`): its float32
#: sigmoid is exactly 1.0 (foreground) or below the smallest positive threshold (background, about 4e-44).
MASK_LOGIT = 100.0


def logits_to_binary_masks(logits: Tensor) -> Tensor:
    """The foreground of each pixel as the AVSBench evaluation and ``save_mask`` decide it.

    ``sigmoid(logit) > 0.5`` in float32: the operating point of the legacy J (:func:`binary_frame_stats`
    counts exactly these pixels) and of the official scripts' saved masks. (A logit so small that its float32
    sigmoid rounds to 0.5 is background, unlike ``logit > 0``.)

    Args:
        logits (Tensor): float ``[...]`` foreground logits.

    Returns:
        Tensor: int64 0 / 1, same shape.
    """
    return (torch.sigmoid(logits.float()) > 0.5).long()


def binary_masks_to_logits(masks: Tensor) -> Tensor:
    """Logits ``+-MASK_LOGIT`` of decided 0 / 1 masks, for the logit-based statistics.

    Their probabilities are 1.0 and about 4e-44: at 0.5 every pixel keeps its value (J and the areas are
    those of the masks), and on the legacy F thresholds a foreground pixel reaches all 255, a background
    pixel only the first (0), so each frame's F curve takes two values: F of the all-foreground
    prediction at threshold 0 and F of the mask everywhere else.

    Args:
        masks (Tensor): integer or bool ``[...]`` masks, 0 / 1.

    Returns:
        Tensor: float32, same shape.
    """
    if masks.is_floating_point():
        raise TypeError(f'binary masks must be integer or bool, got {masks.dtype}')
    if masks.numel() and (masks.min() < 0 or masks.max() > 1):
        raise ValueError(f'binary masks must hold 0 / 1, found values in [{int(masks.min())}, '
                         f'{int(masks.max())}]')
    return torch.where(masks.bool(), MASK_LOGIT, -MASK_LOGIT).float()


def legacy_frame_iou(inter: Tensor, pred_area: Tensor, gt_area: Tensor, num_valid: Tensor) -> Tensor:
    """AVSBench per-frame IoU at the 0.5 operating point.

    ``inter / (union + 1e-7)``; a frame whose GT is empty scores the IoU of the background instead
    (pixels that are background in both, over all pixels).

    Args:
        inter, pred_area, gt_area, num_valid (Tensor): ``[N]`` counts from :func:`binary_frame_stats`.

    Returns:
        Tensor: float64 ``[N]``.
    """
    inter, pred_area, gt_area, num_valid = (x.double() for x in (inter, pred_area, gt_area, num_valid))
    union = pred_area + gt_area - inter
    empty = gt_area == 0
    background_inter = num_valid - pred_area - gt_area + inter
    inter = torch.where(empty, background_inter, inter)
    union = torch.where(empty, num_valid, union)
    return inter / (union + LEGACY_IOU_EPS)


def legacy_f_curves(tp_count: Tensor, pred_count: Tensor, gt_area: Tensor) -> Tensor:
    """AVSBench per-frame F-measure curves over the 255 thresholds, in the reference's float32 arithmetic.

    precision = TP / (|pred| + 1e-20), recall = TP / (|GT| + 1e-20), F = 1.3 P R / (0.3 P + R), NaN -> 0.

    Args:
        tp_count, pred_count (Tensor): ``[N, 255]`` counts from :func:`binary_frame_stats`.
        gt_area (Tensor): ``[N]`` GT foreground areas.

    Returns:
        Tensor: float32 ``[N, 255]``.
    """
    tp = tp_count.float()
    precision = tp / (pred_count.float() + 1e-20)
    recall = tp / (gt_area.float().unsqueeze(-1) + 1e-20)
    f = (1 + LEGACY_F_BETA2) * precision * recall / (LEGACY_F_BETA2 * precision + recall)
    return torch.nan_to_num(f, nan=0.0)


def _check_groups(values: Tensor, group: Tensor) -> None:
    if group.dim() != 1 or group.shape[0] != values.shape[0]:
        raise ValueError(f'group index must be [N] with N={values.shape[0]}, got {tuple(group.shape)}')
    if group.numel() > 1 and (group[1:] < group[:-1]).any():
        raise ValueError('group index must be non-decreasing (frames in dataset order)')


def legacy_batch_mean_iou(frame_iou: Tensor, batch: Tensor) -> float:
    """AVSBench J: frame IoUs averaged within each test batch, then batch means averaged.

    Args:
        frame_iou (Tensor): float ``[N]`` from :func:`legacy_frame_iou`.
        batch (Tensor): int64 ``[N]`` non-decreasing test-batch index of each frame. Batches without frames
            do not exist in the reference and are not counted.

    Returns:
        float: the legacy J in ``[0, 1]`` (NaN if there is no frame).
    """
    _check_groups(frame_iou, batch)
    if frame_iou.numel() == 0:
        return float('nan')
    _, inverse, counts = torch.unique_consecutive(batch, return_inverse=True, return_counts=True)
    sums = torch.zeros(counts.numel(), dtype=torch.float64).index_add_(0, inverse, frame_iou.double())
    return (sums / counts).mean().item()


def legacy_batch_max_f(f_curves: Tensor, has_fg: Tensor, batch: Tensor) -> float:
    """AVSBench F: per batch, the F curves of frames with foreground averaged, their maximum taken; a batch
    without any foreground frame scores 0; batch scores averaged.

    The curve average is accumulated in float32 frame by frame, as the reference does, so the batch scores
    are those of the reference bit for bit.

    Args:
        f_curves (Tensor): float32 ``[N, 255]`` from :func:`legacy_f_curves`.
        has_fg (Tensor): bool ``[N]``, the frame's GT has foreground (others are skipped).
        batch (Tensor): int64 ``[N]`` non-decreasing test-batch index of each frame.

    Returns:
        float: the legacy F in ``[0, 1]`` (NaN if there is no frame).
    """
    _check_groups(f_curves, batch)
    if f_curves.shape[0] == 0:
        return float('nan')
    _, counts = torch.unique_consecutive(batch, return_counts=True)
    scores = []
    for curves, fg in zip(f_curves.split(counts.tolist()), has_fg.split(counts.tolist())):
        curves = curves[fg]
        if curves.shape[0] == 0:
            scores.append(0.0)
            continue
        total = curves[0].clone()
        for curve in curves[1:]:
            total += curve
        scores.append((total / curves.shape[0]).max().item())
    return sum(scores) / len(scores)


def pooled_max_f(f_curves: Tensor, has_fg: Tensor, group: Tensor) -> float:
    """Batch-independent F: within each group, the mean F curve of its foreground frames and its maximum;
    the mean of these maxima over groups with a foreground frame.

    One group for the whole split gives the dataset-level F (one threshold chosen for the split); one group
    per video gives the per-video F.

    Args:
        f_curves (Tensor): float ``[N, 255]`` from :func:`legacy_f_curves`.
        has_fg (Tensor): bool ``[N]``, the frame's GT has foreground.
        group (Tensor): int64 ``[N]`` non-decreasing group index.

    Returns:
        float: F in ``[0, 1]``; 0 if no frame has foreground.
    """
    _check_groups(f_curves, group)
    f_curves, group = f_curves[has_fg].double(), group[has_fg]
    if f_curves.shape[0] == 0:
        return 0.0
    _, inverse, counts = torch.unique_consecutive(group, return_inverse=True, return_counts=True)
    sums = torch.zeros(counts.numel(), f_curves.shape[1], dtype=torch.float64)
    sums.index_add_(0, inverse, f_curves)
    return (sums / counts.unsqueeze(1)).max(1).values.mean().item()
