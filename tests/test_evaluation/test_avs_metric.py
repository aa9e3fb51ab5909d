"""Tests of AVSMetric against loop-based re-statements of the AVSBench evaluation and hand-computed cases."""
from typing import Callable, Dict, List, Optional, Sequence

import pytest
import torch
from mmengine.evaluator import Evaluator

from mmavs.evaluation import AVSMetric
from mmavs.registry import METRICS
from mmavs.structures import AVSDataSample

# ----------------------------------------------------------------------------- oracles


def oracle_binary(clips: List[dict], batch_size: int, f_curve: Callable) -> Dict[str, float]:
    """AVSBench S4 / MS3 test loop: per batch of clips, mask_iou and Eval_Fmeasure; batch values averaged.

    ``f_curve`` is the one-frame F curve oracle (the ``reference_f_curve`` fixture).
    """
    j_sum, f_sum, num_batches = 0.0, 0.0, 0
    for start in range(0, len(clips), batch_size):
        frames = [(clip['pred_logits'][t, 0], clip['gt_masks'][t].float())
                  for clip in clips[start:start + batch_size]
                  for t in range(len(clip['gt_flags'])) if clip['gt_flags'][t]]
        if not frames:
            continue
        iou_sum = 0.0
        for logit, target in frames:
            pred = (torch.sigmoid(logit) > 0.5).float()
            if target.sum() == 0:
                inter, union = ((1 - target) * (1 - pred)).sum(), target.numel()
            else:
                inter, union = (pred * target).sum(), torch.max(pred, target).sum()
            iou_sum += float(inter) / (float(union) + 1e-7)
        avg_f, count, score = None, 0, torch.zeros(255)
        for logit, target in frames:
            if torch.mean(target) == 0.0:
                continue
            curve = f_curve(torch.sigmoid(logit), target)
            avg_f = curve if avg_f is None else avg_f + curve
            count += 1
            score = avg_f / count
        j_sum += iou_sum / len(frames)
        f_sum += score.max().item()
        num_batches += 1
    return dict(J=j_sum / num_batches, F=f_sum / num_batches)


def oracle_semantic(clips: List[dict], num_classes: int,
                    padded_as_background: bool = True) -> Dict[str, float]:
    """AVSBench-semantic test loop: per frame and class IoU / F summed, counts, per-class means."""
    iou_sum = torch.zeros(num_classes, dtype=torch.float64)
    f_sum = torch.zeros(num_classes, dtype=torch.float64)
    count = torch.zeros(num_classes, dtype=torch.float64)
    for clip in clips:
        for t in range(len(clip['gt_flags'])):
            if clip['gt_flags'][t]:
                target = clip['gt_masks'][t]
            elif not clip['frame_flags'][t] and padded_as_background:
                target = torch.zeros_like(clip['gt_masks'][t])
            else:
                continue
            pred = torch.softmax(clip['pred_logits'][t], 0).argmax(0)
            for c in range(num_classes):
                inter = float(((pred == c) & (target == c)).sum())
                pred_area, gt_area = float((pred == c).sum()), float((target == c).sum())
                union = pred_area + gt_area - inter
                iou_sum[c] += inter / (union + 2.220446049250313e-16)
                precision = inter / pred_area if pred_area else float('nan')
                recall = inter / gt_area if gt_area else float('nan')
                f = 1.3 * precision * recall / (0.3 * precision + recall) if precision + recall > 0 else 0.0
                f_sum[c] += 0.0 if f != f else f
                count[c] += union > 0
    j = torch.nan_to_num(iou_sum / count, nan=0.0)
    f = torch.nan_to_num(f_sum / count, nan=0.0)
    return dict(J=j.mean().item(), F=f.mean().item(), J_nobg=j[1:].mean().item(), F_nobg=f[1:].mean().item(),
                J_drop_last=j[:-1].mean().item(), F_drop_last=f[:-1].mean().item())


# ----------------------------------------------------------------------------- data


