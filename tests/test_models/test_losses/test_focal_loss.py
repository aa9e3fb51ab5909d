"""Tests of AVSFocalLoss and AVSSoftmaxFocalLoss: reductions to BCE / CE and hand-computed values."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmavs.models.losses import AVSBCELoss, AVSCrossEntropyLoss, AVSFocalLoss, AVSSoftmaxFocalLoss


def test_binary_focal_gamma0_equals_bce():
    torch.manual_seed(0)
    pred = torch.randn(3, 1, 5, 5)
    target = torch.randint(0, 2, (3, 5, 5))
    target[2, 1] = 255
    valid = torch.tensor([True, True, False])
    focal = AVSFocalLoss(gamma=0., alpha=None)(pred, target, valid)
    assert torch.allclose(focal, AVSBCELoss()(pred, target, valid), atol=1e-6)


def test_binary_focal_alpha_weights_classes():
    torch.manual_seed(1)
    pred = torch.randn(2, 1, 4, 4)
    target = torch.randint(0, 2, (2, 4, 4))
    ce = F.binary_cross_entropy_with_logits(pred[:, 0], target.float(), reduction='none')
    weights = torch.where(target == 1, torch.tensor(0.25), torch.tensor(0.75))
    expected = (ce * weights).mean()
    assert torch.allclose(AVSFocalLoss(gamma=0., alpha=0.25)(pred, target), expected, atol=1e-6)


def test_binary_focal_hand_computed():
    # x = 0, g = 1: p_t = 0.5, FL = 0.25 * (0.5)^2 * log 2
    pred = torch.zeros(1, 1, 1, 1)
    target = torch.ones(1, 1, 1, dtype=torch.long)
    assert AVSFocalLoss()(pred, target).item() == pytest.approx(0.25 * 0.25 * math.log(2.))
    # x = 2, g = 0: p_t = 1 - sigmoid(2), FL = 0.75 * sigmoid(2)^2 * -log(1 - sigmoid(2))
    s = 1. / (1. + math.exp(-2.))
    pred = torch.full((1, 1, 1, 1), 2.)
    target = torch.zeros(1, 1, 1, dtype=torch.long)
    assert AVSFocalLoss()(pred, target).item() == pytest.approx(0.75 * s**2 * -math.log(1. - s), rel=1e-5)


def test_binary_focal_downweights_easy_pixels():
    pred = torch.tensor([5., -5., 0.3]).view(3, 1, 1, 1)
    target = torch.tensor([1, 0, 1]).view(3, 1, 1)
    focal = AVSFocalLoss(gamma=2., alpha=None)
    bce = AVSBCELoss()
    for i in range(3):
        assert focal(pred[i:i + 1], target[i:i + 1]) < bce(pred[i:i + 1], target[i:i + 1])


def test_softmax_focal_gamma0_equals_ce():
    torch.manual_seed(2)
    pred = torch.randn(2, 71, 4, 4)
    target = torch.randint(0, 71, (2, 4, 4))
    target[0, 0] = 255
    focal = AVSSoftmaxFocalLoss(gamma=0.)(pred, target)
    assert torch.allclose(focal, AVSCrossEntropyLoss()(pred, target), atol=1e-6)
    assert torch.allclose(focal, F.cross_entropy(pred, target, ignore_index=255), atol=1e-6)


def test_softmax_focal_hand_computed():
    # uniform logits over 4 classes: p_t = 0.25, FL = 0.75^2 * log 4
    pred = torch.zeros(1, 4, 2, 2)
    target = torch.tensor([[[0, 1], [2, 3]]])
    assert AVSSoftmaxFocalLoss()(pred, target).item() == pytest.approx(0.75**2 * math.log(4.))
    # per-class alpha [1, 0, 0, 0] keeps only the pixel of class 0, averaged over the 4 valid pixels
    value = AVSSoftmaxFocalLoss(alpha=[1., 0., 0., 0.])(pred, target).item()
    assert value == pytest.approx(0.75**2 * math.log(4.) / 4)


def test_focal_parameter_checks():
    with pytest.raises(ValueError, match='gamma'):
        AVSFocalLoss(gamma=-1.)
    with pytest.raises(ValueError, match='alpha'):
        AVSFocalLoss(alpha=1.5)
    with pytest.raises(ValueError, match='alpha'):
        AVSSoftmaxFocalLoss(alpha=[1., 2.])(torch.zeros(1, 3, 1, 1), torch.zeros(1, 1, 1, dtype=torch.long))
