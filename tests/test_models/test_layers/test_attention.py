"""FastMultiheadAttention and the SDPA channel attention compute what the explicit paths compute."""
import math

import pytest
import torch
from mmcv.cnn.bricks.transformer import MultiheadAttention
from torch import nn

from mmavs.models.decoders import ChannelCrossAttention
from mmavs.models.layers import FastMultiheadAttention
from mmavs.registry import MODELS


def test_same_parameters_initialisation_and_outputs_as_mmcv():
    torch.manual_seed(0)
    fast = FastMultiheadAttention(16, 4, batch_first=True).eval()
    torch.manual_seed(0)
    reference = MultiheadAttention(16, 4, batch_first=True).eval()
    assert fast.state_dict().keys() == reference.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(fast.state_dict().values(), reference.state_dict().values()))
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(3, 5, 16, generator=g), torch.randn(3, 7, 16, generator=g)
    qpos, kpos = torch.randn(1, 5, 16, generator=g), torch.randn(1, 7, 16, generator=g)
    mask = torch.zeros(3, 7, dtype=torch.bool)
    mask[1, 4:] = True
    for kwargs in (dict(), dict(key=k, value=k, query_pos=qpos, key_pos=kpos, key_padding_mask=mask)):
        torch.testing.assert_close(fast(query=q, **kwargs), reference(query=q, **kwargs), rtol=1e-5, atol=1e-6)


def _explicit_channel_weights(module: ChannelCrossAttention, semantic, visual):
    """Steps 1-2 of the docstring, written out with an explicit softmax."""
    q, k = module.q_proj(semantic), module.k_proj(visual)
    attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(module.embed_dims), dim=-1)
    desc = torch.cat([(attn @ visual).mean(dim=1), semantic.mean(dim=1)], dim=-1)
    return 2. * torch.sigmoid(module.gate(desc))


def test_channel_attention_equals_the_explicit_softmax():
    torch.manual_seed(0)
    module = ChannelCrossAttention(16).eval()
    semantic, feature = torch.randn(2, 3, 16), torch.randn(2, 16, 5, 6)
    tokens = feature.flatten(2).transpose(1, 2)
    weights = _explicit_channel_weights(module, semantic, tokens)
    out, w = module(semantic, tokens)
    torch.testing.assert_close(w, weights)
    torch.testing.assert_close(out, tokens * weights[:, None])
    out_map, w_map = module.forward_map(semantic, feature)
    torch.testing.assert_close(w_map, weights)
    torch.testing.assert_close(out_map, (tokens * weights[:, None]).transpose(1, 2).reshape(2, 16, 5, 6))


@pytest.mark.parametrize('decoder_type', ['AVQueryDecoder', 'CounterfactualDecoder'])
def test_decoder_logits_equal_the_explicit_attention_paths(decoder_type, monkeypatch):
    """The decoder of a small config, before (mmcv attention with weights, explicit softmax) and after."""
    torch.manual_seed(0)
    decoder = MODELS.build(dict(type=decoder_type, embed_dims=16, num_layers=2, num_queries=5, num_heads=2,
                                feedforward_channels=32)).eval()
    g = torch.Generator().manual_seed(2)
    feats = [torch.randn(4, 16, s, s, generator=g) for s in (16, 8, 4, 2)]
    mask, audio, text = torch.randn(4, 16, 16, 16, generator=g), torch.randn(4, 16, generator=g), torch.randn(
        4, 6, 16, generator=g)
    flags = torch.tensor([[True, True], [True, False]])
    with torch.no_grad():
        after = decoder(feats, mask, audio, 2, text_memory=text, frame_flags=flags)['logits']
        fast = [m for m in decoder.modules() if isinstance(m, FastMultiheadAttention)]
        assert len(fast) == 1 + 2 * 7  # the query pool, and 7 attentions per layer
        for m in fast:
            m.attn.__class__ = nn.MultiheadAttention  # mmcv's path: need_weights=True
        monkeypatch.setattr(ChannelCrossAttention, 'channel_weights', _explicit_channel_weights)
        before = decoder(feats, mask, audio, 2, text_memory=text, frame_flags=flags)['logits']
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
