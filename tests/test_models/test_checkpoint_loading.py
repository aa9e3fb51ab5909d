"""Tests of the pretrained checkpoint loading of mmavs.models.utils: official checkpoints -> mmavs modules.

The official state dicts are built here from the published architectures (key names and shapes of
whai362/PVT ``pvt_v2.py``, torchvision ``resnet50``, torchvggish ``VGGish`` and OpenAI CLIP), and the
reference forwards are hand-written from those architectures, independent of the mmavs / mmseg modules.
"""
import math
import os.path as osp
from typing import Dict, List, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from mmavs.models.backbones import AudioBackbone, VisualBackbone
from mmavs.models.text import CLIPCaptionEncoder
from mmavs.models.utils import (
    MODEL_ZOO_DOC,
    convert_checkpoint,
    detect_family,
    infer_pvt_v2_arch,
    load_pretrained,
    load_state_dict_file,
)

# ----------------------------------------------------------------------------------------------------------
# Official PVT-v2
# ----------------------------------------------------------------------------------------------------------
PVT_HEADS = (1, 2, 5, 8)
PVT_SR = (8, 4, 2, 1)
PVT_B0 = dict(embed=32, depths=(2, 2, 2, 2), ratios=(8, 8, 4, 4))
PVT_B1 = dict(embed=64, depths=(2, 2, 2, 2), ratios=(8, 8, 4, 4))
PVT_B2 = dict(embed=64, depths=(3, 4, 6, 3), ratios=(8, 8, 4, 4))


