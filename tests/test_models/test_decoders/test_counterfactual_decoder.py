"""Tests of CounterfactualDecoder: SC outputs in training only, baseline equivalence, same visual input."""
from typing import List, Tuple

import pytest
import torch
from torch import Tensor

from mmavs.models.decoders.av_query_decoder import AVQueryDecoder
from mmavs.models.decoders.counterfactual_decoder import CounterfactualDecoder
from mmavs.registry import MODELS

D = 16
K = 3
DZ = 8
SIZES = [(8, 8), (4, 4), (2, 2), (1, 1)]
BASE = dict(embed_dims=D, num_layers=2, num_queries=4, num_heads=2, feedforward_channels=32, audio_channels=12)
SC_MODULES = ('latent_encoder', 'latent_decoder', 'cf_generator')


def build(**kwargs) -> CounterfactualDecoder:
    torch.manual_seed(0)
    cfg = dict(type='CounterfactualDecoder', num_counterfactuals=K, latent_dims=DZ, **BASE)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_inputs(n: int, seed: int = 0) -> Tuple[List[Tensor], Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(n, D, h, w, generator=g) for h, w in SIZES]
    return feats, torch.randn(n, D, 8, 8, generator=g), torch.randn(n, 12, generator=g)


def count_calls(decoder: CounterfactualDecoder) -> dict:
    counts = {name: 0 for name in SC_MODULES}

    def hook(name):
        def fn(module, args, output):
            counts[name] += 1
        return fn

    for name in SC_MODULES:
        getattr(decoder, name).register_forward_hook(hook(name))
    return counts


@pytest.mark.parametrize('num_classes', [1, 5])
def test_training_outputs_shapes(num_classes):
    decoder = build(num_classes=num_classes).train()
    feats, mask, audio = make_inputs(4)
    out = decoder(feats, mask, audio, num_frames=2)
    assert out['z'].shape == out['mu'].shape == out['logvar'].shape == (4, DZ)
    assert out['s_recon'].shape == (4, D)
    assert out['z_cf'].shape == (4, K, DZ)
    assert out['s_cf'].shape == (4, K, D)
    assert out['cf_audio_proto'].shape == (4, K, D)
    assert out['cf_logits'].shape == (4, K, num_classes, 8, 8)
    assert out['logits'].shape == (4, num_classes, 8, 8)
    # counterfactuals differ from each other and from the factual prediction
    assert not torch.allclose(out['cf_logits'][:, 0], out['cf_logits'][:, 1])
    assert not torch.allclose(out['cf_logits'][:, 0], out['logits'])


def test_eval_forward_does_not_call_sc_modules():
    decoder = build().eval()
    counts = count_calls(decoder)
    feats, mask, audio = make_inputs(4)
    with torch.no_grad():
        out = decoder(feats, mask, audio, num_frames=2)
    assert counts == {name: 0 for name in SC_MODULES}
    assert not set(CounterfactualDecoder.SC_KEYS) & set(out)
    decoder.train()
    out = decoder(feats, mask, audio, num_frames=2)
    assert all(counts[name] > 0 for name in SC_MODULES)
    assert set(CounterfactualDecoder.SC_KEYS) <= set(out)


def test_explicit_flag_disables_branch_in_training():
    decoder = build().train()
    counts = count_calls(decoder)
    feats, mask, audio = make_inputs(2)
    out = decoder(feats, mask, audio, num_frames=2, counterfactual=False)
    assert counts == {name: 0 for name in SC_MODULES}
    assert 'cf_logits' not in out


@pytest.mark.parametrize('use_text', [False, True])
def test_eval_equals_baseline_with_same_weights(use_text):
    decoder = build().eval()
    torch.manual_seed(123)  # different init, then overwritten by the shared weights
    baseline = AVQueryDecoder(**BASE).eval()
    missing, unexpected = baseline.load_state_dict(decoder.state_dict(), strict=False)
    assert missing == []
    assert {key.split('.')[0] for key in unexpected} == set(SC_MODULES) | {'cf_embed'}
    feats, mask, audio = make_inputs(4, seed=1)
    text = torch.randn(4, 3, D) if use_text else None
    with torch.no_grad():
        ref = baseline(feats, mask, audio, num_frames=2, text_memory=text)
        out = decoder(feats, mask, audio, num_frames=2, text_memory=text)
    assert set(out) == set(ref)
    for key in ('logits', 'semantic', 'audio_queries', 'visual_queries', 'pixel_features'):
        assert torch.equal(out[key], ref[key]), key


def test_factual_outputs_unchanged_by_branch_in_training():
    decoder = build().train()
    feats, mask, audio = make_inputs(4)
    with torch.no_grad():
        with_cf = decoder(feats, mask, audio, num_frames=2)
        without = decoder(feats, mask, audio, num_frames=2, counterfactual=False)
    assert torch.equal(with_cf['logits'], without['logits'])


def test_sc_false_is_the_baseline():
    decoder = build(sc=False).train()
    assert not any(hasattr(decoder, name) for name in SC_MODULES)
    torch.manual_seed(0)
    baseline = AVQueryDecoder(**BASE).train()
    assert set(decoder.state_dict()) == set(baseline.state_dict())
    baseline.load_state_dict(decoder.state_dict())
    feats, mask, audio = make_inputs(2)
    out = decoder(feats, mask, audio, num_frames=2)
    assert 'cf_logits' not in out
    assert torch.equal(out['logits'], baseline(feats, mask, audio, num_frames=2)['logits'])


