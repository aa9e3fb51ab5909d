"""Shared base of the AVS segmentation losses: weight and input checks, valid-frame selection, ignored pixels."""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn


def check_weight(owner: str, key: str, value: float) -> float:
    """Return ``float(value)`` for a finite, non-negative loss weight.

    A negative weight trains toward the inverse of the target and a NaN or infinite one makes the model
    NaN, so both are configuration errors.

    Args:
        owner (str): Name of the loss (for the message).
        key (str): Config key of the weight (for the message), e.g. ``'loss_weight'``.
        value (float): The configured weight.

    Returns:
        float: ``value`` as a float.

    Raises:
        ValueError: ``value`` is not a number, is negative, NaN or infinite (the message names ``owner``
            and ``key``).
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{owner}: {key} must be a finite number >= 0, got {value!r}') from None
    if not (math.isfinite(value) and value >= 0.):
        raise ValueError(f'{owner}: {key} must be a finite number >= 0, got {value}')
    return value


class BaseAVSSegLoss(nn.Module):
    """Base class of the per-pixel segmentation losses of mmavs.

    Every loss takes frame-level logits and integer targets of the same spatial size, keeps only the frames
    that have ground truth (``valid_mask``) and ignores pixels equal to ``ignore_index``. Subclasses
    implement :meth:`compute` on the selected frames.

    Args:
        loss_weight (float): Multiplier of the loss, finite and >= 0 (else ``ValueError``). Defaults to 1.0.
        loss_name (str): Key of the loss in the loss dict; it must start with ``loss_`` so that MMEngine
            sums it into the total loss. Defaults to ``'loss_seg'``.
        ignore_index (int): Target value of pixels that do not count. Defaults to 255.
    """

    #: True for the softmax (multi-class) forms, False for the sigmoid (binary) forms.
    multi_class: bool = False

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_seg',
                 ignore_index: int = 255) -> None:
        super().__init__()
        if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
            raise ValueError(f'{type(self).__name__}: loss_name must be a str starting with "loss_" '
                             f'(MMEngine only sums keys that contain "loss"), got {loss_name!r}')
        self.loss_weight = check_weight(type(self).__name__, 'loss_weight', loss_weight)
        self._loss_name = loss_name
        self.ignore_index = int(ignore_index)

    @property
    def loss_name(self) -> str:
        """str: Key of this loss in the segmentor's loss dict."""
        return self._loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                valid_mask: Optional[Tensor] = None) -> Tensor:
        """Compute the weighted loss.

        Args:
            pred (Tensor): Logits ``[N, C, H, W]`` (``C`` = 1 for the binary losses, ``C`` > 1 for the
                multi-class ones), one row per frame.
            target (Tensor): Integer targets ``[N, H, W]``: 0/1 (binary) or class index ``0..C-1``;
                ``ignore_index`` where a pixel does not count.
            valid_mask (Tensor, optional): Bool ``[N]``, True for frames with ground truth. Frames with
                False do not contribute at all. Defaults to None (all frames count).

        Returns:
            Tensor: Scalar loss, ``loss_weight`` times the loss over the valid frames. It is an exact zero
            that keeps the graph (``pred.sum() * 0``) when no frame or pixel counts.
        """
        pred, target = self._select_frames(pred, target, valid_mask)
        pixel_valid = target != self.ignore_index
        if pred.shape[0] == 0 or not bool(pixel_valid.any()):
            return pred.sum() * 0.
        return self.loss_weight * self.compute(pred, target, pixel_valid)

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """Unweighted loss of the selected frames.

        Args:
            pred (Tensor): Logits ``[F, C, H, W]`` of the frames that count.
            target (Tensor): Targets ``[F, H, W]``; ignored pixels still hold ``ignore_index``.
            pixel_valid (Tensor): Bool ``[F, H, W]``, True where the pixel counts (at least one is True).

        Returns:
            Tensor: Scalar loss.
        """
        raise NotImplementedError

    def _select_frames(self, pred: Tensor, target: Tensor,
                       valid_mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Check shapes and values, and keep the frames marked valid."""
        name = type(self).__name__
        if pred.dim() != 4:
            raise ValueError(f'{name}: pred must be logits [N, C, H, W], got shape {tuple(pred.shape)}')
        if target.dim() != 3:
            raise ValueError(f'{name}: target must be [N, H, W], got shape {tuple(target.shape)}')
        if pred.shape[0] != target.shape[0] or pred.shape[2:] != target.shape[1:]:
            raise ValueError(f'{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} must have '
                             'the same number of frames and the same spatial size (resize the logits first)')
        if target.dtype.is_floating_point or target.dtype == torch.bool:
            raise ValueError(f'{name}: target must be an integer tensor, got {target.dtype}')
        num_classes = pred.shape[1]
        if self.multi_class and num_classes < 2:
            raise ValueError(f'{name} is a multi-class (softmax) loss: pred needs C >= 2 channels, got C=1; '
                             'use the binary form for 1-channel logits')
        if not self.multi_class and num_classes != 1:
            raise ValueError(f'{name} is a binary (sigmoid) loss: pred needs C=1 channel, got C={num_classes}; '
                             'use the multi-class form for more channels')
        if valid_mask is not None:
            valid_mask = valid_mask.to(device=pred.device, dtype=torch.bool).reshape(-1)
            if valid_mask.numel() != pred.shape[0]:
                raise ValueError(f'{name}: valid_mask has {valid_mask.numel()} entries for {pred.shape[0]} frames')
            pred = pred[valid_mask]
            target = target[valid_mask]
        labelled = target[target != self.ignore_index]
        upper = num_classes if self.multi_class else 2
        if labelled.numel() > 0 and (int(labelled.min()) < 0 or int(labelled.max()) >= upper):
            raise ValueError(f'{name}: target values must lie in [0, {upper - 1}] or equal ignore_index '
                             f'{self.ignore_index}; got range [{int(labelled.min())}, {int(labelled.max())}]')
        return pred, target


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over the positions where ``mask`` is True.

    Args:
        values (Tensor): Any shape.
        mask (Tensor): Bool, same shape as ``values``, at least one True.

    Returns:
        Tensor: Scalar.
    """
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.)


def zero_ignored(target: Tensor, pixel_valid: Tensor) -> Tensor:
    """``target`` with the pixels that do not count set to 0, so that it can index classes or weigh BCE.

    Args:
        target (Tensor): Integer targets ``[F, H, W]`` (ignored pixels hold ``ignore_index``).
        pixel_valid (Tensor): Bool ``[F, H, W]``, True where the pixel counts.

    Returns:
        Tensor: Same shape and dtype as ``target``.
    """
    return torch.where(pixel_valid, target, torch.zeros_like(target))


def check_gamma(owner: str, gamma: float) -> float:
    """The focal ``gamma`` as a float; ValueError naming ``owner`` when it is negative."""
    if gamma < 0:
        raise ValueError(f'{owner}: gamma must be >= 0, got {gamma}')
    return float(gamma)
