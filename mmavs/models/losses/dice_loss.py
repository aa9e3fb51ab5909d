"""Dice losses for AVS: sigmoid (binary) and softmax (multi-class) forms."""
import torch.nn.functional as F
from torch import Tensor

from mmavs.registry import MODELS

from .utils import BaseAVSSegLoss, zero_ignored


def _dice_per_frame(prob: Tensor, gt: Tensor, valid: Tensor, smooth: float) -> Tensor:
    """Dice loss ``1 - (2 sum(p g) + s) / (sum(p) + sum(g) + s)`` over the last two dims.

    Args:
        prob (Tensor): Probabilities ``[..., H, W]``.
        gt (Tensor): Float targets in {0, 1}, same shape.
        valid (Tensor): Float 0/1 pixel weights, same shape.
        smooth (float): Smoothing term ``s``.

    Returns:
        Tensor: Loss ``[...]``.
    """
    prob = prob * valid
    gt = gt * valid
    inter = (prob * gt).flatten(-2).sum(-1)
    denom = prob.flatten(-2).sum(-1) + gt.flatten(-2).sum(-1)
    return 1. - (2. * inter + smooth) / (denom + smooth)


@MODELS.register_module()
class AVSDiceLoss(BaseAVSSegLoss):
    """Binary Dice loss on ``sigmoid(logits)``, computed per frame and averaged over frames.

    Per frame: ``1 - (2 sum(p g) + smooth) / (sum(p) + sum(g) + smooth)`` over its non-ignored pixels (the
    AVSBench form uses ``smooth = 1``). Frames whose pixels are all ignored are left out of the mean.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Loss dict key. Defaults to ``'loss_dice'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        smooth (float): Smoothing term. Defaults to 1.0.
    """

    multi_class = False

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice',
                 ignore_index: int = 255,
                 smooth: float = 1.0) -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name, ignore_index=ignore_index)
        self.smooth = float(smooth)

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """Dice of ``sigmoid(pred)`` [F, 1, H, W] against 0/1 ``target`` [F, H, W]."""
        prob = pred[:, 0].sigmoid()
        valid = pixel_valid.to(prob.dtype)
        gt = (target == 1).to(prob.dtype)
        loss = _dice_per_frame(prob, gt, valid, self.smooth)
        frame_has_pixels = pixel_valid.flatten(1).any(1)
        return loss[frame_has_pixels].mean()


@MODELS.register_module()
class AVSSoftmaxDiceLoss(BaseAVSSegLoss):
    """Multi-class Dice loss on ``softmax(logits)`` against one-hot targets.

    For every frame and class ``c``: ``1 - (2 sum(p_c g_c) + smooth) / (sum(p_c) + sum(g_c) + smooth)`` over
    the frame's non-ignored pixels; the loss is the mean over classes (all ``C``, background included
    unless ``include_background=False``) and then over frames.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Loss dict key. Defaults to ``'loss_dice'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        smooth (float): Smoothing term. Defaults to 1.0.
        include_background (bool): Whether class 0 enters the class mean. Defaults to True.
    """

    multi_class = True

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice',
                 ignore_index: int = 255,
                 smooth: float = 1.0,
                 include_background: bool = True) -> None:
        super().__init__(loss_weight=loss_weight, loss_name=loss_name, ignore_index=ignore_index)
        self.smooth = float(smooth)
        self.include_background = include_background

    def compute(self, pred: Tensor, target: Tensor, pixel_valid: Tensor) -> Tensor:
        """Dice of ``softmax(pred)`` [F, C, H, W] against class indices ``target`` [F, H, W]."""
        num_classes = pred.shape[1]
        prob = pred.softmax(dim=1)
        gt_index = zero_ignored(target, pixel_valid).long()
        gt = F.one_hot(gt_index, num_classes).permute(0, 3, 1, 2).to(prob.dtype)
        valid = pixel_valid.unsqueeze(1).to(prob.dtype)
        loss = _dice_per_frame(prob, gt, valid, self.smooth)  # [F, C]
        if not self.include_background:
            loss = loss[:, 1:]
        frame_has_pixels = pixel_valid.flatten(1).any(1)
        return loss[frame_has_pixels].mean()