def make_clip(vid: str, logits: torch.Tensor, gt: torch.Tensor, gt_flags: Optional[Sequence[bool]] = None,
              frame_flags: Optional[Sequence[bool]] = None) -> dict:
    """A data sample as ``AVSDataSample.to_dict()`` gives it."""
    num_frames = gt.shape[0]
    all_true = torch.ones(num_frames, dtype=torch.bool)
    gt_flags = all_true if gt_flags is None else torch.tensor(gt_flags)
    frame_flags = all_true.clone() if frame_flags is None else torch.tensor(frame_flags)
    gt = gt.clone()
    gt[~gt_flags] = 255
    return dict(vid=vid, pred_logits=logits, gt_masks=gt, gt_flags=gt_flags, frame_flags=frame_flags)


def random_binary_clips(seed: int, num_clips: int = 7, size: int = 10) -> List[dict]:
    gen = torch.Generator().manual_seed(seed)
    clips = []
    for i in range(num_clips):
        gt = (torch.rand(5, size, size, generator=gen) > torch.rand(1, generator=gen)).long()
        if i % 3 == 1:
            gt[1] = 0  # a frame with empty GT
        if i == 2:
            gt[:] = 0  # a clip without foreground at all
        quality = 4 * torch.rand(1, generator=gen)
        logits = quality * (2 * gt.float() - 1) + 2 * torch.randn(5, size, size, generator=gen)
        gt_flags = None
        if i == 5:
            gt_flags = [True, False, False, False, False]  # S4-train-like clip
        elif i == 6:
            gt_flags = [False] * 5  # no frame with GT: still takes a place in its legacy batch
        clips.append(make_clip(f'clip{i}', logits.unsqueeze(1), gt, gt_flags))
    return clips


def random_semantic_clips(seed: int, num_classes: int = 71, size: int = 8) -> List[dict]:
    gen = torch.Generator().manual_seed(seed)
    clips = []
    for i in range(4):
        classes = torch.randint(1, num_classes, (3, ), generator=gen)
        gt = classes[torch.randint(0, 3, (10, size, size), generator=gen)]
        gt[torch.rand(10, size, size, generator=gen) > 0.6] = 0
        logits = torch.randn(10, num_classes, size, size, generator=gen)
        logits += 3 * torch.nn.functional.one_hot(gt, num_classes).permute(0, 3, 1, 2)
        if i % 2:  # v1s / v1m-like: 5 real frames padded to 10
            flags = [True] * 5 + [False] * 5
            clips.append(make_clip(f'uid{i}', logits, gt, flags, flags))
        else:  # v2-like: 10 real frames
            clips.append(make_clip(f'uid{i}', logits, gt))
    return clips


def evaluate(clips: List[dict], **kwargs) -> Dict[str, float]:
    metric = AVSMetric(prefix='', **kwargs)
    metric.process(None, clips)
    return metric.compute_metrics(metric.results)


# ----------------------------------------------------------------------------- binary


@pytest.mark.parametrize('batch_size', [1, 2, 4])
def test_binary_legacy_matches_reference_loop(batch_size, reference_f_curve):
    clips = random_binary_clips(seed=batch_size)
    result = evaluate(clips, legacy_batch_size=batch_size)
    expected = oracle_binary(clips, batch_size, reference_f_curve)
    assert result['J_legacy'] / 100 == pytest.approx(expected['J'], abs=1e-6)
    assert result['F_legacy'] / 100 == pytest.approx(expected['F'], abs=1e-9)


