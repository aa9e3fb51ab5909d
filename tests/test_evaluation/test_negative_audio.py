"""Negative-audio metrics (FPR, G-metrics) and AVSMetric's frame-mixing clip selection, on hand-computed cases."""
import math

import pytest
import torch

from mmavs.evaluation import AVSMetric
from mmavs.evaluation.functional import false_positive_rate, frame_foreground_fraction, g_score
from mmavs.evaluation.metrics import NegativeAudioMetric
from mmavs.registry import METRICS

EPS = 1e-7


def _logits(*frames):
    """Binary logits [T, 1, H, W] from nested lists of +1 / -1 / 0 (0: sigmoid = 0.5, not foreground)."""
    return torch.tensor(frames, dtype=torch.float32)[:, None]


def test_frame_foreground_fraction_matches_official_rule():
    logits = _logits([[3., -1.], [0., -2.]], [[1., 1.], [1., 1.]])
    got = frame_foreground_fraction(logits)
    assert got.tolist() == pytest.approx([1 / (4 + EPS), 4 / (4 + EPS)], abs=0)
    # multi-class logits: foreground = arg-max != 0
    multi = torch.zeros(1, 3, 2, 2)
    multi[0, 2, 0, 0] = 5.0
    multi[0, 1, 1, 1] = 5.0
    assert frame_foreground_fraction(multi).tolist() == pytest.approx([2 / (4 + EPS)])
    masks = torch.tensor([[[0, 1], [1, 1]]])
    assert frame_foreground_fraction(masks, from_logits=False).tolist() == pytest.approx([3 / (4 + EPS)])
    with pytest.raises(ValueError, match=r'\[N, H, W\]'):
        frame_foreground_fraction(masks[None], from_logits=False)


def test_false_positive_rate_frame_mean_and_legacy_batches():
    fractions = torch.tensor([0.5, 0.0, 1.0])
    assert false_positive_rate(fractions) == pytest.approx(0.5)
    assert false_positive_rate(fractions, torch.tensor([0, 0, 1])) == pytest.approx((0.25 + 1.0) / 2)
    assert math.isnan(false_positive_rate(torch.zeros(0)))


def test_g_score_hand_computed():
    assert g_score(0.64, 0.0) == pytest.approx(0.8)
    assert g_score(0.81, 0.19) == pytest.approx(0.81)
    assert g_score(0.9, 1.0) == 0.0
    assert g_score(0.5, 0.5, mode='harmonic') == pytest.approx(0.5)
    assert g_score(0.6, 0.8, mode='harmonic') == pytest.approx(2 * 0.6 * 0.2 / 0.8)
    assert g_score(0.0, 1.0, mode='harmonic') == 0.0
    with pytest.raises(ValueError, match='unknown mode'):
        g_score(0.5, 0.5, mode='arithmetic')
    with pytest.raises(ValueError, match='fraction'):
        g_score(78.0, 0.1)


def _sample(vid, logits, kind=None, frame_flags=None):
    sample = dict(vid=vid, pred_logits=logits, frame_flags=torch.ones(len(logits), dtype=torch.bool)
                  if frame_flags is None else torch.tensor(frame_flags))
    if kind is not None:
        sample['perturbation'] = dict(negative_audio=kind)
    return sample


def test_negative_audio_metric_hand_computed():
    metric = METRICS.build(dict(type='NegativeAudioMetric', legacy_batch_size=2,
                                positive_scores=dict(mIoU=0.64, F=0.5)))
    assert isinstance(metric, NegativeAudioMetric)
    full, empty, quarter = [[1., 1.], [1., 1.]], [[-1., -1.], [-1., -1.]], [[1., -1.], [-1., -1.]]
    metric.process(None, [
        _sample('a', _logits(full, empty), 'silence'),  # fractions 1, 0
        _sample('pos', _logits(full, full)),  # positive audio: skipped
        _sample('b', _logits(quarter, full), 'offscreen', frame_flags=[True, False]),  # 1/4 (padded frame out)
        _sample('c', _logits(empty, empty), 'noise'),  # 0, 0
    ])
    values = metric.compute_metrics(metric.results)
    scale = 4 / (4 + EPS)
    fpr = (1 + 0 + 0.25 + 0 + 0) / 5 * scale
    assert values['FPR'] == pytest.approx(100 * fpr)
    # batches of 2 clips: (a, b) -> mean(1, 0, 1/4); (c) -> 0
    assert values['FPR_legacy'] == pytest.approx(100 * (1.25 / 3 * scale + 0) / 2)
    assert values['FPR_silence'] == pytest.approx(100 * 0.5 * scale)
    assert values['FPR_offscreen'] == pytest.approx(100 * 0.25 * scale)
    assert values['FPR_noise'] == 0
    assert values['G_mIoU'] == pytest.approx(100 * math.sqrt(0.64 * (1 - fpr)))
    assert values['G_F'] == pytest.approx(100 * math.sqrt(0.5 * (1 - fpr)))


def test_negative_audio_metric_errors():
    metric = NegativeAudioMetric()
    metric.process(None, [_sample('pos', _logits([[1.]]))])
    with pytest.raises(ValueError, match='no clip with negative audio'):
        metric.compute_metrics(metric.results)
    with pytest.raises(KeyError, match='mIoU / F'):
        NegativeAudioMetric(positive_scores=dict(J=0.5))
    with pytest.raises(ValueError, match='fraction'):
        NegativeAudioMetric(positive_scores=dict(mIoU=78.0))
    with pytest.raises(ValueError, match='legacy_batch_size'):
        NegativeAudioMetric(legacy_batch_size=0)


def _binary_clip(vid, mixed):
    gt = torch.zeros(2, 4, 4, dtype=torch.long)
    gt[:, :2] = 1
    return dict(vid=vid, pred_logits=torch.where(gt.bool(), 5.0, -5.0)[:, None].float(), gt_masks=gt,
                gt_flags=torch.ones(2, dtype=torch.bool), frame_flags=torch.ones(2, dtype=torch.bool),
                perturbation=dict(frame_mix=dict(mixed=mixed, variant='own_gt', mixed_frames=[mixed, False])))


def test_avs_metric_splits_frame_mixed_clips():
    clips = [_binary_clip('m', True), _binary_clip('u1', False), _binary_clip('u2', False)]
    counts = {}
    for selection in ('all', 'frame_mixed', 'frame_unmixed'):
        metric = AVSMetric(clips=selection)
        metric.process(None, clips)
        counts[selection] = [r['vid'] for r in metric.results]
        assert metric.compute_metrics(metric.results)['J_frame'] == pytest.approx(100)
    assert counts == dict(all=['m', 'u1', 'u2'], frame_mixed=['m'], frame_unmixed=['u1', 'u2'])
    plain = _binary_clip('x', False)
    del plain['perturbation']
    with pytest.raises(KeyError, match='frame_mix'):
        AVSMetric(clips='frame_mixed').process(None, [plain])
    with pytest.raises(ValueError, match='clips must be'):
        AVSMetric(clips='mixed')
