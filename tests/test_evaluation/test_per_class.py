"""Tests of mmavs.evaluation.per_class: rows of AVSMetric's report, CSV, Markdown, summary and the comparison.

The expected per-class values of the hand case are worked out by hand in the comments; the summary means
are checked against the metric's own keys, which AVSMetric computes without the table code.
"""
import math
import os.path as osp
from dataclasses import astuple
from typing import Dict, List, Tuple

import pytest
import torch

from mmavs.evaluation import AVSMetric
from mmavs.evaluation.per_class import (
    CSV_FIELDS,
    METRIC_OF_COLUMN,
    PerClassRow,
    compare_per_class,
    comparison_means,
    per_class_markdown,
    per_class_rows,
    per_class_summary,
    read_per_class_csv,
    write_per_class_csv,
)

NAMES = ['background', 'dog', 'piano', 'violin']
F_HALF = 1.3 * 0.5 / (0.3 * 0.5 + 1)  # F (beta^2 = 0.3) at precision 0.5, recall 1


def hand_clip() -> dict:
    """Two 4x4 frames. Frame 0: GT left half background, right half dog; everything predicted dog.
    Frame 1: GT and prediction all piano. Violin is nowhere."""
    gt = torch.zeros(2, 4, 4, dtype=torch.long)
    gt[0, :, 2:] = 1
    gt[1] = 2
    pred = torch.tensor([1, 2]).view(2, 1, 1).expand(2, 4, 4)
    logits = 5 * torch.nn.functional.one_hot(pred, 4).permute(0, 3, 1, 2).float()
    flags = torch.ones(2, dtype=torch.bool)
    return dict(vid='v', pred_logits=logits, gt_masks=gt, gt_flags=flags, frame_flags=flags.clone())


def evaluated(clips: List[dict], **kwargs) -> Tuple[AVSMetric, Dict[str, float]]:
    metric = AVSMetric(prefix='', **kwargs)
    metric.process(None, clips)
    return metric, metric.compute_metrics(metric.results)