def test_binary_legacy_depends_on_batch_size_and_other_keys_do_not(reference_f_curve):
    clips = random_binary_clips(seed=11)
    by_size = {b: evaluate(clips, legacy_batch_size=b) for b in (1, 2, 4)}
    for b in (1, 2, 4):
        expected = oracle_binary(clips, b, reference_f_curve)
        assert by_size[b]['F_legacy'] / 100 == pytest.approx(expected['F'], abs=1e-9)
    assert abs(by_size[1]['F_legacy'] - by_size[4]['F_legacy']) > 0.1
    assert abs(by_size[1]['J_legacy'] - by_size[4]['J_legacy']) > 0.1
    for key in ('J_frame', 'J_dataset', 'F_dataset', 'F_video', 'FDR'):
        assert by_size[1][key] == by_size[4][key]
    # with one clip per batch, the legacy F is the per-video F, except that a clip with GT frames but no
    # foreground scores 0 in the legacy F and is left out of F_video (a clip without GT frames is in neither)
    num_with_fg = sum(bool((c['gt_masks'][c['gt_flags']] == 1).any()) for c in clips)
    num_with_gt = sum(bool(c['gt_flags'].any()) for c in clips)
    assert by_size[1]['F_legacy'] == pytest.approx(by_size[1]['F_video'] * num_with_fg / num_with_gt, abs=1e-4)


def test_binary_empty_gt_frame_hand_case():
    # one 4x4 frame, empty GT, 3 pixels predicted
    logits = torch.full((1, 1, 4, 4), -5.0)
    logits[0, 0, 0, :3] = 5.0
    result = evaluate([make_clip('a', logits, torch.zeros(1, 4, 4, dtype=torch.long))])
    assert result['J_legacy'] == pytest.approx(100 * 13 / 16)  # background IoU
    assert result['J_frame'] == pytest.approx(100 * 13 / 16)
    assert result['F_legacy'] == 0.0  # the only batch has no foreground frame
    assert result['F_dataset'] == 0.0 and result['F_video'] == 0.0
    assert result['J_dataset'] == 0.0  # pooled foreground: 0 / 3


def test_binary_batch_without_foreground_scores_zero():
    perfect = torch.tensor([[[5.0, -5.0], [-5.0, -5.0]]]).unsqueeze(1)
    gt_fg = torch.tensor([[[1, 0], [0, 0]]])
    clips = [make_clip('fg', perfect, gt_fg), make_clip('empty', perfect, torch.zeros_like(gt_fg))]
    one_batch = evaluate(clips, legacy_batch_size=2)
    two_batches = evaluate(clips, legacy_batch_size=1)
    assert one_batch['F_legacy'] == pytest.approx(100.0)
    assert two_batches['F_legacy'] == pytest.approx(50.0)  # (1 + 0) / 2
    assert two_batches['F_video'] == pytest.approx(100.0)


def test_binary_fdr_hand_case():
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    gt[0, 0, :4] = 1  # 4 fg pixels
    logits = torch.full((1, 1, 4, 4), -3.0)
    logits[0, 0, 0, 1:4] = 3.0  # 3 true positives
    logits[0, 0, 1, :3] = 3.0  # 3 false positives
    result = evaluate([make_clip('a', logits, gt)])
    # fg: FP 3 / predicted 6; bg: predicted 10, of which 1 is fg -> 1 / 10
    assert result['FDR'] == pytest.approx(100 * (3 / 6 + 1 / 10) / 2)
    assert result['J_dataset'] == pytest.approx(100 * 3 / 7)


def test_binary_frames_without_gt_are_excluded():
    clips = random_binary_clips(seed=5, num_clips=4)
    flags = [True, False, True, False, False]
    flagged = [make_clip(c['vid'], c['pred_logits'], c['gt_masks'], flags) for c in clips]
    kept = [0, 2]
    trimmed = [make_clip(c['vid'], c['pred_logits'][kept], c['gt_masks'][kept]) for c in clips]
    # garbage where there is no GT must not matter
    for clip in flagged:
        clip['pred_logits'][1] = 100.0
    assert evaluate(flagged, legacy_batch_size=2) == pytest.approx(evaluate(trimmed, legacy_batch_size=2))


def test_binary_ignored_pixels_are_left_out():
    clips = random_binary_clips(seed=6, num_clips=3, size=6)
    padded = []
    for clip in clips:
        logits = torch.cat([clip['pred_logits'], 9 * torch.ones(5, 1, 6, 3)], dim=-1)
        gt = torch.cat([clip['gt_masks'], torch.full((5, 6, 3), 255)], dim=-1)
        padded.append(dict(clip, pred_logits=logits, gt_masks=gt))
    assert evaluate(padded) == pytest.approx(evaluate(clips))


