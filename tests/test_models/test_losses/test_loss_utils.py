"""Tests of the shared loss base: frame selection, ignored pixels, input checks."""
import pytest
import torch

from mmavs.models.losses import AVSBCELoss, AVSCrossEntropyLoss
from mmavs.models.losses.utils import masked_mean


def test_masked_mean_hand_computed():
    values = torch.tensor([[1., 2.], [3., 10.]])
    mask = torch.tensor([[True, False], [True, False]])
    assert masked_mean(values, mask).item() == pytest.approx(2.0)


def test_valid_mask_equals_loss_on_selected_frames():
    torch.manual_seed(0)
    loss = AVSBCELoss()
    pred = torch.randn(4, 1, 5, 6)
    target = torch.randint(0, 2, (4, 5, 6))
    valid = torch.tensor([True, False, True, False])
    expected = loss(pred[valid], target[valid])
    assert torch.allclose(loss(pred, target, valid), expected)


def test_invalid_frames_do_not_change_the_loss():
    torch.manual_seed(0)
    loss = AVSBCELoss()
    pred = torch.randn(3, 1, 4, 4)
    target = torch.randint(0, 2, (3, 4, 4))
    valid = torch.tensor([True, False, True])
    before = loss(pred, target, valid)
    pred2, target2 = pred.clone(), target.clone()
    pred2[1] = 100.
    target2[1] = 1 - target2[1]
    assert torch.equal(loss(pred2, target2, valid), before)


def test_no_valid_frame_gives_differentiable_zero():
    pred = torch.randn(2, 1, 3, 3, requires_grad=True)
    target = torch.randint(0, 2, (2, 3, 3))
    value = AVSBCELoss()(pred, target, torch.tensor([False, False]))
    assert value.item() == 0.
    value.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_all_pixels_ignored_gives_zero():
    pred = torch.randn(2, 3, 3, 3)
    target = torch.full((2, 3, 3), 255)
    assert AVSCrossEntropyLoss()(pred, target).item() == 0.


def test_loss_weight_scales():
    torch.manual_seed(0)
    pred = torch.randn(2, 1, 3, 3)
    target = torch.randint(0, 2, (2, 3, 3))
    assert torch.allclose(AVSBCELoss(loss_weight=2.5)(pred, target), 2.5 * AVSBCELoss()(pred, target))


@pytest.mark.parametrize('pred_shape,target_shape', [((2, 1, 4, 4), (2, 4, 5)), ((2, 1, 4, 4), (3, 4, 4)),
                                                     ((2, 4, 4), (2, 4, 4))])
def test_shape_mismatch_raises(pred_shape, target_shape):
    with pytest.raises(ValueError, match='AVSBCELoss'):
        AVSBCELoss()(torch.randn(pred_shape), torch.zeros(target_shape, dtype=torch.long))


def test_channel_count_checked():
    with pytest.raises(ValueError, match='binary'):
        AVSBCELoss()(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match='multi-class'):
        AVSCrossEntropyLoss()(torch.randn(1, 1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))


def test_target_range_and_dtype_checked():
    with pytest.raises(ValueError, match='target values'):
        AVSBCELoss()(torch.randn(1, 1, 2, 2), torch.tensor([[[0, 2], [1, 0]]]))
    with pytest.raises(ValueError, match='target values'):
        AVSCrossEntropyLoss()(torch.randn(1, 3, 2, 2), torch.tensor([[[0, 3], [1, 255]]]))
    with pytest.raises(ValueError, match='integer'):
        AVSBCELoss()(torch.randn(1, 1, 2, 2), torch.zeros(1, 2, 2))


def test_valid_mask_length_checked():
    with pytest.raises(ValueError, match='valid_mask'):
        AVSBCELoss()(torch.randn(2, 1, 2, 2), torch.zeros(2, 2, 2, dtype=torch.long), torch.tensor([True]))


def test_loss_name_must_start_with_loss():
    with pytest.raises(ValueError, match='loss_name'):
        AVSBCELoss(loss_name='bce')
    assert AVSBCELoss(loss_name='loss_x').loss_name == 'loss_x'


@pytest.mark.parametrize('loss_type', ['AVSBCELoss', 'AVSDiceLoss', 'AVSFocalLoss', 'AVSCrossEntropyLoss',
                                       'AVSSoftmaxDiceLoss', 'AVSSoftmaxFocalLoss'])
@pytest.mark.parametrize('weight', [-1, -1e-9, float('nan'), float('inf'), float('-inf'), 'heavy'])
def test_segmentation_losses_reject_bad_weights(loss_type, weight):
    # A negative weight trains toward the inverse mask, NaN / inf make the model NaN: config errors.
    from mmavs.registry import MODELS
    with pytest.raises(ValueError, match=rf'{loss_type}: loss_weight must be a finite number >= 0'):
        MODELS.build(dict(type=loss_type, loss_weight=weight))


@pytest.mark.parametrize('weight', [0, 0.5, 2])
def test_segmentation_losses_scale_by_valid_weights(weight):
    torch.manual_seed(0)
    pred = torch.randn(2, 1, 4, 4)
    target = torch.randint(0, 2, (2, 4, 4))
    unweighted = AVSBCELoss()(pred, target)
    assert torch.allclose(AVSBCELoss(loss_weight=weight)(pred, target), weight * unweighted)


def test_segmentor_config_with_negative_loss_weight_fails_at_build():
    from mmengine.config import Config

    from mmavs.registry import MODELS
    from mmavs.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile('configs/baseline/baseline_tiny_synthetic_s4.py')
    cfg.model.losses[0].loss_weight = -1
    with pytest.raises(ValueError, match='loss_weight must be a finite number >= 0, got -1'):
        MODELS.build(cfg.model)
