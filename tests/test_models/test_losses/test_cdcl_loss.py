"""Tests of CDCLLoss: prototypes, soft-target InfoNCE, factual-counterfactual term, frame selection."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmavs.models.losses.cdcl_loss import CDCLLoss, soft_info_nce, symmetric_soft_info_nce
from mmavs.registry import MODELS
from mmavs.structures import AVSDataSample

D = 4
TAU = 0.5


def samples(gt, gt_flags=None, categories=None):
    """One sample per clip from ``gt`` [B, T, H, W]."""
    out = []
    for b in range(gt.shape[0]):
        meta = {} if categories is None else dict(category=categories[b])
        s = AVSDataSample(metainfo=meta)
        s.gt_masks = gt[b].long()
        if gt_flags is not None:
            s.gt_flags = torch.as_tensor(gt_flags[b], dtype=torch.bool)
        out.append(s)
    return out


def identity_loss(**kwargs) -> CDCLLoss:
    """CDCL with identity heads, so prototypes can be checked by hand."""
    cfg = dict(in_channels=D, proj_channels=D, temperature=TAU, loss_weight=1.)
    cfg.update(kwargs)
    loss = CDCLLoss(**cfg)
    loss.visual_head = nn.Identity()
    loss.audio_head = nn.Identity()
    loss.text_head = nn.Identity()
    return loss


def make_outputs(n, num_classes=1, k=2, text=False, seed=0, size=4):
    g = torch.Generator().manual_seed(seed)
    out = dict(
        logits=torch.zeros(n, num_classes, size, size),
        pixel_features=torch.randn(n, D, size, size, generator=g),
        audio_queries=torch.randn(n, 3, D, generator=g),
        semantic=torch.randn(n, D, generator=g),
        text_memory=torch.randn(n, 5, D, generator=g) if text else None)
    if k:
        out['cf_audio_proto'] = torch.randn(n, k, D, generator=g)
    return out


def full_fg(n, size=4):
    gt = torch.zeros(n, 1, size, size, dtype=torch.long)
    gt[:, :, :2, :2] = 1
    return gt


# --------------------------------------------------------- InfoNCE pieces
def test_info_nce_one_hot_equals_cross_entropy():
    torch.manual_seed(0)
    x, y = F.normalize(torch.randn(5, 3), dim=1), F.normalize(torch.randn(5, 3), dim=1)
    logits = x @ y.t() / 0.07
    expected = 0.5 * (F.cross_entropy(logits, torch.arange(5)) + F.cross_entropy(logits.t(), torch.arange(5)))
    got = symmetric_soft_info_nce(x, y, torch.eye(5), 0.07)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_soft_targets_from_shared_category():
    # 3 clips of 1 frame; clips 0 and 1 share the category -> targets [[.5,.5,0],[.5,.5,0],[0,0,1]]
    loss = identity_loss()
    out = make_outputs(3, k=0)
    gt = full_fg(3)
    data = samples(gt, categories=['dog', 'dog', 'cat'])
    got = loss(out, data)
    v = F.normalize(out['pixel_features'][:, :, :2, :2].mean((2, 3)), dim=1)
    a = F.normalize(out['audio_queries'].mean(1), dim=1)
    logits = v @ a.t() / TAU
    targets = torch.tensor([[.5, .5, 0.], [.5, .5, 0.], [0., 0., 1.]])
    ce = lambda lg: -(targets * lg.log_softmax(1)).sum(1).mean()  # noqa: E731
    expected = 0.4 * 0.5 * (ce(logits) + ce(logits.t()))
    assert got['loss_cdcl_va'].item() == pytest.approx(expected.item(), rel=1e-5)
    # without categories (one frame per clip here) the targets are the identity
    no_cat = loss(out, samples(gt))['loss_cdcl_va']
    ident = 0.4 * 0.5 * (F.cross_entropy(logits, torch.arange(3)) + F.cross_entropy(logits.t(), torch.arange(3)))
    assert no_cat.item() == pytest.approx(ident.item(), rel=1e-5)
    assert not torch.allclose(no_cat, got['loss_cdcl_va'])


def test_multiclass_histogram_affinity():
    loss = identity_loss()
    gt = torch.zeros(3, 4, 4, dtype=torch.long)
    gt[0, 0, :2] = 1
    gt[1, 3, 1:3] = 1  # same composition as frame 0 (class 1 only) -> cosine 1
    gt[2, :3, 0] = 2  # class 2 only -> cosine 0 with the others
    gt[2, 3, 3] = 255
    aff = loss.affinity(gt, gt != 255, torch.arange(3), 3, samples(gt[:, None]), 1)
    assert torch.allclose(aff, torch.tensor([[1., 1., 0.], [1., 1., 0.], [0., 0., 1.]]))
    gt[1, 0, 0] = 2  # frame 1: two pixels of class 1, one of class 2 -> cos = 2/sqrt(5) with frame 0
    aff = loss.affinity(gt, gt != 255, torch.arange(3), 3, samples(gt[:, None]), 1)
    assert aff[0, 1].item() == pytest.approx(2 / 5 ** 0.5, rel=1e-6)
    assert aff[1, 2].item() == pytest.approx(1 / 5 ** 0.5, rel=1e-6)
    assert soft_info_nce(torch.zeros(2, 2), torch.tensor([[1., 0.], [0., 1.]])).item() == pytest.approx(
        torch.log(torch.tensor(2.)).item())


# -------------------------------------------------------------- prototypes
def test_map_prototype_is_masked_mean():
    loss = identity_loss()
    feats = torch.arange(2 * D * 2 * 2, dtype=torch.float).reshape(2, D, 2, 2)
    fg = torch.tensor([[[1., 0.], [1., 0.]], [[0., 0.], [0., 1.]]])
    proto = loss.visual_prototypes(feats, fg)
    assert torch.allclose(proto[0], (feats[0, :, 0, 0] + feats[0, :, 1, 0]) / 2)
    assert torch.allclose(proto[1], feats[1, :, 1, 1])
    # GT at 2x the feature size: area weights (fraction of foreground per cell)
    fg_big = torch.zeros(1, 4, 4)
    fg_big[0, :2, :2] = 1.  # cell (0, 0) fully foreground
    fg_big[0, 2, 2] = 1.  # cell (1, 1) one quarter
    proto = loss.visual_prototypes(feats[:1], fg_big)
    expected = (feats[0, :, 0, 0] * 1. + feats[0, :, 1, 1] * 0.25) / 1.25
    assert torch.allclose(proto[0], expected)
    mean_loss = identity_loss(visual_prototype='mean')
    assert torch.allclose(mean_loss.visual_prototypes(feats, fg), feats.mean((2, 3)))


def test_frames_without_gt_or_foreground_are_excluded():
    loss = CDCLLoss(in_channels=D, proj_channels=3, temperature=TAU)
    out = make_outputs(4, text=True)
    gt = full_fg(4)[:, 0].reshape(2, 2, 4, 4).clone()
    gt[0, 1] = 0  # frame 1: no foreground
    data = samples(gt, gt_flags=[[True, True], [True, False]], categories=['a', 'b'])  # frame 3: no GT
    ref = loss(out, data)
    changed = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in out.items()}
    for key in ('pixel_features', 'audio_queries', 'text_memory', 'cf_audio_proto'):
        changed[key][[1, 3]] = torch.randn_like(changed[key][[1, 3]])
    new = loss(changed, data)
    for key in ref:
        assert torch.allclose(new[key], ref[key]), key
    changed['audio_queries'][2] += 1.
    assert not torch.allclose(loss(changed, data)['loss_cdcl_va'], ref['loss_cdcl_va'])


def test_map_vs_mean_changes_visual_prototype():
    out = make_outputs(2, k=0)
    data = samples(full_fg(2))
    map_va = identity_loss()(out, data)['loss_cdcl_va']
    mean_va = identity_loss(visual_prototype='mean')(out, data)['loss_cdcl_va']
    v = F.normalize(out['pixel_features'].mean((2, 3)), dim=1)
    a = F.normalize(out['audio_queries'].mean(1), dim=1)
    lg = v @ a.t() / TAU
    expected = 0.4 * 0.5 * (F.cross_entropy(lg, torch.arange(2)) + F.cross_entropy(lg.t(), torch.arange(2)))
    assert mean_va.item() == pytest.approx(expected.item(), rel=1e-5)
    assert not torch.allclose(map_va, mean_va)


# ------------------------------------------------------------ fcf and text
def test_fcf_hand_computed():
    loss = identity_loss(fcf_weight=0.5)
    out = make_outputs(3, k=2)
    got = loss(out, samples(full_fg(3)))['loss_cdcl_fcf']
    v = F.normalize(out['pixel_features'][:, :, :2, :2].mean((2, 3)), dim=1)
    a = F.normalize(out['audio_queries'].mean(1), dim=1)
    a_cf = F.normalize(out['cf_audio_proto'], dim=2)
    logits = torch.cat([v @ a.t(), (v[:, None] * a_cf).sum(-1)], dim=1) / TAU  # [3, 3 + 2]
    expected = 0.5 * F.cross_entropy(logits, torch.arange(3))
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    # without counterfactual prototypes only the batch negatives remain
    del out['cf_audio_proto']
    got = loss(out, samples(full_fg(3)))['loss_cdcl_fcf']
    assert got.item() == pytest.approx(0.5 * F.cross_entropy(v @ a.t() / TAU, torch.arange(3)).item(), rel=1e-5)


def test_without_categories_affinity_is_the_foreground_iou_within_a_clip():
    loss = identity_loss()
    gt = torch.zeros(2, 3, 4, 4, dtype=torch.long)
    gt[0, 0, :2, :2] = 1  # 4 pixels
    gt[0, 1, :2, :3] = 1  # 6 pixels, overlap 4 with frame 0 -> IoU 4/6
    gt[0, 2, 2:, 2:] = 1  # disjoint from both -> 0
    gt[1, :, :2, :2] = 1  # other clip: same region as clip 0 frame 0, but never a positive
    gt[1, 2, 0, 0] = 255  # ignored pixel left out of the IoU
    n = 6
    got = loss.affinity(gt.flatten(0, 1), gt.flatten(0, 1) != 255, torch.arange(n), 1, samples(gt), 3)
    expected = torch.zeros(n, n)
    expected[:3, :3] = torch.tensor([[1., 4 / 6, 0.], [4 / 6, 1., 0.], [0., 0., 1.]])
    expected[3:, 3:] = torch.tensor([[1., 1., .75], [1., 1., .75], [.75, .75, 1.]])
    assert torch.allclose(got, expected)


def test_without_categories_frames_of_one_clip_are_positives_in_all_terms():
    # 2 clips x 2 frames with equal GT, no category metainfo (MS3): targets are block-diagonal per clip
    loss = identity_loss()
    out = make_outputs(4, k=2)
    gt = full_fg(4).view(2, 2, 4, 4)
    got = loss(out, samples(gt))
    v = F.normalize(out['pixel_features'][:, :, :2, :2].mean((2, 3)), dim=1)
    a = F.normalize(out['audio_queries'].mean(1), dim=1)
    a_cf = F.normalize(out['cf_audio_proto'], dim=2)
    block = torch.tensor([[.5, .5, 0., 0.], [.5, .5, 0., 0.], [0., 0., .5, .5], [0., 0., .5, .5]])
    ce = lambda lg, t: -(t * lg.log_softmax(1)).sum(1).mean()  # noqa: E731
    va = v @ a.t() / TAU
    assert got['loss_cdcl_va'].item() == pytest.approx((0.4 * 0.5 * (ce(va, block) + ce(va.t(), block))).item(),
                                                       rel=1e-5)
    fcf_logits = torch.cat([va, (v[:, None] * a_cf).sum(-1) / TAU], dim=1)  # counterfactual columns: target 0
    fcf_targets = torch.cat([block, torch.zeros(4, 2)], dim=1)
    assert got['loss_cdcl_fcf'].item() == pytest.approx(ce(fcf_logits, fcf_targets).item(), rel=1e-5)
    # with identity targets (semantic_targets=False) the other frame of the clip is a negative: differs
    plain = identity_loss(semantic_targets=False)(out, samples(gt))
    assert plain['loss_cdcl_fcf'].item() == pytest.approx(F.cross_entropy(fcf_logits, torch.arange(4)).item(),
                                                          rel=1e-5)


def test_text_terms_and_semantic_audio_prototype():
    loss = identity_loss(audio_prototype='semantic', inter_weights=dict(al=0.25))
    out = make_outputs(2, text=True)
    got = loss(out, samples(full_fg(2)))
    a = F.normalize(out['semantic'], dim=1)
    t = F.normalize(out['text_memory'].mean(1), dim=1)
    lg = a @ t.t() / TAU
    expected = 0.25 * 0.5 * (F.cross_entropy(lg, torch.arange(2)) + F.cross_entropy(lg.t(), torch.arange(2)))
    assert got['loss_cdcl_al'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert got['loss_cdcl_vl'].item() > 0
    no_text = loss(make_outputs(2, text=False), samples(full_fg(2)))
    assert no_text['loss_cdcl_al'].item() == 0. and no_text['loss_cdcl_vl'].item() == 0.


def test_gradients_reach_heads_and_features():
    loss = MODELS.build(dict(type='CDCLLoss', in_channels=D, proj_channels=3))
    out = make_outputs(4, text=True)
    for key in ('pixel_features', 'audio_queries', 'cf_audio_proto', 'text_memory'):
        out[key].requires_grad_(True)
    got = loss(out, samples(full_fg(4).reshape(2, 2, 4, 4), categories=['x', 'y']))
    assert set(got) == {'loss_cdcl_fcf', 'loss_cdcl_va', 'loss_cdcl_al', 'loss_cdcl_vl'}
    sum(got.values()).backward()
    for head in (loss.visual_head, loss.audio_head, loss.text_head):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    for key in ('pixel_features', 'audio_queries', 'cf_audio_proto', 'text_memory'):
        assert out[key].grad.abs().sum() > 0, key


def test_no_selected_frame_gives_zeros():
    loss = CDCLLoss(in_channels=D, proj_channels=3)
    gt = torch.zeros(1, 2, 4, 4, dtype=torch.long)  # no foreground anywhere
    got = loss(make_outputs(2), samples(gt))
    assert all(torch.is_tensor(v) and v.requires_grad and v.item() == 0. for v in got.values())


@pytest.mark.parametrize('kwargs, key', [
    (dict(temperature=0.), 'temperature'),
    (dict(loss_weight=-0.1), 'loss_weight'),
    (dict(fcf_weight=-1.), 'fcf_weight'),
    (dict(inter_weights=dict(va=-0.4)), 'inter_weights.va'),
    (dict(inter_weights=dict(av=0.4)), 'inter_weights'),
    (dict(visual_prototype='max'), 'visual_prototype'),
    (dict(audio_prototype='cls'), 'audio_prototype'),
])
def test_config_errors(kwargs, key):
    with pytest.raises(ValueError, match=key):
        CDCLLoss(in_channels=D, **kwargs)


def test_missing_output_key():
    out = make_outputs(2)
    del out['audio_queries']
    with pytest.raises(KeyError, match='audio_queries'):
        CDCLLoss(in_channels=D)(out, samples(full_fg(2)))
