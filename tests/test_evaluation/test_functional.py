"""Tests of the pure metric functions against loop-based oracles and hand-computed cases."""
import pytest
import torch

from mmavs.evaluation.functional import (
    binary_frame_stats,
    dataset_class_iou,
    false_detection_rate,
    legacy_batch_max_f,
    legacy_batch_mean_iou,
    legacy_class_scores,
    legacy_f_curves,
    legacy_frame_iou,
    legacy_thresholds,
    pooled_max_f,
    semantic_frame_stats,
    threshold_rank,
)


def test_thresholds_match_reference_and_end_at_one(reference_thresholds):
    thresholds = legacy_thresholds()
    assert thresholds.dtype == torch.float32
    assert torch.equal(thresholds, reference_thresholds)
    assert thresholds[-1].item() == 1.0  # 1 - 1e-10 rounds to 1 in float32
    assert (thresholds[1:] > thresholds[:-1]).all()


def test_threshold_rank_is_exact_at_and_around_every_threshold():
    thresholds = legacy_thresholds()
    neighbours = torch.cat([
        thresholds,
        torch.nextafter(thresholds, torch.full_like(thresholds, 2.0)),
        torch.nextafter(thresholds, torch.full_like(thresholds, -1.0)).clamp(min=0),
        torch.tensor([0.0, 0.5, 1.0, 1e-30, 0.99999994]),
        torch.rand(10000),
    ])
    expected = (neighbours.unsqueeze(1) >= thresholds).sum(1)
    assert torch.equal(threshold_rank(neighbours), expected)
    with pytest.raises(TypeError):
        threshold_rank(neighbours.double())


def test_binary_frame_stats_match_thresholding_loop(reference_thresholds):
    gen = torch.Generator().manual_seed(0)
    logits = 6 * torch.randn(6, 9, 11, generator=gen)
    logits[0, 0, :4] = torch.tensor([0.0, 1e-9, -1e-9, 40.0])  # sigmoid exactly 0.5 twice, and 1.0
    gt = (torch.rand(6, 9, 11, generator=gen) > 0.6).long()
    gt[2] = 0  # empty GT
    gt[3, :2] = 255  # ignored rows
    stats = binary_frame_stats(logits, gt)
    probs = torch.sigmoid(logits)
    thresholds = reference_thresholds
    for n in range(6):
        valid = gt[n] != 255
        fg = (gt[n] == 1) & valid
        positive = (probs[n] > 0.5) & valid
        assert stats['num_valid'][n] == valid.sum()
        assert stats['gt_area'][n] == fg.sum()
        assert stats['pred_area'][n] == positive.sum()
        assert stats['inter'][n] == (positive & fg).sum()
        for i in range(255):
            reached = (probs[n] >= thresholds[i]) & valid
            assert stats['pred_count'][n, i] == reached.sum()
            assert stats['tp_count'][n, i] == (reached & fg).sum()


def test_binary_frame_stats_many_frames_are_chunk_independent():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(11, 5, 5, generator=gen)
    gt = (torch.rand(11, 5, 5, generator=gen) > 0.5).to(torch.uint8)
    whole = binary_frame_stats(logits, gt)
    for n in range(11):
        single = binary_frame_stats(logits[n:n + 1], gt[n:n + 1])
        for key, value in single.items():
            assert torch.equal(whole[key][n:n + 1], value), key


def test_binary_frame_stats_rejects_bad_input():
    with pytest.raises(ValueError, match='0, 1 or 255'):
        binary_frame_stats(torch.zeros(1, 2, 2), torch.tensor([[[0, 2], [1, 0]]]))
    with pytest.raises(ValueError, match='NaN'):
        binary_frame_stats(torch.full((1, 2, 2), float('nan')), torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match='same shape'):
        binary_frame_stats(torch.zeros(1, 2, 2), torch.zeros(1, 2, 3, dtype=torch.long))


