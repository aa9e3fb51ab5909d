"""Segmentation losses (binary sigmoid forms and multi-class softmax forms)."""
from .cdcl_loss import CDCLLoss
from .counterfactual_losses import CounterfactualEffectLoss, LatentLoss, OrthogonalityLoss
from .cross_entropy_loss import AVSBCELoss, AVSCrossEntropyLoss
from .dice_loss import AVSDiceLoss, AVSSoftmaxDiceLoss
from .focal_loss import AVSFocalLoss, AVSSoftmaxFocalLoss
from .utils import BaseAVSSegLoss

__all__ = [
    'BaseAVSSegLoss', 'AVSBCELoss', 'AVSCrossEntropyLoss', 'AVSDiceLoss', 'AVSSoftmaxDiceLoss',
    'AVSFocalLoss', 'AVSSoftmaxFocalLoss', 'CDCLLoss', 'CounterfactualEffectLoss', 'LatentLoss',
    'OrthogonalityLoss'
]