# ----------------------------------------------------------------------------- semantic


@pytest.mark.parametrize('padded_as_background', [True, False])
def test_semantic_legacy_matches_reference_loop(padded_as_background):
    clips = random_semantic_clips(seed=3)
    result = evaluate(clips, num_classes=71, legacy_padded_frames=padded_as_background)
    expected = oracle_semantic(clips, 71, padded_as_background)
    for key in ('J', 'F', 'J_nobg', 'F_nobg', 'J_drop_last', 'F_drop_last'):
        name = key.replace('J', 'J_legacy', 1).replace('F', 'F_legacy', 1) if key[0] in 'JF' else key
        assert result[name] / 100 == pytest.approx(expected[key], abs=1e-9), name


def test_semantic_padded_frames_only_change_the_legacy_keys():
    clips = random_semantic_clips(seed=4, num_classes=9)
    trimmed = []
    for clip in clips:
        real = clip['frame_flags']
        trimmed.append(make_clip(clip['vid'], clip['pred_logits'][real], clip['gt_masks'][real]))
    padded, plain = evaluate(clips, num_classes=9), evaluate(trimmed, num_classes=9)
    for key in ('mJ_present', 'mF_present', 'mJ_dataset', 'FDR'):
        assert padded[key] == pytest.approx(plain[key])
    assert padded['J_legacy'] != pytest.approx(plain['J_legacy'])
    unpadded = evaluate(clips, num_classes=9, legacy_padded_frames=False)
    assert unpadded['J_legacy'] == pytest.approx(plain['J_legacy'])


def test_semantic_hand_case_absent_classes_and_background_means():
    # 4 classes, one frame of 4 pixels: GT [0 0 3 3], prediction [0 3 3 3]
    gt = torch.tensor([[[0, 0, 3, 3]]])
    pred = torch.tensor([[[0, 3, 3, 3]]])
    logits = 10 * torch.nn.functional.one_hot(pred, 4).permute(0, 3, 1, 2).float()
    result = evaluate([make_clip('a', logits, gt)], num_classes=4)
    class_j = [1 / 2, 0.0, 0.0, 2 / 3]
    class_f = [1.3 * 0.5 / (0.3 + 0.5), 0.0, 0.0, 1.3 * (2 / 3) / (0.3 * 2 / 3 + 1)]
    assert result['J_legacy'] == pytest.approx(100 * sum(class_j) / 4)  # absent classes count 0
    assert result['F_legacy'] == pytest.approx(100 * sum(class_f) / 4)
    assert result['J_legacy_nobg'] == pytest.approx(100 * sum(class_j[1:]) / 3)
    assert result['J_legacy_drop_last'] == pytest.approx(100 * sum(class_j[:3]) / 3)
    assert result['F_legacy_drop_last'] == pytest.approx(100 * sum(class_f[:3]) / 3)
    assert result['mJ_present'] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)
    assert result['mF_present'] == pytest.approx(100 * (class_f[0] + class_f[3]) / 2)
    assert result['mJ_dataset'] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)
    # FDR: class 0 predicted once, correct; class 3 predicted 3 times, 1 wrong; 1 and 2 never predicted
    assert result['FDR'] == pytest.approx(100 * (0 + 1 / 3) / 2)


def test_semantic_ignored_pixels_are_left_out():
    clips = random_semantic_clips(seed=7, num_classes=6, size=5)
    widened = []
    for clip in clips:
        logits = torch.cat([clip['pred_logits'], torch.randn(10, 6, 5, 2)], dim=-1)
        gt = torch.cat([clip['gt_masks'], torch.full((10, 5, 2), 255)], dim=-1)
        widened.append(dict(clip, pred_logits=logits, gt_masks=gt))
    # padded frames are scored against all-background over every pixel, so compare the GT-frame keys
    plain = evaluate(clips, num_classes=6, legacy_padded_frames=False)
    assert evaluate(widened, num_classes=6, legacy_padded_frames=False) == pytest.approx(plain)