def test_cf_logits_are_predict_masks_of_s_cf_with_same_visual_input():
    decoder = build(num_classes=3).train()
    feats, mask, audio = make_inputs(2)
    out = decoder(feats, mask, audio, num_frames=2)
    with torch.no_grad():
        for k in range(K):
            again = decoder.predict_masks(out['s_cf'][:, k], out['visual_queries'], mask)['logits']
            assert torch.allclose(again, out['cf_logits'][:, k], atol=1e-5)
        # only s_cf changes -> cf logits change; the same s_cf -> the same logits
        other = decoder.predict_masks(out['s_cf'][:, 0] + 1., out['visual_queries'], mask)['logits']
        assert not torch.allclose(other, out['cf_logits'][:, 0])
        # with s_cf = s the counterfactual prediction is the factual one
        fact = decoder.predict_masks(out['semantic'], out['visual_queries'], mask)['logits']
        assert torch.allclose(fact, out['logits'], atol=1e-5)


def test_reparameterisation_and_decoding():
    decoder = build().train()
    feats, mask, audio = make_inputs(2)
    out = decoder(feats, mask, audio, num_frames=2)
    with torch.no_grad():
        mu, logvar = decoder.latent_encoder(out['semantic']).chunk(2, dim=-1)
        assert torch.allclose(out['mu'], mu)
        assert torch.allclose(out['s_recon'], decoder.latent_decoder(out['z']))
        assert torch.allclose(out['s_cf'], decoder.latent_decoder(out['z_cf']))
        assert not torch.allclose(out['z'], out['mu'])  # noise was added
    # the latent is sampled: two training passes differ in z but not in the factual logits
    again = decoder(feats, mask, audio, num_frames=2)
    assert not torch.allclose(again['z'], out['z'])
    assert torch.allclose(again['logits'], out['logits'])


def test_gradients_reach_sc_modules():
    decoder = build().train()
    feats, mask, audio = make_inputs(2)
    out = decoder(feats, mask, audio, num_frames=2)
    (out['cf_logits'].pow(2).mean() + out['s_recon'].pow(2).mean()).backward()
    for name in SC_MODULES + ('cf_embed',):
        grads = [p.grad for p in getattr(decoder, name).parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads), name


@pytest.mark.parametrize('kwargs, key', [
    (dict(num_counterfactuals=0), 'num_counterfactuals'),
    (dict(num_counterfactuals=2.5), 'num_counterfactuals'),
    (dict(latent_dims=0), 'latent_dims'),
    (dict(latent_hidden_dims=-1), 'latent_hidden_dims'),
    (dict(sc='yes'), 'sc'),
    (dict(detach_semantic=1), 'detach_semantic'),
])
def test_config_errors(kwargs, key):
    with pytest.raises(ValueError, match=key):
        build(**kwargs)


@pytest.mark.parametrize('detach', [False, True])
def test_detach_semantic_keeps_sc_gradients_out_of_the_factual_path(detach):
    decoder = build(detach_semantic=detach).train()
    feats, mask, audio = make_inputs(2)
    out = decoder(feats, mask, audio, num_frames=2)
    # a loss on the latent statistics only (as L_z's KL): reaches the encoder, and the semantics only
    # without detaching
    (out['mu'].pow(2).sum() + out['logvar'].exp().sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in decoder.latent_encoder.parameters())
    audio_grads = [p.grad for p in decoder.audio_proj.parameters()] if hasattr(decoder, 'audio_proj') else []
    semantic_grads = [p.grad for p in decoder.semantic_norm.parameters()] + audio_grads
    reached = any(g is not None and g.abs().sum() > 0 for g in semantic_grads)
    assert reached is (not detach)
    # the factual prediction is the same either way
    ref = build(detach_semantic=not detach).train()
    ref.load_state_dict(decoder.state_dict())
    assert torch.allclose(ref(feats, mask, audio, num_frames=2)['logits'], out['logits'])


def test_batch_counterfactuals_add_other_clips_semantics_as_extra_slots():
    decoder = build(batch_counterfactuals=2).train()
    feats, mask, audio = make_inputs(6)  # 3 clips of 2 frames
    out = decoder(feats, mask, audio, num_frames=2)
    assert out['cf_logits'].shape == (6, K + 2, 1, 8, 8)
    assert out['z_cf'].shape == (6, K, DZ) and out['s_cf'].shape == out['cf_audio_proto'].shape == (6, K, D)
    decoder.eval()
    ref = decoder(feats, mask, audio, num_frames=2)
    for j in range(2):
        # slot K + j of a frame of clip b: the same frame of clip b - j - 1 (cyclic), same visual input
        other = ref['semantic'].roll(shifts=(j + 1) * 2, dims=0)
        expected = decoder.predict_masks(other, ref['visual_queries'], mask)['logits']
        assert torch.allclose(out['cf_logits'][:, K + j], expected, atol=1e-5)
    semantics = decoder.batch_semantics(ref['semantic'].requires_grad_(True), num_frames=2)
    assert semantics.shape == (6, 2, D) and not semantics.requires_grad
    # never more than B - 1 other clips; a single clip has none
    assert decoder.batch_semantics(ref['semantic'][:4], num_frames=2).shape == (4, 1, D)
    assert decoder.batch_semantics(ref['semantic'][:2], num_frames=2) is None
    single = build(batch_counterfactuals=2).train()([f[:2] for f in feats], mask[:2], audio[:2], num_frames=2)
    assert single['cf_logits'].shape[1] == K
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match='batch_counterfactuals'):
            build(batch_counterfactuals=bad)