def test_legacy_frame_iou_hand_cases():
    # frame 0: pred 2 px, GT 3 px, overlap 1 -> 1 / 4; frame 1: empty GT, 10 px, 3 predicted -> 7 / 10
    iou = legacy_frame_iou(
        torch.tensor([1, 0]), torch.tensor([2, 3]), torch.tensor([3, 0]), torch.tensor([10, 10]))
    assert iou.tolist() == pytest.approx([1 / (4 + 1e-7), 7 / (10 + 1e-7)], abs=1e-15)
    # empty GT and empty prediction: background IoU 1, not 0 / 0
    iou = legacy_frame_iou(*(torch.tensor([v]) for v in (0, 0, 0, 25)))
    assert iou.item() == pytest.approx(1.0, abs=1e-8)


def test_legacy_f_curves_bit_exact_with_reference_loop(reference_f_curve):
    gen = torch.Generator().manual_seed(2)
    logits = 5 * torch.randn(5, 12, 12, generator=gen)
    gt = (torch.rand(5, 12, 12, generator=gen) > 0.7).long()
    stats = binary_frame_stats(logits, gt)
    curves = legacy_f_curves(stats['tp_count'], stats['pred_count'], stats['gt_area'])
    assert curves.dtype == torch.float32
    for n in range(5):
        assert torch.equal(curves[n], reference_f_curve(torch.sigmoid(logits[n]), gt[n]))


def test_legacy_batch_max_f_hand_cases():
    curves = torch.tensor([[0.2, 0.6], [0.4, 0.2], [0.9, 0.9], [0.1, 0.3]])
    has_fg = torch.tensor([True, True, False, True])
    # batch 0 = frames 0, 1: mean curve (0.3, 0.4) -> 0.4; batch 1 = frames 2, 3: frame 2 skipped -> 0.3
    assert legacy_batch_max_f(curves, has_fg, torch.tensor([0, 0, 1, 1])) == pytest.approx(0.35, abs=1e-7)
    # frame 2 (no foreground) skipped inside its batch
    assert legacy_batch_max_f(curves, has_fg, torch.tensor([0, 0, 0, 1])) == pytest.approx(0.35, abs=1e-7)
    # a batch whose frames all lack foreground scores 0 and still counts
    assert legacy_batch_max_f(curves[2:3], has_fg[2:3], torch.tensor([0])) == 0.0
    value = legacy_batch_max_f(curves[:3], has_fg[:3], torch.tensor([0, 0, 1]))
    assert value == pytest.approx((0.4 + 0.0) / 2, abs=1e-7)
    with pytest.raises(ValueError, match='non-decreasing'):
        legacy_batch_max_f(curves, has_fg, torch.tensor([1, 0, 0, 0]))


def test_legacy_batch_mean_iou_averages_batch_means():
    iou = torch.tensor([1.0, 0.0, 0.0, 0.5, 0.5])
    assert legacy_batch_mean_iou(iou, torch.tensor([0, 0, 1, 1, 1])) == pytest.approx((0.5 + 1 / 3) / 2)
    assert legacy_batch_mean_iou(iou, torch.zeros(5, dtype=torch.long)) == pytest.approx(0.4)


def test_pooled_max_f_dataset_and_video():
    curves = torch.tensor([[0.2, 0.6], [0.8, 0.2], [0.9, 0.9], [0.5, 0.1]])
    has_fg = torch.tensor([True, True, False, True])
    # dataset: mean over fg frames (0.5, 0.3) -> 0.5
    assert pooled_max_f(curves, has_fg, torch.zeros(4, dtype=torch.long)) == pytest.approx(0.5)
    # videos {0, 1}: (0.5, 0.4) -> 0.5; {2, 3}: frame 3 only -> 0.5
    assert pooled_max_f(curves, has_fg, torch.tensor([0, 0, 1, 1])) == pytest.approx(0.5)
    # video {0}: 0.6, {1}: 0.8, {2}: no fg (not counted), {3}: 0.5
    assert pooled_max_f(curves, has_fg, torch.arange(4)) == pytest.approx((0.6 + 0.8 + 0.5) / 3)
    assert pooled_max_f(curves, torch.zeros(4, dtype=torch.bool), torch.arange(4)) == 0.0