# ----------------------------------------------------------------------------- MMEngine integration


def _data_samples(clips: List[dict]) -> List[AVSDataSample]:
    samples = []
    for clip in clips:
        sample = AVSDataSample(metainfo=dict(vid=clip['vid'], subset='s4', num_frames=len(clip['gt_flags'])))
        for key in ('pred_logits', 'gt_masks', 'gt_flags', 'frame_flags'):
            sample.set_field(clip[key], key)
        samples.append(sample)
    return samples


@pytest.mark.parametrize('num_classes', [1, 71])
def test_evaluator_with_data_samples_gives_the_same_numbers(num_classes):
    clips = random_binary_clips(seed=8) if num_classes == 1 else random_semantic_clips(seed=8)
    direct = evaluate(clips, num_classes=num_classes, legacy_batch_size=2)
    metric = METRICS.build(dict(type='AVSMetric', num_classes=num_classes, legacy_batch_size=2))
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=[f'name{i}' for i in range(num_classes)])
    samples = _data_samples(clips)
    for start in range(0, len(samples), 3):  # test batches of 3 clips, unrelated to the legacy batch size
        evaluator.process(samples[start:start + 3])
    result = evaluator.evaluate(len(samples))
    assert set(result) == {f'avs/{key}' for key in direct}
    for key, value in direct.items():
        assert result[f'avs/{key}'] == pytest.approx(value, abs=1e-12)


def test_metric_selection():
    clips = random_binary_clips(seed=9, num_clips=2)
    assert set(evaluate(clips, metrics='F')) == {'F_legacy', 'F_dataset', 'F_video'}
    assert set(evaluate(clips, metrics=('J', 'FDR'))) == {'J_legacy', 'J_frame', 'J_dataset', 'FDR'}
    semantic = random_semantic_clips(seed=9, num_classes=5)
    assert set(evaluate(semantic, num_classes=5, metrics=('J', ))) == {
        'J_legacy', 'J_legacy_nobg', 'J_legacy_drop_last', 'mJ_present', 'mJ_dataset'}


def test_bad_configuration_and_input_raise():
    with pytest.raises(ValueError, match='num_classes=1'):
        AVSMetric(task='binary', num_classes=71)
    with pytest.raises(ValueError, match='legacy_batch_size'):
        AVSMetric(legacy_batch_size=0)
    with pytest.raises(ValueError, match='metrics'):
        AVSMetric(metrics=('mIoU', ))
    with pytest.raises(ValueError, match='class_names'):
        AVSMetric(num_classes=3, class_names=['a', 'b'])
    clip = random_binary_clips(seed=10, num_clips=1)[0]
    metric = AVSMetric()
    with pytest.raises(KeyError, match="clip0.*pred_logits"):
        metric.process(None, [{k: v for k, v in clip.items() if k != 'pred_logits'}])
    with pytest.raises(ValueError, match='gt_masks of clip clip0'):
        metric.process(None, [dict(clip, gt_masks=clip['gt_masks'][:, :-1])])
    with pytest.raises(ValueError, match=r'\[T, 1, H, W\]|\[T, 1,'):
        metric.process(None, [dict(clip, pred_logits=clip['pred_logits'].repeat(1, 2, 1, 1))])
    with pytest.raises(ValueError, match='padded frames'):
        metric.process(None, [dict(clip, frame_flags=torch.zeros(5, dtype=torch.bool))])
    with pytest.raises(ValueError, match='0, 1 or 255'):
        metric.process(None, [dict(clip, gt_masks=torch.full_like(clip['gt_masks'], 2))])
    no_gt = make_clip('x', clip['pred_logits'], clip['gt_masks'], [False] * 5)
    with pytest.raises(ValueError, match='none of the evaluated clips'):
        evaluate([no_gt])
