"""Tests of AVSPixelNeck: shapes, top-down information flow, input checks."""
import pytest
import torch

from mmavs.models.necks import AVSPixelNeck
from mmavs.registry import MODELS


def make_inputs(seed: int = 0):
    torch.manual_seed(seed)
    return [torch.randn(2, c, s, s) for c, s in zip([8, 16, 24, 32], [16, 8, 4, 2])]


def build_neck() -> AVSPixelNeck:
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='AVSPixelNeck', in_channels=[8, 16, 24, 32], channels=16,
             norm_cfg=dict(type='GN', num_groups=4))).eval()


def test_shapes():
    neck = build_neck()
    outs, mask_features = neck(make_inputs())
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 16), (2, 16, 8, 8), (2, 16, 4, 4), (2, 16, 2, 2)]
    assert tuple(mask_features.shape) == (2, 16, 16, 16)


def test_top_down_flow():
    neck = build_neck()
    inputs = make_inputs()
    outs, mask = neck(inputs)
    coarse_changed = list(inputs)
    coarse_changed[3] = torch.randn_like(inputs[3])
    outs2, mask2 = neck(coarse_changed)
    # the coarsest scale reaches the finest output and the mask features (top-down path)
    assert not torch.allclose(outs2[0], outs[0])
    assert not torch.allclose(mask2, mask)
    fine_changed = list(inputs)
    fine_changed[0] = torch.randn_like(inputs[0])
    outs3, _ = neck(fine_changed)
    # ... but the finest scale does not reach the coarser outputs (no bottom-up path in an FPN)
    for i in (1, 2, 3):
        assert torch.equal(outs3[i], outs[i])


def test_input_checks():
    neck = build_neck()
    inputs = make_inputs()
    with pytest.raises(ValueError, match='feature maps'):
        neck(inputs[:3])
    bad = list(inputs)
    bad[1] = torch.randn(2, 17, 8, 8)
    with pytest.raises(ValueError, match='channels'):
        neck(bad)
    with pytest.raises(ValueError, match='num_groups'):
        AVSPixelNeck(in_channels=[8, 16], channels=20)


def test_channels_last_computes_the_same_and_keeps_its_format_through_init_and_loading():
    neck = build_neck()  # channels_last=True by default
    torch.manual_seed(0)
    plain = MODELS.build(dict(type='AVSPixelNeck', in_channels=[8, 16, 24, 32], channels=16,
                              norm_cfg=dict(type='GN', num_groups=4), channels_last=False)).eval()
    assert neck.state_dict().keys() == plain.state_dict().keys()
    plain.load_state_dict(neck.state_dict())
    neck.init_weights()
    neck.load_state_dict(plain.state_dict())
    convs = [m.weight for m in neck.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    assert not any(w.is_contiguous() for w in convs if w.shape[-1] == 3)  # (1x1 kernels are both)
    inputs = make_inputs()
    (outs, mask), (ref_outs, ref_mask) = neck(inputs), plain(inputs)
    torch.testing.assert_close(mask, ref_mask, rtol=1e-5, atol=1e-5)
    for out, ref in zip(outs, ref_outs):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