def random_clips(seed: int, num_classes: int = 12, size: int = 8) -> List[dict]:
    """Clips with some classes never in the GT and frames without GT / padded frames."""
    gen = torch.Generator().manual_seed(seed)
    clips = []
    for i in range(3):
        classes = torch.randint(1, num_classes // 2, (2, ), generator=gen)  # upper half never in GT
        gt = classes[torch.randint(0, 2, (6, size, size), generator=gen)]
        gt[torch.rand(6, size, size, generator=gen) > 0.6] = 0
        logits = torch.randn(6, num_classes, size, size, generator=gen)
        logits += 2 * torch.nn.functional.one_hot(gt, num_classes).permute(0, 3, 1, 2)
        gt_flags = torch.tensor([True, True, True, True, i != 1, False])
        frame_flags = torch.tensor([True] * 5 + [i == 0])
        gt[~gt_flags] = 255
        clips.append(dict(vid=f'c{i}', pred_logits=logits, gt_masks=gt, gt_flags=gt_flags, frame_flags=frame_flags))
    return clips


def same_rows(a: List[PerClassRow], b: List[PerClassRow]) -> bool:
    def key(row):
        return tuple('nan' if isinstance(v, float) and math.isnan(v) else v for v in astuple(row))

    return [key(r) for r in a] == [key(r) for r in b]


# ----------------------------------------------------------------------------- rows and summary
def test_rows_of_the_hand_case():
    metric, _ = evaluated([hand_clip()], num_classes=4, class_names=NAMES)
    rows = per_class_rows(metric.last_report)
    assert [r.name for r in rows] == NAMES and [r.index for r in rows] == [0, 1, 2, 3]
    bg, dog, piano, violin = rows
    # background: frame 0 IoU 0 (8 GT pixels, none predicted), frame 1 union empty -> 1 frame, J 0, F 0
    assert (bg.J_gt, bg.F_gt, bg.gt_frames, bg.frames_in_gt, bg.in_gt) == (0.0, 0.0, 1, 1, True)
    assert bg.IoU_pooled == 0.0 and math.isnan(bg.FDR)  # never predicted: FDR undefined
    # dog: frame 0 IoU 8 / 16, precision 1/2, recall 1; FDR 8 FP / 16 predicted
    assert dog.J_gt == pytest.approx(50.0) and dog.F_gt == pytest.approx(100 * F_HALF)
    assert (dog.gt_frames, dog.frames_in_gt, dog.in_gt) == (1, 1, True)
    assert dog.IoU_pooled == pytest.approx(50.0) and dog.FDR == pytest.approx(50.0)
    # piano: perfect on frame 1
    assert (piano.J_gt, piano.F_gt, piano.IoU_pooled, piano.FDR) == pytest.approx((100.0, 100.0, 100.0, 0.0))
    # violin: neither predicted nor in GT
    assert (violin.J_gt, violin.gt_frames, violin.frames_in_gt, violin.in_gt) == (0.0, 0, 0, False)
    assert math.isnan(violin.IoU_pooled) and math.isnan(violin.FDR)
    # no padded frames: the legacy values are those over GT frames
    assert [(r.J_legacy, r.F_legacy, r.frames) for r in rows] == [(r.J_gt, r.F_gt, r.gt_frames) for r in rows]


def test_summary_of_the_hand_case_states_the_counts():
    metric, _ = evaluated([hand_clip()], num_classes=4, class_names=NAMES)
    summary = per_class_summary(per_class_rows(metric.last_report))
    assert summary['present']['J_gt'] == pytest.approx((50.0, 3, 4))  # (0 + 50 + 100) / 3
    assert summary['present']['F_gt'] == pytest.approx(((100 * F_HALF + 100) / 3, 3, 4))
    assert summary['all']['J_legacy'] == pytest.approx((37.5, 4, 4))  # violin counts 0
    assert summary['all']['FDR'] == pytest.approx((25.0, 2, 4))  # dog 50, piano 0; the others undefined
    text = per_class_markdown(per_class_rows(metric.last_report), ['config: x.py'])
    assert '- config: x.py' in text and '- classes in GT: 3 of 4' in text
    assert '| J (GT fr.) | 50.00 (3 of 4) | 37.50 (4 of 4) | mJ_present (classes in GT) |' in text
    assert '| FDR | 25.00 (2 of 4) | 25.00 (2 of 4) | FDR (all classes) |' in text
    assert '| 3 | violin | 0.00 | 0.00 | 0 | 0.00 | 0.00 | 0 | - | - | no |' in text


@pytest.mark.parametrize('padded', [True, False])
def test_summary_means_equal_the_metric_keys(padded):
    metric, values = evaluated(random_clips(0), num_classes=12, legacy_padded_frames=padded)
    rows = per_class_rows(metric.last_report)
    assert 0 < sum(r.in_gt for r in rows) < len(rows)  # the present / all distinction matters here
    summary = per_class_summary(rows)
    for column, (selection, key) in METRIC_OF_COLUMN.items():
        assert summary[selection][column].value == pytest.approx(values[key], abs=1e-9), column
    # the other selection differs for the present-class keys (absent classes count 0 / are undefined)
    assert summary['all']['J_gt'].value < summary['present']['J_gt'].value


def test_binary_report_has_no_rows():
    metric, _ = evaluated([dict(hand_clip(), pred_logits=torch.zeros(2, 1, 4, 4), gt_masks=torch.zeros(
        2, 4, 4, dtype=torch.long))])
    with pytest.raises(ValueError, match='binary'):
        per_class_rows(metric.last_report)


# ----------------------------------------------------------------------------- csv
def test_csv_round_trip(tmp_path):
    metric, _ = evaluated(random_clips(1), num_classes=12)
    rows = per_class_rows(metric.last_report)
    path = str(tmp_path / 'per_class.csv')
    write_per_class_csv(path, rows)
    back = read_per_class_csv(path)
    assert [r.name for r in back] == [r.name for r in rows]
    for a, b in zip(rows, back):
        for field, x, y in zip(CSV_FIELDS, astuple(a), astuple(b)):
            if isinstance(x, float):
                assert (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 5e-7, (a.name, field)
            else:
                assert x == y, (a.name, field)
    write_per_class_csv(path, back)  # 6 decimals: a second round trip is exact
    assert same_rows(read_per_class_csv(path), back)


HEADER = ','.join(CSV_FIELDS)
GOOD = ['0,background,10,20,3,10,20,3,3,10,nan,yes', '1,dog,5.5,6.5,2,5.5,6.5,2,0,nan,100,no']


@pytest.mark.parametrize('lines,where,what', [
    ([], 'line 1', 'an empty file'),
    (['index,name,J,F'], 'line 1', 'the header must be'),
    ([HEADER], 'per_class.csv', 'no class rows'),
    ([HEADER, GOOD[0], '1,dog,5.5,6.5,2,5.5,6.5,2,0,nan,100,maybe'], 'line 3', "in_gt 'maybe'"),
    ([HEADER, GOOD[0], '1,dog,x,6.5,2,5.5,6.5,2,0,nan,100,no'], 'line 3', "J_legacy 'x'"),
    ([HEADER, GOOD[0], '1,dog,5.5,6.5,-2,5.5,6.5,2,0,nan,100,no'], 'line 3', "frames '-2'"),
    ([HEADER, '0,background,10,20'], 'line 2', '4 cells, expected 12'),
    ([HEADER, GOOD[1]], 'line 2', 'class index 1, expected 0'),
])
def test_bad_csv_names_file_and_line(tmp_path, lines, where, what):
    path = tmp_path / 'per_class.csv'
    path.write_text(''.join(line + '\n' for line in lines))
    with pytest.raises(ValueError) as info:
        read_per_class_csv(str(path))
    assert str(path) in str(info.value) and where in str(info.value) and what in str(info.value)


def test_good_hand_written_csv_and_missing_file(tmp_path):
    path = tmp_path / 'per_class.csv'
    path.write_text('\n'.join([HEADER] + GOOD) + '\n')
    bg, dog = read_per_class_csv(str(path))
    assert (bg.name, bg.J_legacy, bg.frames, bg.in_gt) == ('background', 10.0, 3, True) and math.isnan(bg.FDR)
    assert (dog.index, dog.F_gt, dog.FDR, dog.in_gt) == (1, 6.5, 100.0, False) and math.isnan(dog.IoU_pooled)
    with pytest.raises(FileNotFoundError, match='no_such.csv'):
        read_per_class_csv(osp.join(str(tmp_path), 'no_such.csv'))


# ----------------------------------------------------------------------------- comparison
def row(index: int, name: str, j: float, f: float, in_gt: bool = True, frames: int = 4) -> PerClassRow:
    return PerClassRow(index, name, j, f, frames, j, f, frames, frames if in_gt else 0, j, 0.0, in_gt)


def test_comparison_order_differences_and_means():
    a = [row(0, 'bg', 80, 90), row(1, 'cat', 10, 20), row(2, 'dog', 50, 60), row(3, 'owl', 0, 0, in_gt=False)]
    b = [row(0, 'bg', 85, 88), row(1, 'cat', 40, 30), row(2, 'dog', 45, 61), row(3, 'owl', 0, 0, in_gt=False)]
    comparison = compare_per_class(a, b)
    # J differences: bg +5, cat +30, dog -5; owl is absent from both GTs and goes last
    assert [c.name for c in comparison] == ['cat', 'bg', 'dog', 'owl']
    assert [c.j_diff for c in comparison[:3]] == [30, 5, -5] and [c.f_diff for c in comparison[:3]] == [10, -2, 1]
    means, count = comparison_means(comparison)
    assert count == 3
    assert means['j_a'] == pytest.approx(140 / 3) and means['j_b'] == pytest.approx(170 / 3)
    assert means['j_diff'] == pytest.approx(10.0) and means['f_diff'] == pytest.approx(3.0)
    assert [c.name for c in compare_per_class(a, b, sort='name')] == ['bg', 'cat', 'dog', 'owl']


def test_comparison_of_different_class_lists_names_both_sources():
    a = [row(0, 'bg', 1, 1), row(1, 'cat', 1, 1)]
    with pytest.raises(ValueError, match=r"a\.csv and b\.csv .*class 1: 'cat' vs 'dog'"):
        compare_per_class(a, [row(0, 'bg', 1, 1), row(1, 'dog', 1, 1)], sources=('a.csv', 'b.csv'))
    with pytest.raises(ValueError, match='2 classes vs 1 classes'):
        compare_per_class(a, a[:1])
