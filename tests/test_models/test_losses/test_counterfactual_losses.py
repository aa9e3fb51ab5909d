"""Tests of the SC losses: CounterfactualEffectLoss, OrthogonalityLoss, LatentLoss (hand-computed cases)."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmavs.models.losses.counterfactual_losses import CounterfactualEffectLoss, LatentLoss, OrthogonalityLoss
from mmavs.registry import MODELS
from mmavs.structures import AVSDataSample


def samples(gt: torch.Tensor, gt_flags=None, frame_flags=None):
    """One sample per clip from ``gt`` [B, T, H, W] (flags [B, T])."""
    out = []
    for b in range(gt.shape[0]):
        s = AVSDataSample()
        s.gt_masks = gt[b].long()
        if gt_flags is not None:
            s.gt_flags = torch.as_tensor(gt_flags[b], dtype=torch.bool)
        if frame_flags is not None:
            s.frame_flags = torch.as_tensor(frame_flags[b], dtype=torch.bool)
        out.append(s)
    return out


# ------------------------------------------------------------------ L_cf
def test_effect_loss_binary_hand_computed():
    # effect = 3 - mean(0, 2) = 2 everywhere; GT at 2x the logit size (constant logits survive resizing)
    logits = torch.full((2, 1, 2, 2), 3.)
    cf = torch.stack([torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 2.)], dim=1)
    gt = torch.zeros(1, 2, 4, 4, dtype=torch.long)
    gt[0, 0, :2] = 1  # frame 0: 8 of 16 foreground
    gt[0, 1] = 255  # frame 1 has no GT
    data = samples(gt, gt_flags=[[True, False]])
    loss = CounterfactualEffectLoss(loss_weight=0.5, effect='logit')(dict(logits=logits, cf_logits=cf), data)
    p = 1. / (1. + math.exp(-2.))
    bce = 0.5 * (-math.log(p)) + 0.5 * (-math.log(1. - p))
    dice = 1. - (2. * p * 8 + 1.) / (p * 16 + 8 + 1.)
    assert set(loss) == {'loss_cf'}
    assert loss['loss_cf'].item() == pytest.approx(0.5 * (bce + dice), rel=1e-5)


def test_effect_loss_multiclass_matches_independent_oracle():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 5, 5)
    cf = torch.randn(3, 2, 4, 5, 5)
    gt = torch.randint(0, 4, (1, 3, 5, 5))
    gt[0, 1, 0, 0] = 255
    data = samples(gt, gt_flags=[[True, True, False]])
    got = CounterfactualEffectLoss(effect='logit')(dict(logits=logits, cf_logits=cf), data)['loss_cf']
    effect = (logits - cf.mean(1))[:2]
    target = gt[0, :2]
    valid = target != 255
    ce = F.cross_entropy(effect, target.clamp(max=3), reduction='none')[valid].mean()
    prob = effect.softmax(1) * valid[:, None]
    onehot = F.one_hot(target.clamp(max=3), 4).permute(0, 3, 1, 2) * valid[:, None]
    dice = 1 - (2 * (prob * onehot).sum((2, 3)) + 1) / (prob.sum((2, 3)) + onehot.sum((2, 3)) + 1)
    assert got.item() == pytest.approx(0.2 * (ce + dice.mean()).item(), rel=1e-5)


def test_rectified_effect_binary_hand_computed():
    # 1 frame of 2x2 pixels (GT at the logit size): fg, fg, bg, ignored
    logits = torch.tensor([0., 2., 1., 5.]).view(1, 1, 2, 2)
    cf = torch.stack([torch.tensor([0., -2., 1., 0.]), torch.tensor([0., -2., -1., 0.])]).view(1, 2, 1, 2, 2)
    gt = torch.tensor([1, 1, 0, 255]).view(1, 1, 2, 2)
    got = CounterfactualEffectLoss(loss_weight=0.5)(dict(logits=logits, cf_logits=cf), samples(gt))['loss_cf']
    sig = lambda x: 1. / (1. + math.exp(-x))  # noqa: E731
    delta = [0.5 - 0.5, sig(2.) - sig(-2.), sig(1.) - 0.5 * (sig(1.) + sig(-1.))]
    pixel = ((1 - delta[0]) + (1 - delta[1]) + max(delta[2], 0.)) / 3  # ignored pixel left out
    pos = [max(d, 0.) for d in delta]
    dice = 1 - (2 * (pos[0] + pos[1]) + 1) / (sum(pos) + 2 + 1)
    assert got.item() == pytest.approx(0.5 * (pixel + dice), rel=1e-5)


def test_rectified_effect_empty_frame_dice_switch():
    # frame 0: silent (all background); frame 1: one fg pixel. delta: frame 0 = 0.2 on one pixel, else < 0
    sig = torch.sigmoid
    logits = torch.tensor([[1., -4., -4., -4.], [2., -3., -3., -3.]]).view(2, 1, 2, 2)
    cf = torch.full((2, 1, 1, 2, 2), -3.)
    cf[0, 0, 0, 0, 0] = torch.logit(sig(torch.tensor(1.)) - 0.2)  # frame 0: delta 0.2 at pixel 0
    gt = torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0]]).view(1, 2, 2, 2)
    outputs = dict(logits=logits, cf_logits=cf)
    d1 = float(sig(torch.tensor(2.)) - sig(torch.tensor(-3.)))  # frame 1, fg pixel; its other deltas are 0
    pixel = ((0.2 / 4) + (1 - d1) / 4) / 2
    dice_silent = 1 - 1 / (0.2 + 1)  # empty target: S / (S + 1)
    dice_sounding = 1 - (2 * d1 + 1) / (d1 + 1 + 1)
    with_empty = CounterfactualEffectLoss(loss_weight=1.)(outputs, samples(gt))['loss_cf']
    assert with_empty.item() == pytest.approx(pixel + (dice_silent + dice_sounding) / 2, rel=1e-4)
    without = CounterfactualEffectLoss(loss_weight=1., empty_frame_dice=False)(outputs, samples(gt))['loss_cf']
    assert without.item() == pytest.approx(pixel + dice_sounding, rel=1e-4)
    # only silent frames: the Dice term is dropped altogether, the pixel term stays and keeps the graph
    silent_logits = logits[:1].clone().requires_grad_(True)
    only_silent = CounterfactualEffectLoss(loss_weight=1., empty_frame_dice=False)(
        dict(logits=silent_logits, cf_logits=cf[:1]), samples(gt[:, :1] * 0))['loss_cf']
    assert only_silent.item() == pytest.approx(0.2 / 4, rel=1e-4)
    only_silent.backward()
    assert silent_logits.grad[0, 0, 0, 0] > 0 and silent_logits.grad.flatten()[1:].abs().sum() == 0
    with pytest.raises(ValueError, match='empty_frame_dice must be a bool'):
        CounterfactualEffectLoss(empty_frame_dice='no')
    with pytest.raises(ValueError, match="empty_frame_dice=False needs effect='rectified'"):
        CounterfactualEffectLoss(effect='logit', empty_frame_dice=False)


def test_rectified_effect_asks_nothing_of_cf_where_both_predictions_are_background():
    # background pixels where the factual prediction is below the counterfactual one: zero loss and no
    # gradient into the counterfactual logits (the logit form pushes them towards foreground there)
    logits = torch.full((1, 1, 2, 2), -4.)
    cf = torch.full((1, 2, 1, 2, 2), -3., requires_grad=True)
    gt = torch.zeros(1, 1, 2, 2, dtype=torch.long)
    loss = CounterfactualEffectLoss()(dict(logits=logits, cf_logits=cf), samples(gt))['loss_cf']
    loss.backward()
    assert cf.grad.abs().sum() == 0
    cf_logit = cf.detach().clone().requires_grad_(True)
    CounterfactualEffectLoss(effect='logit')(dict(logits=logits, cf_logits=cf_logit), samples(gt))['loss_cf'].backward()
    assert (cf_logit.grad < 0).all()  # gradient descent raises the counterfactual logits on background
    # on foreground the counterfactual prediction is pushed down and the factual one up
    logits = torch.zeros(1, 1, 2, 2, requires_grad=True)
    cf = torch.zeros(1, 2, 1, 2, 2, requires_grad=True)
    CounterfactualEffectLoss()(dict(logits=logits, cf_logits=cf), samples(torch.ones(1, 1, 2, 2)))['loss_cf'].backward()
    assert (logits.grad < 0).all() and (cf.grad > 0).all()


def test_rectified_effect_multiclass_uses_the_foreground_probability():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 3)
    cf = torch.randn(2, 2, 4, 3, 3)
    gt = torch.randint(0, 4, (1, 2, 3, 3))
    loss = CounterfactualEffectLoss(loss_weight=1.)
    got = loss(dict(logits=logits, cf_logits=cf), samples(gt))['loss_cf']
    # same as the binary form on logits whose sigmoid is the probability of "any class but 0"
    fg_f = 1 - logits.softmax(1)[:, :1]
    fg_cf = 1 - cf.softmax(2)[:, :, :1]
    to_logit = lambda p: torch.log(p) - torch.log1p(-p)  # noqa: E731
    binary = loss(dict(logits=to_logit(fg_f), cf_logits=to_logit(fg_cf)), samples((gt > 0).long()))['loss_cf']
    assert got.item() == pytest.approx(binary.item(), rel=1e-4)
    with pytest.raises(ValueError, match='effect'):
        CounterfactualEffectLoss(effect='probability')


def test_effect_loss_ignores_frames_without_gt_and_depends_on_cf():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 4, 4)
    cf = torch.randn(2, 3, 1, 4, 4)
    gt = torch.randint(0, 2, (1, 2, 4, 4))
    data = samples(gt, gt_flags=[[True, False]])
    loss = CounterfactualEffectLoss()
    ref = loss(dict(logits=logits, cf_logits=cf), data)['loss_cf']
    logits2, cf2 = logits.clone(), cf.clone()
    logits2[1] += 5.
    cf2[1] -= 3.
    assert torch.allclose(loss(dict(logits=logits2, cf_logits=cf2), data)['loss_cf'], ref)
    cf3 = cf.clone()
    cf3[0] += 1.
    assert not torch.allclose(loss(dict(logits=logits, cf_logits=cf3), data)['loss_cf'], ref)


def test_effect_loss_errors_and_gradient():
    gt = torch.zeros(1, 2, 4, 4, dtype=torch.long)
    loss = MODELS.build(dict(type='CounterfactualEffectLoss'))
    with pytest.raises(KeyError, match='cf_logits'):
        loss(dict(logits=torch.zeros(2, 1, 4, 4)), samples(gt))
    with pytest.raises(ValueError, match='cf_logits'):
        loss(dict(logits=torch.zeros(2, 1, 4, 4), cf_logits=torch.zeros(2, 1, 4, 4)), samples(gt))
    with pytest.raises(ValueError, match='loss_weight'):
        CounterfactualEffectLoss(loss_weight=-1.)
    cf = torch.zeros(2, 2, 1, 4, 4, requires_grad=True)
    loss(dict(logits=torch.zeros(2, 1, 4, 4), cf_logits=cf), samples(gt))['loss_cf'].backward()
    assert cf.grad is not None and cf.grad.abs().sum() > 0


def test_effect_loss_detach_counterfactual_same_value_no_cf_gradient():
    torch.manual_seed(0)
    gt = torch.randint(0, 2, (1, 2, 4, 4))
    logits = torch.randn(2, 1, 4, 4, requires_grad=True)
    cf = torch.randn(2, 3, 1, 4, 4, requires_grad=True)
    plain = CounterfactualEffectLoss()(dict(logits=logits, cf_logits=cf), samples(gt))['loss_cf']
    detached = CounterfactualEffectLoss(detach_counterfactual=True)(dict(logits=logits, cf_logits=cf),
                                                                    samples(gt))['loss_cf']
    assert torch.allclose(plain, detached)
    grad_logits_plain, grad_cf_plain = torch.autograd.grad(plain, [logits, cf])
    detached.backward()
    assert cf.grad is None and grad_cf_plain.abs().sum() > 0
    assert torch.allclose(logits.grad, grad_logits_plain)  # the factual gradient is unchanged
    with pytest.raises(ValueError, match='detach_counterfactual'):
        CounterfactualEffectLoss(detach_counterfactual='no')


# --------------------------------------------------------------- L_ortho
def test_ortho_orthogonal_latents_give_zero():
    z = torch.tensor([[1., 0., 0., 0.]])
    z_cf = torch.tensor([[[0., 2., 0., 0.], [0., 0., -1., 0.], [0., 0., 0., 3.]]])
    loss = OrthogonalityLoss()(dict(z=z, z_cf=z_cf))['loss_ortho']
    assert loss.item() == pytest.approx(0., abs=1e-7)


def test_ortho_identical_latents_give_two():
    z = torch.randn(3, 5)
    z_cf = z[:, None].repeat(1, 4, 1) * 2.5  # parallel: cos^2 = 1 everywhere
    assert OrthogonalityLoss(loss_weight=1.)(dict(z=z, z_cf=z_cf))['loss_ortho'].item() == pytest.approx(2.)
    # K = 1 has no counterfactual pairs
    assert OrthogonalityLoss()(dict(z=z, z_cf=z_cf[:, :1]))['loss_ortho'].item() == pytest.approx(1.)


def test_ortho_hand_case_and_padded_frames():
    # z = e1; z_cf = (1, 1), (0, 1): cos^2 = 1/2 and 0 -> 1/4; cos^2(cf1, cf2) = 1/2 -> total 3/4
    z = torch.tensor([[1., 0.], [5., 7.]])
    z_cf = torch.tensor([[[1., 1.], [0., 1.]], [[5., 7.], [5., 7.]]])
    data = samples(torch.zeros(1, 2, 2, 2), frame_flags=[[True, False]])
    loss = OrthogonalityLoss(loss_weight=2.)(dict(z=z, z_cf=z_cf), data)['loss_ortho']
    assert loss.item() == pytest.approx(2. * 0.75, rel=1e-6)


# -------------------------------------------------------------------- L_z
def test_latent_loss_standard_normal_and_perfect_recon_is_zero():
    s = torch.randn(4, 6)
    out = dict(semantic=s, s_recon=s.clone(), mu=torch.zeros(4, 3), logvar=torch.zeros(4, 3))
    losses = LatentLoss()(out)
    assert set(losses) == {'loss_z_recon', 'loss_z_kl'}
    assert losses['loss_z_recon'].item() == 0.
    assert losses['loss_z_kl'].item() == 0.


def test_latent_loss_hand_values():
    s = torch.zeros(2, 2)
    recon = torch.tensor([[1., 1.], [1., -1.]])  # squared error 1 per element
    mu = torch.tensor([[1., 0.], [1., 0.]])
    logvar = torch.tensor([[0., math.log(2.)], [0., math.log(2.)]])
    # KL per element: mu=1, var=1 -> 1/2; mu=0, var=2 -> (2 - 1 - ln 2) / 2
    kl = 0.5 * (0.5 + 0.5 * (1. - math.log(2.)))
    losses = LatentLoss(loss_weight=0.8, kl_weight=0.5)(dict(semantic=s, s_recon=recon, mu=mu, logvar=logvar))
    assert losses['loss_z_recon'].item() == pytest.approx(0.8 * 1.)
    assert losses['loss_z_kl'].item() == pytest.approx(0.8 * 0.5 * kl, rel=1e-6)


def test_latent_loss_padded_frames_and_detach():
    s = torch.zeros(2, 2, requires_grad=True)
    recon = torch.tensor([[1., 1.], [100., 100.]], requires_grad=True)
    mu, logvar = torch.zeros(2, 2), torch.zeros(2, 2)
    mu[1] = 50.
    data = samples(torch.zeros(1, 2, 2, 2), frame_flags=[[True, False]])
    losses = LatentLoss(loss_weight=1.)(dict(semantic=s, s_recon=recon, mu=mu, logvar=logvar), data)
    assert losses['loss_z_recon'].item() == pytest.approx(1.)
    assert losses['loss_z_kl'].item() == 0.
    losses['loss_z_recon'].backward()
    assert s.grad is None and recon.grad is not None
    with pytest.raises(ValueError, match='kl_weight'):
        LatentLoss(kl_weight=-0.1)
    with pytest.raises(KeyError, match='s_recon'):
        LatentLoss()(dict(semantic=s, mu=mu, logvar=logvar))


# ------------------------------------------------------------ integration
def test_losses_on_decoder_outputs_train_sc_modules():
    from mmavs.models.decoders.counterfactual_decoder import CounterfactualDecoder
    from mmavs.models.losses.cdcl_loss import CDCLLoss
    torch.manual_seed(0)
    d = 16
    decoder = CounterfactualDecoder(embed_dims=d, num_layers=1, num_queries=3, num_heads=2, feedforward_channels=16,
                                    audio_channels=8, num_counterfactuals=2, latent_dims=4).train()
    n = 4
    feats = [torch.randn(n, d, s, s) for s in (8, 4, 2, 1)]
    out = decoder(feats, torch.randn(n, d, 8, 8), torch.randn(n, 8), num_frames=2, text_memory=torch.randn(n, 2, d))
    gt = torch.zeros(2, 2, 16, 16, dtype=torch.long)
    gt[:, :, 4:12, 4:12] = 1
    data = samples(gt, gt_flags=[[True, True], [True, False]])
    losses = {}
    for module in (CounterfactualEffectLoss(), OrthogonalityLoss(), LatentLoss(), CDCLLoss(in_channels=d)):
        losses.update(module(out, data))
    assert set(losses) == {'loss_cf', 'loss_ortho', 'loss_z_recon', 'loss_z_kl', 'loss_cdcl_fcf', 'loss_cdcl_va',
                           'loss_cdcl_al', 'loss_cdcl_vl'}
    sum(losses.values()).backward()
    for name in ('latent_encoder', 'latent_decoder', 'cf_generator', 'cf_embed'):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(decoder, name).parameters()), name
    # the eval path produces none of the keys these losses need
    decoder.eval()
    with torch.no_grad():
        out = decoder(feats, torch.randn(n, d, 8, 8), torch.randn(n, 8), num_frames=2)
    with pytest.raises(KeyError, match='cf_logits'):
        CounterfactualEffectLoss()(out, data)
