"""Metrics of negative audio (AVSBench-Robust): false-positive rate and its combination with a positive score.

Source: Li et al., "Do Audio-Visual Segmentation Models Truly Segment Sounding Objects?" (arXiv 2502.00358),
code github.com/jiali-home/AVSBench-Robust (commit 03e925d).

- **FPR** follows ``calculate_FPR`` of ``training_evaluation/code/AVSegFormer/scripts/s4/test.py`` exactly
  per frame: ``sigmoid(logits) > 0.5``, the number of activated pixels divided by ``H * W + 1e-7``. On a
  negative-audio clip (silence, noise, off-screen sound) nothing sounds, so every activated pixel is a false
  positive; lower is better. The official script averages the frames of each test batch, then the batches
  (``AverageMeter``); :func:`false_positive_rate` gives both that legacy mean and the batch-independent mean
  over frames.
- **G-mIoU / G-F**: the README says they are "manually aggregated ... using Excel" from the exported results,
  and the formula could not be found verbatim (neither in the repository nor in the stored text of the
  paper). Assumed here: the geometric mean (the "G") of the positive-audio score and ``1 - FPR`` of the
  negative-audio clips, ``sqrt(score * (1 - FPR))``, in [0, 1]: it is 0 when either is 0 and rewards a model
  only for segmenting with the right sound *and* staying silent otherwise. :func:`g_score` also offers the
  harmonic mean. Likewise **G-FPR** is assumed to be the mean FPR over the negative-audio kinds evaluated.
"""
from typing import Optional

import torch
from torch import Tensor

#: Denominator offset of the official ``calculate_FPR``.
FPR_EPS = 1e-7
G_MODES = ('geometric', 'harmonic')


def frame_foreground_fraction(pred: Tensor, from_logits: bool = True) -> Tensor:
    """Fraction of pixels predicted as (any) foreground, per frame.

    Args:
        pred (Tensor): Binary logits ``[N, H, W]`` or ``[N, 1, H, W]`` (``from_logits=True``: foreground where
            ``sigmoid > 0.5``, i.e. logit > 0), multi-class logits ``[N, C, H, W]`` with ``C > 1`` (foreground:
            arg-max != 0, background is class 0), or decided masks ``[N, H, W]`` (``from_logits=False``:
            foreground where != 0).
        from_logits (bool): Whether ``pred`` holds logits. Defaults to True.

    Returns:
        Tensor: float64 ``[N]``, ``activated / (H * W + 1e-7)``.
    """
    if from_logits:
        if pred.dim() == 4 and pred.shape[1] > 1:
            active = pred.argmax(dim=1) != 0
        else:
            probs = torch.sigmoid(pred.float().reshape(pred.shape[0], *pred.shape[-2:]))
            active = probs > 0.5
    else:
        if pred.dim() != 3:
            raise ValueError(f'decided masks must be [N, H, W], got {tuple(pred.shape)}')
        active = pred != 0
    num_pixels = active.shape[-2] * active.shape[-1]
    return active.flatten(1).sum(dim=1).double() / (num_pixels + FPR_EPS)


def false_positive_rate(fractions: Tensor, batch: Optional[Tensor] = None) -> float:
    """FPR of negative-audio frames: mean over frames, or (``batch`` given) mean of per-batch means.

    Args:
        fractions (Tensor): ``[N]`` per-frame foreground fractions (:func:`frame_foreground_fraction`).
        batch (Tensor, optional): int ``[N]`` test-batch index of each frame, for the official aggregation.

    Returns:
        float: In [0, 1]; nan for no frame.
    """
    if fractions.numel() == 0:
        return float('nan')
    if batch is None:
        return fractions.double().mean().item()
    _, inverse = torch.unique(batch, return_inverse=True)
    sums = torch.zeros(int(inverse.max()) + 1, dtype=torch.float64).index_add_(0, inverse, fractions.double())
    counts = torch.bincount(inverse).double()
    return (sums / counts).mean().item()


def g_score(score: float, fpr: float, mode: str = 'geometric') -> float:
    """Combine a positive-audio score (mIoU or F, in [0, 1]) with the negative-audio FPR (assumed G-metric).

    Args:
        score (float): Score on positive (original) audio, a fraction.
        fpr (float): False-positive rate on negative audio, a fraction.
        mode (str): ``'geometric'`` (``sqrt(score * (1 - fpr))``, default) or ``'harmonic'``
            (``2 s (1 - fpr) / (s + 1 - fpr)``, 0 when both are 0).

    Returns:
        float: In [0, 1].

    Raises:
        ValueError: Unknown ``mode`` or a value outside [0, 1].
    """
    if mode not in G_MODES:
        raise ValueError(f'g_score: unknown mode {mode!r}; choose one of {G_MODES}')
    for name, value in (('score', score), ('fpr', fpr)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f'g_score: {name} must be a fraction in [0, 1], got {value!r}')
    keep = 1.0 - float(fpr)
    if mode == 'geometric':
        return (float(score) * keep)**0.5
    total = float(score) + keep
    return 0.0 if total == 0 else 2.0 * float(score) * keep / total