def official_pvt_v2(embed: int, depths: Sequence[int], ratios: Sequence[int], seed: int = 0) -> Dict[str, Tensor]:
    """State dict with the official ``PyramidVisionTransformerV2`` names and shapes (1000-class head)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, scale: float = 0.2) -> Tensor:
        return torch.randn(*shape, generator=g) * scale

    sd: Dict[str, Tensor] = {}
    cin = 3
    for s in range(4):
        c = embed * PVT_HEADS[s]
        k = 7 if s == 0 else 3
        i = s + 1
        sd[f'patch_embed{i}.proj.weight'] = rnd(c, cin, k, k, scale=1 / math.sqrt(cin * k * k))
        sd[f'patch_embed{i}.proj.bias'] = rnd(c)
        sd[f'patch_embed{i}.norm.weight'] = 1 + rnd(c)
        sd[f'patch_embed{i}.norm.bias'] = rnd(c)
        hidden = c * ratios[s]
        for j in range(depths[s]):
            p = f'block{i}.{j}.'
            for n in ('norm1', 'norm2'):
                sd[p + n + '.weight'] = 1 + rnd(c)
                sd[p + n + '.bias'] = rnd(c)
            sd[p + 'attn.q.weight'] = rnd(c, c, scale=1 / math.sqrt(c))
            sd[p + 'attn.q.bias'] = rnd(c)
            sd[p + 'attn.kv.weight'] = rnd(2 * c, c, scale=1 / math.sqrt(c))
            sd[p + 'attn.kv.bias'] = rnd(2 * c)
            sd[p + 'attn.proj.weight'] = rnd(c, c, scale=1 / math.sqrt(c))
            sd[p + 'attn.proj.bias'] = rnd(c)
            if PVT_SR[s] > 1:
                r = PVT_SR[s]
                sd[p + 'attn.sr.weight'] = rnd(c, c, r, r, scale=1 / math.sqrt(c * r * r))
                sd[p + 'attn.sr.bias'] = rnd(c)
                sd[p + 'attn.norm.weight'] = 1 + rnd(c)
                sd[p + 'attn.norm.bias'] = rnd(c)
            sd[p + 'mlp.fc1.weight'] = rnd(hidden, c, scale=1 / math.sqrt(c))
            sd[p + 'mlp.fc1.bias'] = rnd(hidden)
            sd[p + 'mlp.dwconv.dwconv.weight'] = rnd(hidden, 1, 3, 3, scale=1 / 3)
            sd[p + 'mlp.dwconv.dwconv.bias'] = rnd(hidden)
            sd[p + 'mlp.fc2.weight'] = rnd(c, hidden, scale=1 / math.sqrt(hidden))
            sd[p + 'mlp.fc2.bias'] = rnd(c)
        sd[f'norm{i}.weight'] = 1 + rnd(c)
        sd[f'norm{i}.bias'] = rnd(c)
        cin = c
    sd['head.weight'] = rnd(1000, cin)
    sd['head.bias'] = rnd(1000)
    return sd


def reference_pvt_v2(sd: Dict[str, Tensor], x: Tensor, depths: Sequence[int]) -> List[Tensor]:
    """Forward of the official PVT-v2 (segmentation form: the 4 normalised stage maps), written from the
    published code: OverlapPatchEmbed (conv k/stride/pad k//2, LayerNorm eps 1e-5), blocks
    ``x + attn(norm1(x))``, ``x + mlp(norm2(x))`` (norms eps 1e-6), spatial-reduction attention (conv r/r then
    LayerNorm eps 1e-5 on keys/values), Mlp fc1 -> 3x3 depthwise conv -> GELU -> fc2, stage norm eps 1e-6."""
    outs = []
    b = x.shape[0]
    for s in range(4):
        i = s + 1
        w = sd[f'patch_embed{i}.proj.weight']
        k = w.shape[-1]
        x = F.conv2d(x, w, sd[f'patch_embed{i}.proj.bias'], stride=4 if s == 0 else 2, padding=k // 2)
        c, h, wd = x.shape[1:]
        t = x.flatten(2).transpose(1, 2)
        t = F.layer_norm(t, (c, ), sd[f'patch_embed{i}.norm.weight'], sd[f'patch_embed{i}.norm.bias'], 1e-5)
        heads, hd = PVT_HEADS[s], c // PVT_HEADS[s]
        for j in range(depths[s]):
            p = f'block{i}.{j}.'
            y = F.layer_norm(t, (c, ), sd[p + 'norm1.weight'], sd[p + 'norm1.bias'], 1e-6)
            q = F.linear(y, sd[p + 'attn.q.weight'], sd[p + 'attn.q.bias'])
            q = q.reshape(b, -1, heads, hd).permute(0, 2, 1, 3)
            if PVT_SR[s] > 1:
                y_ = y.transpose(1, 2).reshape(b, c, h, wd)
                y_ = F.conv2d(y_, sd[p + 'attn.sr.weight'], sd[p + 'attn.sr.bias'], stride=PVT_SR[s])
                y_ = y_.reshape(b, c, -1).transpose(1, 2)
                y_ = F.layer_norm(y_, (c, ), sd[p + 'attn.norm.weight'], sd[p + 'attn.norm.bias'], 1e-5)
            else:
                y_ = y
            kv = F.linear(y_, sd[p + 'attn.kv.weight'], sd[p + 'attn.kv.bias'])
            kv = kv.reshape(b, -1, 2, heads, hd).permute(2, 0, 3, 1, 4)
            attn = (q @ kv[0].transpose(-2, -1)) * hd**-0.5
            a = (attn.softmax(-1) @ kv[1]).transpose(1, 2).reshape(b, -1, c)
            t = t + F.linear(a, sd[p + 'attn.proj.weight'], sd[p + 'attn.proj.bias'])
            y = F.layer_norm(t, (c, ), sd[p + 'norm2.weight'], sd[p + 'norm2.bias'], 1e-6)
            y = F.linear(y, sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias'])
            hid = y.shape[-1]
            y = F.conv2d(y.transpose(1, 2).reshape(b, hid, h, wd), sd[p + 'mlp.dwconv.dwconv.weight'],
                         sd[p + 'mlp.dwconv.dwconv.bias'], padding=1, groups=hid)
            y = F.gelu(y.flatten(2).transpose(1, 2))
            t = t + F.linear(y, sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
        t = F.layer_norm(t, (c, ), sd[f'norm{i}.weight'], sd[f'norm{i}.bias'], 1e-6)
        x = t.transpose(1, 2).reshape(b, c, h, wd)
        outs.append(x)
    return outs


def test_pvt_v2_official_coverage_and_round_trip() -> None:
    sd = official_pvt_v2(**PVT_B0)
    backbone = VisualBackbone('pvt_v2_b0', drop_path_rate=0.)
    report = load_pretrained(backbone, sd)
    assert report.missing == [] and report.unexpected == []
    assert report.dropped == ['head.bias', 'head.weight']
    assert sorted(report.loaded) == sorted(backbone.body.state_dict())
    # every official tensor (except the head) ends up in the module; q and kv are packed as [q; k; v]
    body = backbone.body
    blk = body.layers[2][1][1]  # stage 3, block 1
    c = 32 * 5
    assert torch.equal(blk.attn.attn.in_proj_weight[:c], sd['block3.1.attn.q.weight'])
    assert torch.equal(blk.attn.attn.in_proj_weight[c:], sd['block3.1.attn.kv.weight'])
    qkv_bias = torch.cat([sd['block3.1.attn.q.bias'], sd['block3.1.attn.kv.bias']])
    assert torch.equal(blk.attn.attn.in_proj_bias, qkv_bias)
    assert torch.equal(blk.ffn.layers[0].weight[:, :, 0, 0], sd['block3.1.mlp.fc1.weight'])
    assert torch.equal(blk.ffn.layers[4].weight[:, :, 0, 0], sd['block3.1.mlp.fc2.weight'])
    assert torch.equal(body.layers[3][2].weight, sd['norm4.weight'])
    total = sum(v.numel() for k, v in sd.items() if not k.startswith('head.'))
    assert sum(p.numel() for p in body.parameters()) == total


def test_pvt_v2_matches_the_official_forward() -> None:
    sd = official_pvt_v2(**PVT_B0, seed=1)
    backbone = VisualBackbone('pvt_v2_b0', drop_path_rate=0.)
    load_pretrained(backbone, sd)
    backbone.eval()
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = backbone(x)
        ref = reference_pvt_v2(sd, x, PVT_B0['depths'])
    assert [tuple(o.shape) for o in ours] == [(2, 32, 16, 24), (2, 64, 8, 12), (2, 160, 4, 6), (2, 256, 2, 3)]
    # tight enough to tell the official LayerNorm eps (1e-5 in patch embeddings / spatial reduction) from 1e-6
    for o, r in zip(ours, ref):
        torch.testing.assert_close(o, r, rtol=0, atol=1e-5)


def test_pvt_v2_converted_layout_loads_and_arch_is_inferred() -> None:
    sd = official_pvt_v2(**PVT_B0)
    converted = convert_checkpoint(sd, 'pvt_v2').state_dict
    assert detect_family(converted) == 'mmseg_mit'
    assert infer_pvt_v2_arch(sd) == infer_pvt_v2_arch(converted) == 'pvt_v2_b0'
    assert infer_pvt_v2_arch(official_pvt_v2(**PVT_B2)) == 'pvt_v2_b2'
    a, b = VisualBackbone('pvt_v2_b0'), VisualBackbone('pvt_v2_b0')
    load_pretrained(a, sd)
    load_pretrained(b, converted)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_pvt_v2_wrong_variant_is_an_error_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"shape mismatch for 'layers\.0\.0\.projection\.weight'"):
        load_pretrained(VisualBackbone('pvt_v2_b0'), official_pvt_v2(**PVT_B1))
    # b2 has more blocks than b1: the extra ones are unexpected
    with pytest.raises(ValueError, match=r"unexpected key\(s\).*layers\.0\.1\.2\."):
        load_pretrained(VisualBackbone('pvt_v2_b1'), official_pvt_v2(**PVT_B2))
    sd = official_pvt_v2(**PVT_B0)
    del sd['block4.1.mlp.fc2.bias']
    with pytest.raises(ValueError, match=r"missing key\(s\).*layers\.3\.1\.1\.ffn\.layers\.4\.bias"):
        load_pretrained(VisualBackbone('pvt_v2_b0'), sd)
    report = load_pretrained(VisualBackbone('pvt_v2_b0'), sd, strict=False)
    assert report.missing == ['layers.3.1.1.ffn.layers.4.bias']


# ----------------------------------------------------------------------------------------------------------
# torchvision ResNet-50
# ----------------------------------------------------------------------------------------------------------
def _bn(sd: Dict[str, Tensor], name: str, c: int, g: torch.Generator) -> None:
    sd[name + '.weight'] = 1 + 0.1 * torch.randn(c, generator=g)
    sd[name + '.bias'] = 0.1 * torch.randn(c, generator=g)
    sd[name + '.running_mean'] = 0.1 * torch.randn(c, generator=g)
    sd[name + '.running_var'] = 0.5 + torch.rand(c, generator=g)


def official_resnet50(seed: int = 0) -> Dict[str, Tensor]:
    """torchvision ``resnet50`` state dict (the 2017 ``resnet50-19c8e357.pth`` has no num_batches_tracked)."""
    g = torch.Generator().manual_seed(seed)

    def conv(o: int, i: int, k: int) -> Tensor:
        return torch.randn(o, i, k, k, generator=g) * math.sqrt(2. / (i * k * k))

    sd = {'conv1.weight': conv(64, 3, 7)}
    _bn(sd, 'bn1', 64, g)
    cin = 64
    for li, (n, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512)), 1):
        for j in range(n):
            p = f'layer{li}.{j}.'
            sd[p + 'conv1.weight'] = conv(width, cin, 1)
            _bn(sd, p + 'bn1', width, g)
            sd[p + 'conv2.weight'] = conv(width, width, 3)
            _bn(sd, p + 'bn2', width, g)
            sd[p + 'conv3.weight'] = conv(width * 4, width, 1)
            _bn(sd, p + 'bn3', width * 4, g)
            if j == 0:
                sd[p + 'downsample.0.weight'] = conv(width * 4, cin, 1)
                _bn(sd, p + 'downsample.1', width * 4, g)
            cin = width * 4
    sd['fc.weight'] = torch.randn(1000, 2048, generator=g) * 0.01
    sd['fc.bias'] = torch.zeros(1000)
    return sd


def reference_resnet50(sd: Dict[str, Tensor], x: Tensor) -> List[Tensor]:
    """torchvision ResNet-50 (v1.5: stride on the 3x3 conv) in eval mode; outputs of layer1..layer4."""

    def bn(t: Tensor, n: str) -> Tensor:
        return F.batch_norm(t, sd[n + '.running_mean'], sd[n + '.running_var'], sd[n + '.weight'],
                            sd[n + '.bias'], False, 0., 1e-5)

    x = F.relu(bn(F.conv2d(x, sd['conv1.weight'], stride=2, padding=3), 'bn1'))
    x = F.max_pool2d(x, 3, 2, 1)
    outs = []
    for li, n in enumerate((3, 4, 6, 3), 1):
        for j in range(n):
            p = f'layer{li}.{j}.'
            stride = 2 if (j == 0 and li > 1) else 1
            y = F.relu(bn(F.conv2d(x, sd[p + 'conv1.weight']), p + 'bn1'))
            y = F.relu(bn(F.conv2d(y, sd[p + 'conv2.weight'], stride=stride, padding=1), p + 'bn2'))
            y = bn(F.conv2d(y, sd[p + 'conv3.weight']), p + 'bn3')
            idt = bn(F.conv2d(x, sd[p + 'downsample.0.weight'], stride=stride), p + 'downsample.1') \
                if j == 0 else x
            x = F.relu(y + idt)
        outs.append(x)
    return outs


def test_resnet50_torchvision_coverage_and_forward() -> None:
    sd = official_resnet50()
    backbone = VisualBackbone('resnet50')
    report = load_pretrained(backbone, sd)
    assert report.unexpected == [] and report.missing == []
    assert report.dropped == ['fc.bias', 'fc.weight']
    assert report.allowed_missing and all(k.endswith('num_batches_tracked') for k in report.allowed_missing)
    params = {k for k, _ in backbone.body.named_parameters()}
    assert params <= set(report.loaded)
    backbone.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours, ref = backbone(x), reference_resnet50(sd, x)
    for o, r in zip(ours, ref):
        torch.testing.assert_close(o, r, rtol=1e-4, atol=1e-4)


def test_wrong_family_fails_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match='torchvision ResNet checkpoint, but the pvt_v2 module needs'):
        load_pretrained(VisualBackbone('pvt_v2_b0'), official_resnet50())
    with pytest.raises(ValueError, match='official PVT-v2.*resnet module needs torchvision ResNet'):
        load_pretrained(VisualBackbone('resnet50'), official_pvt_v2(**PVT_B0))
    with pytest.raises(ValueError, match='torchvggish VGGish weights'):
        load_pretrained(AudioBackbone(channels=(4, ) * 6, embed_dims=(8, 8, 8)), official_resnet50())


# ----------------------------------------------------------------------------------------------------------
# torchvggish VGGish
# ----------------------------------------------------------------------------------------------------------
def official_vggish(channels: Sequence[int], embed: Sequence[int], seed: int = 0) -> Dict[str, Tensor]:
    """torchvggish ``VGG`` state dict: ``features.{0,3,6,8,11,13}`` convs, ``embeddings.{0,2,4}`` linears."""
    g = torch.Generator().manual_seed(seed)
    sd, cin = {}, 1
    for idx, c in zip((0, 3, 6, 8, 11, 13), channels):
        sd[f'features.{idx}.weight'] = torch.randn(c, cin, 3, 3, generator=g) * math.sqrt(2 / (9 * cin))
        sd[f'features.{idx}.bias'] = 0.05 * torch.randn(c, generator=g)
        cin = c
    fin = cin * 24
    for idx, e in zip((0, 2, 4), embed):
        sd[f'embeddings.{idx}.weight'] = torch.randn(e, fin, generator=g) * math.sqrt(2 / fin)
        sd[f'embeddings.{idx}.bias'] = 0.05 * torch.randn(e, generator=g)
        fin = e
    return sd


def reference_vggish(sd: Dict[str, Tensor], x: Tensor) -> Tensor:
    """torchvggish ``VGGish.forward`` without PCA: VGG features, NHWC flatten (transpose(1,3), transpose(1,2)),
    embeddings Linear-ReLU x3."""
    for idx in (0, 3, 6, 8, 11, 13):
        x = F.relu(F.conv2d(x, sd[f'features.{idx}.weight'], sd[f'features.{idx}.bias'], padding=1))
        if idx in (0, 3, 8, 13):
            x = F.max_pool2d(x, 2, 2)
    x = x.transpose(1, 3).transpose(1, 2).contiguous().view(x.size(0), -1)
    for idx in (0, 2, 4):
        x = F.relu(F.linear(x, sd[f'embeddings.{idx}.weight'], sd[f'embeddings.{idx}.bias']))
    return x


def test_vggish_official_sizes_coverage() -> None:
    sd = {k: torch.zeros_like(v) for k, v in official_vggish((4, ) * 6, (8, 8, 8)).items()}
    # shapes of the real vggish-10086976.pth
    full = dict(sd)
    cin = 1
    for idx, c in zip((0, 3, 6, 8, 11, 13), (64, 128, 256, 256, 512, 512)):
        full[f'features.{idx}.weight'], full[f'features.{idx}.bias'] = torch.zeros(c, cin, 3, 3), torch.zeros(c)
        cin = c
    for idx, (o, i) in zip((0, 2, 4), ((4096, 12288), (4096, 4096), (128, 4096))):
        full[f'embeddings.{idx}.weight'], full[f'embeddings.{idx}.bias'] = torch.zeros(o, i), torch.zeros(o)
    model = AudioBackbone(out_channels=256)
    report = load_pretrained(model, full)
    assert report.missing == [] and report.unexpected == [] and report.dropped == []
    assert sorted(report.loaded) == sorted(full)
    assert sorted(report.allowed_missing) == ['proj.bias', 'proj.weight']


def test_vggish_matches_torchvggish_forward() -> None:
    channels, embed = (8, 16, 16, 16, 32, 32), (64, 64, 16)
    sd = official_vggish(channels, embed, seed=4)
    model = AudioBackbone(out_channels=None, channels=channels, embed_dims=embed)
    load_pretrained(model, sd)
    x = torch.randn(3, 1, 96, 64, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(model(x), reference_vggish(sd, x), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# OpenAI CLIP / open_clip text tower
# ----------------------------------------------------------------------------------------------------------
CLIP_W, CLIP_L, CLIP_H, CLIP_E, CLIP_CTX, CLIP_VOCAB = 32, 2, 4, 16, 77, 49408


def official_clip(seed: int = 0) -> Dict[str, Tensor]:
    """OpenAI ``CLIP`` state dict: text tower with OpenAI names plus a stub image tower and logit_scale."""
    g = torch.Generator().manual_seed(seed)
    w = CLIP_W

    def rnd(*shape: int, scale: float = 0.1) -> Tensor:
        return torch.randn(*shape, generator=g) * scale

    sd = {'token_embedding.weight': rnd(CLIP_VOCAB, w, scale=0.02), 'positional_embedding': rnd(CLIP_CTX, w),
          'ln_final.weight': 1 + rnd(w), 'ln_final.bias': rnd(w), 'text_projection': rnd(w, CLIP_E),
          'logit_scale': torch.tensor(4.6052), 'visual.conv1.weight': rnd(8, 3, 16, 16),
          'visual.class_embedding': rnd(8), 'visual.proj': rnd(8, CLIP_E)}
    for i in range(CLIP_L):
        p = f'transformer.resblocks.{i}.'
        sd.update({p + 'ln_1.weight': 1 + rnd(w), p + 'ln_1.bias': rnd(w), p + 'ln_2.weight': 1 + rnd(w),
                   p + 'ln_2.bias': rnd(w), p + 'attn.in_proj_weight': rnd(3 * w, w, scale=w**-0.5),
                   p + 'attn.in_proj_bias': rnd(3 * w), p + 'attn.out_proj.weight': rnd(w, w, scale=w**-0.5),
                   p + 'attn.out_proj.bias': rnd(w), p + 'mlp.c_fc.weight': rnd(4 * w, w, scale=w**-0.5),
                   p + 'mlp.c_fc.bias': rnd(4 * w), p + 'mlp.c_proj.weight': rnd(w, 4 * w, scale=(4 * w)**-0.5),
                   p + 'mlp.c_proj.bias': rnd(w)})
    return sd


def reference_clip_encode_text(sd: Dict[str, Tensor], ids: Tensor) -> Tensor:
    """OpenAI ``CLIP.encode_text``: embeddings, causal pre-norm blocks with QuickGELU, ln_final, EOT @ proj."""
    n, length = ids.shape
    w, hd = CLIP_W, CLIP_W // CLIP_H
    x = sd['token_embedding.weight'][ids] + sd['positional_embedding'][:length]
    mask = torch.full((length, length), float('-inf')).triu(1)
    for i in range(CLIP_L):
        p = f'transformer.resblocks.{i}.'
        y = F.layer_norm(x, (w, ), sd[p + 'ln_1.weight'], sd[p + 'ln_1.bias'])
        q, k, v = F.linear(y, sd[p + 'attn.in_proj_weight'], sd[p + 'attn.in_proj_bias']).chunk(3, dim=-1)
        q, k, v = (t.reshape(n, length, CLIP_H, hd).transpose(1, 2) for t in (q, k, v))
        a = ((q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask).softmax(-1) @ v
        x = x + F.linear(a.transpose(1, 2).reshape(n, length, w), sd[p + 'attn.out_proj.weight'],
                         sd[p + 'attn.out_proj.bias'])
        y = F.layer_norm(x, (w, ), sd[p + 'ln_2.weight'], sd[p + 'ln_2.bias'])
        y = F.linear(y, sd[p + 'mlp.c_fc.weight'], sd[p + 'mlp.c_fc.bias'])
        y = y * torch.sigmoid(1.702 * y)
        x = x + F.linear(y, sd[p + 'mlp.c_proj.weight'], sd[p + 'mlp.c_proj.bias'])
    x = F.layer_norm(x, (w, ), sd['ln_final.weight'], sd['ln_final.bias'])
    return x[torch.arange(n), ids.argmax(-1)] @ sd['text_projection']


def _clip() -> CLIPCaptionEncoder:
    return CLIPCaptionEncoder(width=CLIP_W, layers=CLIP_L, heads=CLIP_H, embed_dim=CLIP_E)


def test_clip_openai_coverage_and_forward() -> None:
    sd = official_clip(seed=6)
    encoder = _clip()
    report = load_pretrained(encoder, sd)
    assert report.missing == [] and report.unexpected == []
    assert report.dropped == ['logit_scale', 'visual.class_embedding', 'visual.conv1.weight', 'visual.proj']
    ids = torch.zeros(2, 9, dtype=torch.long)
    ids[0, :5] = torch.tensor([49406, 320, 1929, 539, 49407])
    ids[1, :9] = torch.tensor([49406, 320, 2368, 7622, 530, 518, 2117, 269, 49407])
    torch.testing.assert_close(encoder(ids).pooled, reference_clip_encode_text(sd, ids), rtol=1e-4, atol=1e-4)


def test_clip_open_clip_text_prefix_and_no_projection() -> None:
    sd = official_clip(seed=7)
    text = {'text.' + k: v for k, v in sd.items() if not k.startswith('visual.') and k != 'logit_scale'}
    text.update({'visual.proj': sd['visual.proj'], 'logit_scale': sd['logit_scale']})
    a, b = _clip(), _clip()
    report = load_pretrained(a, text)
    assert report.dropped == ['logit_scale', 'visual.proj']
    load_pretrained(b, sd)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    no_proj = CLIPCaptionEncoder(width=CLIP_W, layers=CLIP_L, heads=CLIP_H, embed_dim=None)
    assert 'text_projection' in load_pretrained(no_proj, sd).dropped


# ----------------------------------------------------------------------------------------------------------
# Files, init_cfg, safety
# ----------------------------------------------------------------------------------------------------------
def test_init_cfg_pretrained_takes_official_and_converted_files(tmp_path) -> None:
    from mmavs.models.utils import convert_file
    sd = official_pvt_v2(**PVT_B0, seed=8)
    official = str(tmp_path / 'pvt_v2_b0.pth')
    torch.save(sd, official)
    converted = str(tmp_path / 'pvt_v2_b0_mmavs.pth')
    convert_file(official, converted, 'pvt_v2')
    expected = VisualBackbone('pvt_v2_b0')
    load_pretrained(expected, sd)
    for path in (official, converted):
        model = VisualBackbone('pvt_v2_b0', init_cfg=dict(type='Pretrained', checkpoint=path))
        model.init_weights()
        for (k, v), e in zip(model.state_dict().items(), expected.state_dict().values()):
            assert torch.equal(v, e), (path, k)
    vggish = official_vggish((4, ) * 6, (8, 8, 8))
    vpath = str(tmp_path / 'vggish.pth')
    torch.save(vggish, vpath)
    audio = AudioBackbone(channels=(4, ) * 6, embed_dims=(8, 8, 8), out_channels=4,
                          init_cfg=dict(type='Pretrained', checkpoint=vpath))
    audio.init_weights()
    assert torch.equal(audio.embeddings[4].weight, vggish['embeddings.4.weight'])
    resnet = official_resnet50(seed=9)
    rpath = str(tmp_path / 'resnet50.pth')
    torch.save(resnet, rpath)
    visual = VisualBackbone('resnet50', init_cfg=dict(type='Pretrained', checkpoint=rpath))
    visual.init_weights()
    assert torch.equal(visual.body.layer4[2].bn3.running_var, resnet['layer4.2.bn3.running_var'])
    assert torch.equal(visual.body.conv1.weight, resnet['conv1.weight'])


def test_init_cfg_wrong_family_and_missing_file(tmp_path) -> None:
    path = str(tmp_path / 'resnet50-00000000.pth')
    torch.save(official_resnet50(), path)
    model = VisualBackbone('pvt_v2_b0', init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(ValueError, match='torchvision ResNet'):
        model.init_weights()
    missing = str(tmp_path / 'pretrained' / 'pvt_v2_b5.pth')
    model = VisualBackbone('pvt_v2_b0', init_cfg=dict(type='Pretrained', checkpoint=missing))
    with pytest.raises(FileNotFoundError, match='pvt_v2_b5.pth.*docs/model_zoo.md'):
        model.init_weights()
    assert osp.isfile(osp.join(osp.dirname(__file__), '..', '..', MODEL_ZOO_DOC))


_EXECUTED: List[str] = []


def _record_execution(tag: str) -> str:
    _EXECUTED.append(tag)
    return tag


class _Payload:
    """Pickles as a call of ``_record_execution``: a stand-in for a malicious checkpoint object."""

    def __reduce__(self):
        return (_record_execution, ('payload ran', ))


def test_untrusted_pickles_are_refused(tmp_path) -> None:
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': official_vggish((4, ) * 6, (8, 8, 8)), 'extra': _Payload()}, path)
    with pytest.raises(ValueError, match='weights-only'):
        load_state_dict_file(path)
    assert _EXECUTED == []


def test_unknown_and_pvt_v1_formats_are_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown checkpoint format \(2 keys, e.g. \['a.weight', 'b.bias'\]"):
        detect_family({'a.weight': torch.zeros(1), 'b.bias': torch.zeros(1)})
    sd = official_pvt_v2(**PVT_B0)
    sd['pos_embed1'] = torch.zeros(1, 3136, 32)
    with pytest.raises(ValueError, match='PVT v1'):
        detect_family(sd)


def test_module_prefix_and_state_dict_container_are_unwrapped(tmp_path) -> None:
    sd = official_vggish((4, ) * 6, (8, 8, 8))
    path = str(tmp_path / 'wrapped.pth')
    torch.save({'state_dict': {'module.' + k: v for k, v in sd.items()}, 'meta': {'epoch': 3}}, path)
    loaded = load_state_dict_file(path)
    assert sorted(loaded) == sorted(sd) and all(torch.equal(loaded[k], sd[k]) for k in sd)


def test_pretrained_type_resolves_to_the_mmavs_initializer_and_falls_back(tmp_path) -> None:
    from mmengine.registry import WEIGHT_INITIALIZERS as ROOT_INITIALIZERS
    from mmengine.registry import DefaultScope, build_from_cfg

    from mmavs.models.utils import AVSPretrainedInit, pretrained_init_cfg
    cfg = pretrained_init_cfg(dict(type='Pretrained', checkpoint='x.pth'))
    assert cfg['_scope_'] == 'mmavs'
    assert isinstance(build_from_cfg(dict(cfg), ROOT_INITIALIZERS), AVSPretrainedInit)
    with DefaultScope.overwrite_default_scope('mmavs'):
        assert isinstance(build_from_cfg(dict(type='Pretrained', checkpoint='x.pth'), ROOT_INITIALIZERS),
                          AVSPretrainedInit)
    # any other module: MMEngine's PretrainedInit behaviour (non-strict load of matching keys)
    linear = torch.nn.Linear(3, 2)
    path = str(tmp_path / 'linear.pth')
    torch.save({'weight': torch.ones(2, 3), 'bias': torch.zeros(2)}, path)
    AVSPretrainedInit(path)(linear)
    assert torch.equal(linear.weight, torch.ones(2, 3))
    with pytest.raises(FileNotFoundError, match='docs/model_zoo.md'):
        AVSPretrainedInit(str(tmp_path / 'none.pth'))(linear)
