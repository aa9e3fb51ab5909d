"""Tests of VisualBackbone: PVT-v2 settings, scales / strides, ResNet-50 layout, freezing, init_cfg."""
import pytest
import torch
from mmseg.models.backbones.mit import TransformerEncoderLayer
from mmseg.models.backbones.resnet import BasicBlock
from torch import nn

from mmavs.models.backbones import VisualBackbone
from mmavs.models.backbones.visual_backbone import PVTv2
from mmavs.registry import MODELS


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_pvt_v2_b0_scales_and_strides():
    model = MODELS.build(dict(type='VisualBackbone', arch='pvt_v2_b0')).eval()
    assert model.out_channels == [32, 64, 160, 256]
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 24), (2, 64, 8, 12), (2, 160, 4, 6), (2, 256, 2, 3)]


def test_resnet50_scales_strides_and_torchvision_names():
    model = VisualBackbone(arch='resnet50').eval()
    assert model.out_channels == [256, 512, 1024, 2048]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    state = model.body.state_dict()
    # torchvision resnet50 names and shapes (7x7 single-conv stem, not the V1c deep stem)
    assert state['conv1.weight'].shape == (64, 3, 7, 7)
    assert state['layer1.0.downsample.0.weight'].shape == (256, 64, 1, 1)
    assert state['layer4.2.bn3.running_var'].shape == (2048, )
    assert not any(k.startswith('stem') for k in state)
    assert isinstance(model.body.bn1, nn.BatchNorm2d)
    # torchvision ResNet-50 has 25,557,032 parameters; its fc layer has 2048 * 1000 + 1000
    assert num_params(model) == 25_557_032 - 2_049_000


def test_pvt_v2_b5_parameter_count():
    model = VisualBackbone(arch='pvt_v2_b5')
    # docs/get_started.md: PVT-v2-b5 has 81.4 M parameters without the classification head
    assert abs(num_params(model) / 1e6 - 81.4) <= 0.1


@pytest.mark.parametrize('arch,paper_m,head', [('pvt_v2_b0', 3.7, 256 * 1000 + 1000),
                                               ('pvt_v2_b1', 14.0, 512 * 1000 + 1000),
                                               ('pvt_v2_b2', 25.4, 512 * 1000 + 1000)])
def test_small_pvt_v2_parameter_counts_match_paper(arch, paper_m, head):
    # PVT v2 paper (Table 1, ImageNet models incl. the 1000-class head); the paper rounds to 0.1 M
    model = VisualBackbone(arch=arch)
    assert abs((num_params(model) + head) / 1e6 - paper_m) <= 0.1


def test_pvt_v2_uses_per_stage_mlp_ratios():
    b2 = VisualBackbone(arch='pvt_v2_b2').body
    b5 = VisualBackbone(arch='pvt_v2_b5', drop_path_rate=0.).body
    # stage 1 of b2: 64 channels * 8; stage 3: 320 * 4; b5: 4 everywhere
    assert b2.layers[0][1][0].ffn.feedforward_channels == 512
    assert b2.layers[2][1][0].ffn.feedforward_channels == 1280
    assert b5.layers[0][1][0].ffn.feedforward_channels == 256
    assert [len(layer[1]) for layer in b5.layers] == [3, 6, 40, 3]


def test_pvt_state_dict_matches_mmseg_mit_layout():
    from mmseg.models.backbones import MixVisionTransformer
    ours = PVTv2(embed_dims=32, num_layers=[2, 2, 2, 2], mlp_ratios=[4, 4, 4, 4])
    mit = MixVisionTransformer(embed_dims=32, num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8], mlp_ratio=4)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in mit.state_dict().items()}


def test_pvt_frozen_stages():
    model = VisualBackbone(arch='pvt_v2_b0', frozen_stages=1)
    model.train()
    assert all(not p.requires_grad for p in model.body.layers[0].parameters())
    assert all(p.requires_grad for p in model.body.layers[1].parameters())
    assert not model.body.layers[0].training and model.body.layers[1].training
    stem_only = VisualBackbone(arch='pvt_v2_b0', frozen_stages=0)
    assert all(not p.requires_grad for p in stem_only.body.layers[0][0].parameters())
    assert all(p.requires_grad for p in stem_only.body.layers[0][1].parameters())