def test_semantic_frame_stats_match_class_loop():
    gen = torch.Generator().manual_seed(3)
    num_classes = 5
    logits = torch.randn(3, num_classes, 7, 6, generator=gen)
    gt = torch.randint(0, num_classes, (3, 7, 6), generator=gen)
    gt[1, :3] = 255
    stats = semantic_frame_stats(logits, gt, num_classes)
    pred = logits.argmax(1)
    for n in range(3):
        valid = gt[n] != 255
        for c in range(num_classes):
            p, g = (pred[n] == c) & valid, gt[n] == c
            assert stats['pred_area'][n, c] == p.sum()
            assert stats['gt_area'][n, c] == g.sum()
            assert stats['inter'][n, c] == (p & g).sum()


def test_semantic_frame_stats_rejects_bad_input():
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        semantic_frame_stats(torch.zeros(1, 3, 2, 2), torch.tensor([[[0, 3], [1, 0]]]), 3)
    with pytest.raises(ValueError, match='channels'):
        semantic_frame_stats(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), 3)


def test_legacy_class_scores_hand_case():
    # 3 classes, 2 frames of 4 pixels
    # frame 0: GT [0 0 1 1], pred [0 1 1 1]; frame 1: GT [0 0 0 0], pred [0 0 0 0]
    inter = torch.tensor([[1, 2, 0], [4, 0, 0]])
    pred = torch.tensor([[1, 3, 0], [4, 0, 0]])
    gt = torch.tensor([[2, 2, 0], [4, 0, 0]])
    class_j, class_f, count = legacy_class_scores(inter, pred, gt)
    assert count.tolist() == [2, 1, 0]
    f0 = 1.3 * 1.0 * 0.5 / (0.3 * 1.0 + 0.5)  # frame 0, class 0: P 1, R 1/2
    f1 = 1.3 * (2 / 3) * 1.0 / (0.3 * 2 / 3 + 1.0)  # frame 0, class 1: P 2/3, R 1
    assert class_j.tolist() == pytest.approx([(0.5 + 1.0) / 2, 2 / 3, 0.0])
    assert class_f.tolist() == pytest.approx([(f0 + 1.0) / 2, f1, 0.0])


def test_legacy_class_scores_prediction_without_gt_counts_zero():
    # class 1 predicted but absent from GT: its count grows, IoU 0, F NaN -> 0
    class_j, class_f, count = legacy_class_scores(torch.tensor([[3, 0]]), torch.tensor([[3, 1]]),
                                                  torch.tensor([[4, 0]]))
    assert count.tolist() == [1, 1]
    assert class_j.tolist() == pytest.approx([0.75, 0.0])
    assert class_f[1].item() == 0.0


def test_false_detection_rate_on_hand_built_confusion():
    # confusion (rows GT, columns prediction), 3 classes; class 2 never predicted
    confusion = torch.tensor([[5, 1, 0], [3, 2, 0], [0, 4, 0]])
    inter, pred = confusion.diagonal(), confusion.sum(0)
    fdr = false_detection_rate(inter, pred)
    assert fdr[:2].tolist() == pytest.approx([3 / 8, 5 / 7])
    assert torch.isnan(fdr[2])
    assert fdr.nanmean().item() == pytest.approx((3 / 8 + 5 / 7) / 2)
    gt = confusion.sum(1)
    assert dataset_class_iou(inter, pred, gt).tolist() == pytest.approx([5 / 9, 2 / 10, 0.0])


def test_frame_stats_of_zero_frames_have_the_right_shapes():
    binary = binary_frame_stats(torch.zeros(0, 4, 4), torch.zeros(0, 4, 4, dtype=torch.long))
    assert binary['pred_count'].shape == (0, 255) and binary['inter'].shape == (0, )
    semantic = semantic_frame_stats(torch.zeros(0, 3, 4, 4), torch.zeros(0, 4, 4, dtype=torch.long), 3)
    assert semantic['inter'].shape == (0, 3)
