"""Focal losses for AVS: sigmoid (binary) and softmax (multi-class) forms.

Own implementation: mmseg 1.2.2's ``FocalLoss`` is broken on the CPU path (see docs/get_started.md, "Known
problems of the stack").
"""
from typing import Optional, Sequence, Union

import torch.nn.functional as F
from torch import Tensor

from mmavs.registry import MODELS

from .utils import BaseAVSSegLoss, check_gamma, masked_mean, zero_ignored


@MODELS.register_module()
class AVSFocalLoss(BaseAVSSegLoss):
    """Sigmoid focal loss (Lin et al., 2017), averaged over the pixels that count.

    ``FL = -alpha_t (1 - p_t)^gamma log(p_t)`` with ``p = sigmoid(x)``, ``p_t = p`` where ``g = 1`` and
    ``1 - p`` where ``g = 0``; ``alpha_t = alpha`` for positives and ``1 - alpha`` for negatives, or 1 when
    ``alpha`` is None. With ``gamma = 0`` and ``alpha = None`` it equals :class:`AVSBCELoss`.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Loss dict key. Defaults to ``'loss_focal'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float, optional): Positive-class balance in [0, 1]. Defaults to 0.25 (RetinaNet).
    """

    multi_class = False

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal',
                 ignore_index: int = 255,
                 gamma: float = 2.0,
                 alpha: Optional[float] = 0.25) -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name, ignore_index=ignore_index)
        self.gamma = check_gamma(type(self).__name__, gamma)
        if alpha is not None and not 0. <= alpha <= 1.:
            raise ValueError(f'AVSFocalLoss: alpha must be in [0, 1] or None, got {alpha}')
        self.alpha = None if alpha is None else float(alpha)

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """Focal loss of logits ``pred`` [F, 1, H, W] against 0/1 ``target`` [F, H, W]."""
        logits = pred[:, 0]
        gt = zero_ignored(target, pixel_valid).to(logits.dtype)
        ce = F.binary_cross_entropy_with_logits(logits, gt, reduction='none')
        prob = logits.sigmoid()
        p_t = prob * gt + (1. - prob) * (1. - gt)
        loss = ce * (1. - p_t).pow(self.gamma)
        if self.alpha is not None:
            loss = loss * (self.alpha * gt + (1. - self.alpha) * (1. - gt))
        return masked_mean(loss, pixel_valid)


@MODELS.register_module()
class AVSSoftmaxFocalLoss(BaseAVSSegLoss):
    """Multi-class (softmax) focal loss, averaged over the pixels that count.

    ``FL = -alpha_g (1 - p_g)^gamma log(p_g)`` with ``p = softmax(x)`` over classes and ``g`` the target
    class; ``alpha_g`` is ``alpha[g]`` for a per-class list, the constant ``alpha`` for a float, or 1 when
    None. The mean is a plain mean over valid pixels. With ``gamma = 0`` and ``alpha = None`` it equals
    :class:`AVSCrossEntropyLoss`.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Loss dict key. Defaults to ``'loss_focal'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float | Sequence[float], optional): Class balance. Defaults to None.
    """

    multi_class = True

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal',
                 ignore_index: int = 255,
                 gamma: float = 2.0,
                 alpha: Optional[Union[float, Sequence[float]]] = None) -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name, ignore_index=ignore_index)
        self.gamma = check_gamma(type(self).__name__, gamma)
        if alpha is None or isinstance(alpha, (int, float)):
            self.alpha = alpha if alpha is None else float(alpha)
        else:
            self.alpha = [float(a) for a in alpha]

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """Focal loss of logits ``pred`` [F, C, H, W] against class indices ``target`` [F, H, W]."""
        gt = zero_ignored(target, pixel_valid).long()
        log_p = pred.log_softmax(dim=1).gather(1, gt.unsqueeze(1)).squeeze(1)  # [F, H, W]
        loss = -log_p * (1. - log_p.exp()).pow(self.gamma)
        if isinstance(self.alpha, list):
            if len(self.alpha) != pred.shape[1]:
                raise ValueError(f'AVSSoftmaxFocalLoss: alpha has {len(self.alpha)} entries for '
                                 f'{pred.shape[1]} classes')
            loss = loss * pred.new_tensor(self.alpha)[gt]
        elif self.alpha is not None:
            loss = loss * self.alpha
        return masked_mean(loss, pixel_valid)