def test_resnet_frozen_stages_and_norm_eval():
    model = VisualBackbone(arch='resnet50', frozen_stages=1, norm_eval=True)
    model.train()
    assert not model.body.conv1.weight.requires_grad
    assert not any(p.requires_grad for p in model.body.layer1.parameters())
    assert all(p.requires_grad for p in model.body.layer2.parameters())
    assert not model.body.layer3[0].bn1.training


def test_init_cfg_is_passed_to_the_encoder(tmp_path):
    torch.manual_seed(0)
    source = VisualBackbone(arch='pvt_v2_b0')
    ckpt = tmp_path / 'pvt_v2_b0.pth'
    torch.save(source.body.state_dict(), ckpt)
    target = VisualBackbone(arch='pvt_v2_b0', init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    key = 'layers.3.1.1.attn.attn.in_proj_weight'
    assert not torch.equal(target.body.state_dict()[key], source.body.state_dict()[key])
    target.init_weights()
    for k, v in source.body.state_dict().items():
        assert torch.equal(target.body.state_dict()[k], v), k


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='arch'):
        VisualBackbone(arch='pvt_v2_b9')
    with pytest.raises(ValueError, match='frozen_stages'):
        VisualBackbone(arch='pvt_v2_b0', frozen_stages=5)
    with pytest.raises(ValueError, match=r'\[N, 3, H, W\]'):
        VisualBackbone(arch='pvt_v2_b0')(torch.randn(1, 2, 3, 32, 32))


@pytest.mark.parametrize('arch,torchvision_params', [('resnet18', 11_689_512), ('resnet34', 21_797_672)])
def test_small_resnets_match_torchvision(arch, torchvision_params):
    model = VisualBackbone(arch=arch).eval()
    assert model.out_channels == [64, 128, 256, 512]
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4), (1, 512, 2, 2)]
    # torchvision's published counts minus the fc layer (512 * 1000 + 1000)
    assert num_params(model) == torchvision_params - 513_000
    assert model.body.state_dict()['layer1.0.conv1.weight'].shape == (64, 64, 3, 3)  # BasicBlock


@pytest.mark.parametrize('arch, block_type, block_part', [('pvt_v2_b0', TransformerEncoderLayer, 'attn'),
                                                          ('resnet18', BasicBlock, 'conv1')])
def test_with_cp_recomputes_blocks_in_backward_with_the_same_outputs_and_gradients(arch, block_type, block_part):
    """Activation checkpointing (``with_cp``) changes memory, not results: every block's inner layers run again in
    backward, and the outputs and gradients equal those without it."""
    torch.manual_seed(0)
    plain = VisualBackbone(arch=arch, drop_path_rate=0.0)
    checkpointed = VisualBackbone(arch=arch, drop_path_rate=0.0, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    frames = torch.randn(2, 3, 64, 64)
    results = []
    for model, with_cp in ((plain, False), (checkpointed, True)):
        model.train()
        calls = []
        blocks = [m for m in model.modules() if isinstance(m, block_type)]
        assert blocks and all(block.with_cp == with_cp for block in blocks)
        handle = getattr(blocks[0], block_part).register_forward_hook(lambda *_: calls.append(1))
        outs = model(frames)
        sum((out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() for out in outs).backward()
        handle.remove()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        results.append((outs, grads, len(calls)))
    (outs_p, grads_p, calls_p), (outs_c, grads_c, calls_c) = results
    assert (calls_p, calls_c) == (1, 2)  # the block's layer ran again during backward
    for a, b in zip(outs_p, outs_c):
        torch.testing.assert_close(a, b)
    assert grads_p.keys() == grads_c.keys() and len(grads_p) > 10
    for name, grad in grads_p.items():  # float rounding relative to the gradient's scale (BN sums in another order)
        torch.testing.assert_close(grad, grads_c[name], rtol=1e-4, atol=1e-5 * float(grad.abs().max()), msg=name)
