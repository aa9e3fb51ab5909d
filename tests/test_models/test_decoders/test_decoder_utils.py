"""Tests of the decoder building blocks: sine encodings, MLP, ChannelCrossAttention."""
import math

import pytest
import torch
from torch import nn

from mmavs.models.decoders import MLP, ChannelCrossAttention, sine_positional_encoding_1d, sine_positional_encoding_2d


def test_sine_1d_hand_computed():
    enc = sine_positional_encoding_1d(4, 8)
    assert enc.shape == (4, 8)
    assert torch.allclose(enc[0], torch.tensor([0., 1.] * 4))
    # column pair 0 has frequency 1, pair 1 has 1 / 10000^(2/8)
    assert enc[3, 0].item() == pytest.approx(math.sin(3.))
    assert enc[3, 1].item() == pytest.approx(math.cos(3.))
    assert enc[2, 2].item() == pytest.approx(math.sin(2. / 10000**0.25), rel=1e-5)
    with pytest.raises(ValueError):
        sine_positional_encoding_1d(3, 5)


def test_sine_2d_separates_rows_and_columns():
    h, w, d = 3, 5, 8
    enc = sine_positional_encoding_2d(h, w, d).view(h, w, d)
    # first half depends on the row only, second half on the column only
    assert torch.allclose(enc[:, :1, :d // 2].expand(h, w, d // 2), enc[..., :d // 2])
    assert torch.allclose(enc[:1, :, d // 2:].expand(h, w, d // 2), enc[..., d // 2:])
    y1 = 1.5 / 3 * 2 * math.pi
    assert enc[1, 0, 0].item() == pytest.approx(math.sin(y1), abs=1e-6)
    assert enc[1, 0, 1].item() == pytest.approx(math.cos(y1), abs=1e-6)
    assert len({tuple(v.tolist()) for v in enc.view(-1, d)}) == h * w
    with pytest.raises(ValueError):
        sine_positional_encoding_2d(2, 2, 6)


def test_mlp_single_layer_is_linear():
    torch.manual_seed(0)
    mlp = MLP(4, 16, 3, num_layers=1)
    x = torch.randn(5, 4)
    layer = mlp.layers[0]
    assert torch.allclose(mlp(x), x @ layer.weight.T + layer.bias)
    mlp2 = MLP(4, 6, 3, num_layers=2)
    expected = torch.relu(x @ mlp2.layers[0].weight.T + mlp2.layers[0].bias) @ mlp2.layers[1].weight.T \
        + mlp2.layers[1].bias
    assert torch.allclose(mlp2(x), expected, atol=1e-6)


def test_channel_attention_scales_channels_only():
    torch.manual_seed(0)
    attn = ChannelCrossAttention(8)
    semantic = torch.randn(2, 3, 8)
    visual = torch.randn(2, 10, 8)
    out, weights = attn(semantic, visual)
    assert out.shape == visual.shape and weights.shape == (2, 8)
    assert torch.all(weights > 0) and torch.all(weights < 2)
    assert torch.allclose(out, visual * weights[:, None, :])
    _, weights2 = attn(torch.randn(2, 3, 8), visual)
    assert not torch.allclose(weights, weights2)


def test_channel_attention_zero_gate_is_identity():
    attn = ChannelCrossAttention(4)
    for layer in attn.gate.layers:
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    visual = torch.randn(1, 6, 4)
    out, weights = attn(torch.randn(1, 2, 4), visual)
    assert torch.allclose(weights, torch.ones(1, 4))
    assert torch.allclose(out, visual)


def test_channel_attention_evidence_is_attention_pooling():
    # zero q/k projections -> uniform attention -> evidence is the mean visual token
    attn = ChannelCrossAttention(4)
    for proj in (attn.q_proj, attn.k_proj):
        nn.init.zeros_(proj.weight)
        nn.init.zeros_(proj.bias)
    semantic = torch.randn(1, 2, 4)
    visual = torch.randn(1, 6, 4)
    _, weights = attn(semantic, visual)
    desc = torch.cat([visual.mean(1), semantic.mean(1)], -1)
    assert torch.allclose(weights, 2 * torch.sigmoid(attn.gate(desc)), atol=1e-6)


def test_channel_attention_map_form():
    torch.manual_seed(1)
    attn = ChannelCrossAttention(4)
    feature = torch.randn(2, 4, 3, 5)
    semantic = torch.randn(2, 1, 4)
    out, weights = attn.forward_map(semantic, feature)
    assert torch.allclose(out, feature * weights[:, :, None, None], atol=1e-6)
