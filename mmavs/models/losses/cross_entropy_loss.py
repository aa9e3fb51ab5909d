"""Binary cross-entropy (sigmoid) and multi-class cross-entropy (softmax) losses for AVS."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mmavs.registry import MODELS

from .utils import BaseAVSSegLoss, masked_mean, zero_ignored


@MODELS.register_module()
class AVSBCELoss(BaseAVSSegLoss):
    """Binary cross-entropy with logits, averaged over the pixels that count.

    ``loss = mean_{valid pixels} BCEWithLogits(x, g)`` over the frames with ground truth; pixels equal to
    ``ignore_index`` are left out.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Loss dict key. Defaults to ``'loss_bce'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        pos_weight (float, optional): Weight of the positive term (as in
            :func:`torch.nn.functional.binary_cross_entropy_with_logits`). Defaults to None.
    """

    multi_class = False

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_bce',
                 ignore_index: int = 255,
                 pos_weight: Optional[float] = None) -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name, ignore_index=ignore_index)
        self.pos_weight = pos_weight

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """BCE of logits ``pred`` [F, 1, H, W] against ``target`` [F, H, W]."""
        logits = pred[:, 0]
        gt = zero_ignored(target, pixel_valid).to(logits.dtype)
        pos_weight = None
        if self.pos_weight is not None:
            pos_weight = logits.new_tensor(float(self.pos_weight))
        loss = F.binary_cross_entropy_with_logits(logits, gt, pos_weight=pos_weight, reduction='none')
        return masked_mean(loss, pixel_valid)


@MODELS.register_module()
class AVSCrossEntropyLoss(BaseAVSSegLoss):
    """Softmax cross-entropy over ``C`` classes (AVSS: 71), averaged over the pixels that count.

    Without ``class_weight`` this is the plain mean of ``-log softmax(x)[g]`` over valid pixels; with it,
    the weighted mean of :func:`torch.nn.functional.cross_entropy` (sum of weighted terms divided by the
    sum of the weights of the valid pixels' classes).

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Loss dict key. Defaults to ``'loss_ce'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        class_weight (Sequence[float], optional): One weight per class. Defaults to None.
    """

    multi_class = True

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce',
                 ignore_index: int = 255,
                 class_weight: Optional[Sequence[float]] = None) -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name, ignore_index=ignore_index)
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """Cross-entropy of logits ``pred`` [F, C, H, W] against class indices ``target`` [F, H, W]."""
        weight = None
        if self.class_weight is not None:
            if len(self.class_weight) != pred.shape[1]:
                raise ValueError(f'AVSCrossEntropyLoss: class_weight has {len(self.class_weight)} entries '
                                 f'for {pred.shape[1]} classes')
            weight = pred.new_tensor(self.class_weight)
        gt = zero_ignored(target, pixel_valid).long()
        loss = F.cross_entropy(pred, gt, reduction='none')
        if weight is None:
            return masked_mean(loss, pixel_valid)
        pixel_weight = weight[gt] * pixel_valid.to(pred.dtype)
        return (loss * pixel_weight).sum() / pixel_weight.sum().clamp(min=torch.finfo(pred.dtype).tiny)
