"""Tests of tools/analysis_tools/loss_gradients.py (gradient share of auxiliary losses per model part)."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from mmavs.registry import MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import loss_gradients  # noqa: E402

ABLATIONS = osp.join(REPO, 'configs', 'icl', 'ablations')


def _model_and_batches(name: str, ms3_root: str):
    register_all_modules()
    cfg = Config.fromfile(osp.join(ABLATIONS, f'icl_tiny_synthetic_m3_{name}.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    batches = loss_gradients.build_batches(cfg, ms3_root, num_batches=1, batch_size=2)
    return model, batches


def test_ratio_and_cosine_match_a_direct_computation(ms3_root: str) -> None:
    # CDCL without SC / MIT is deterministic, so the tool's numbers can be recomputed here
    model, batches = _model_and_batches('cdcl', ms3_root)
    shares = loss_gradients.gradient_shares(model, batches)
    assert {key for key, _ in shares} == {'loss_cdcl_fcf', 'loss_cdcl_va'}  # text terms are exact zeros
    assert {part for _, part in shares} >= {'decoder', 'neck', 'visual_backbone', 'audio_backbone'}

    data = model.data_preprocessor(batches[0], True)
    losses = model.loss(**data)
    params = [p for p in model.decoder.parameters() if p.requires_grad]

    def grad(loss):
        gs = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for p, g in zip(params, gs)])

    g_seg = grad(losses['loss_bce'] + losses['loss_dice'] + losses['loss_focal'])
    g_va = grad(losses['loss_cdcl_va'])
    got = shares[('loss_cdcl_va', 'decoder')]
    assert got['ratio'] == pytest.approx(float(g_va.norm() / g_seg.norm()), rel=1e-4)
    assert got['cos'] == pytest.approx(float(torch.dot(g_va, g_seg) / (g_va.norm() * g_seg.norm())), abs=1e-4)
    assert got['batches'] == 1


def test_segmentation_only_model_has_no_auxiliary_rows_and_bad_keys_are_named(ms3_root: str) -> None:
    model, batches = _model_and_batches('baseline', ms3_root)
    assert loss_gradients.gradient_shares(model, batches) == {}
    with pytest.raises(ValueError, match='segmentation keys'):
        loss_gradients.gradient_shares(model, batches, seg_keys=('loss_nothing',))
    with pytest.raises(ValueError, match='no batch'):
        loss_gradients.gradient_shares(model, [])
    register_all_modules()
    cfg = Config.fromfile(osp.join(ABLATIONS, 'icl_tiny_synthetic_m3_baseline.py'))
    with pytest.raises(ValueError, match='clips'):
        loss_gradients.build_batches(cfg, ms3_root, num_batches=50, batch_size=4)
