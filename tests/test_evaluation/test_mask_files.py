"""Predicted mask files: the official naming rule, the official file format, and every bad input named."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmavs.datasets.palette import voc_palette
from mmavs.evaluation import AVSMetric
from mmavs.evaluation.mask_files import (
    PredMaskError,
    clip_pred_mask_relpaths,
    encode_pred_mask,
    pred_mask_relpath,
    read_pred_mask,
    write_pred_mask,
)

VOC = voc_palette(71)


def official_s4_names(category: str, video_name: str):
    """OpenNLPLab/AVSBench avs_s4/utils/utility.py save_mask: os.path.join(save_base_path, category,
    video_name) and "%s_%d.png" % (video_name, video_id) for video_id in range(5)."""
    return [os.path.join(category, video_name, '%s_%d.png' % (video_name, video_id)) for video_id in range(5)]


def official_ms3_names(video_name: str):
    """avs_ms3/utils/utility.py save_mask: os.path.join(save_base_path, video_name), same file names."""
    return [os.path.join(video_name, '%s_%d.png' % (video_name, video_id)) for video_id in range(5)]


def official_avss_names(video_name: str):
    """avss/utils/vis_mask.py save_color_mask (T=10): os.path.join(save_base_path, video_name)."""
    return [os.path.join(video_name, '%s_%d.png' % (video_name, video_id)) for video_id in range(10)]


def test_names_follow_the_official_scripts():
    s4 = clip_pred_mask_relpaths(dict(subset='s4', vid='-0aZ_x', category='baby_laughter', num_frames=5))
    assert s4 == official_s4_names('baby_laughter', '-0aZ_x')
    ms3 = clip_pred_mask_relpaths(dict(subset='ms3', vid='zzz', num_frames=5))
    assert ms3 == official_ms3_names('zzz')
    avss = clip_pred_mask_relpaths(dict(subset='avss', vid='_Y1_1', num_frames=10, category=None))
    assert avss == official_avss_names('_Y1_1')
    # frames are numbered from 0, unlike the S4 / MS3 ground truth ({vid}_1.png .. {vid}_5.png)
    assert pred_mask_relpath('ms3', 'v', 0) == 'v/v_0.png'
    with pytest.raises(ValueError, match='category'):
        pred_mask_relpath('s4', 'v', 0)
    with pytest.raises(ValueError, match='subset'):
        pred_mask_relpath('v2', 'v', 0)


def test_binary_file_is_the_official_save_mask_png(tmp_path):
    mask = (np.random.RandomState(0).rand(6, 7) > 0.5).astype(np.int64)
    path = str(tmp_path / 'a' / 'a_0.png')
    write_pred_mask(path, mask, 's4')
    # official: pred_masks *= 255; Image.fromarray(one_mask).convert('P').save(..., format='PNG')
    official = Image.fromarray(mask.astype(np.uint8) * 255).convert('P')
    with Image.open(path) as ours:
        assert ours.mode == official.mode == 'P'
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(official))
        assert ours.getpalette() == official.getpalette()
    np.testing.assert_array_equal(read_pred_mask(path, 's4'), mask)
    # no temporary file is left beside it
    assert os.listdir(tmp_path / 'a') == ['a_0.png']


def test_avss_file_decodes_to_the_official_colours(tmp_path):
    classes = np.random.RandomState(1).randint(0, 71, size=(5, 9))
    path = str(tmp_path / 'u_0.png')
    write_pred_mask(path, classes, 'avss', VOC)
    # official: pred_rgb_masks[pred_masks == cls_idx] = v_pallete[cls_idx]; Image.fromarray(rgb)
    official_rgb = np.asarray(VOC, dtype=np.uint8)[classes]
    with Image.open(path) as ours:
        assert ours.mode == 'P'
        np.testing.assert_array_equal(np.asarray(ours), classes)  # index = class
        np.testing.assert_array_equal(np.asarray(ours.convert('RGB')), official_rgb)
    np.testing.assert_array_equal(read_pred_mask(path, 'avss', VOC), classes)


def test_reads_other_repositories_files(tmp_path):
    classes = np.random.RandomState(2).randint(0, 71, size=(4, 5))
    rgb = str(tmp_path / 'rgb.png')
    Image.fromarray(np.asarray(VOC, dtype=np.uint8)[classes]).save(rgb)  # the official RGB file
    np.testing.assert_array_equal(read_pred_mask(rgb, 'avss', VOC), classes)
    index = str(tmp_path / 'index.png')
    Image.fromarray(classes.astype(np.uint8)).save(index)  # a class-index ('L') file
    np.testing.assert_array_equal(read_pred_mask(index, 'avss', VOC), classes)
    # a binary mask written with grey levels and an 'L' mode: thresholded at 128
    grey = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    path = str(tmp_path / 'grey.png')
    Image.fromarray(grey).save(path)
    np.testing.assert_array_equal(read_pred_mask(path, 'ms3'), [[0, 0, 1, 1]])
    one = str(tmp_path / 'one.png')
    Image.fromarray(grey >= 128).convert('1').save(one)
    np.testing.assert_array_equal(read_pred_mask(one, 's4'), [[0, 0, 1, 1]])


@pytest.mark.parametrize('subset,make,expected', [
    ('s4', lambda: Image.new('RGBA', (4, 4)), r"bad\.png.*mode 'RGBA'"),
    ('s4', lambda: Image.new('RGB', (4, 4), (128, 0, 0)), r'bad\.png.*colours.*\(128, 0, 0\)'),
    ('avss', lambda: Image.new('1', (4, 4)), r"bad\.png.*mode '1'"),
    ('avss', lambda: Image.new('RGB', (4, 4), (10, 20, 30)), r'bad\.png.*outside the 71-colour palette.*'
                                                            r'\(10, 20, 30\)'),
    ('avss', lambda: Image.new('L', (4, 4), 200), r'bad\.png.*\[200\].*71 classes'),
], ids=['s4_rgba', 's4_colour', 'avss_mode_1', 'avss_off_palette', 'avss_index_out_of_range'])
def test_bad_files_are_errors_naming_the_file(tmp_path, subset, make, expected):
    path = str(tmp_path / 'bad.png')
    make().save(path)
    with pytest.raises(PredMaskError, match=expected):
        read_pred_mask(path, subset, VOC)


def test_unreadable_and_missing_files(tmp_path):
    junk = str(tmp_path / 'junk.png')
    with open(junk, 'wb') as f:
        f.write(b'not a png')
    with pytest.raises(PredMaskError, match=r'junk\.png'):
        read_pred_mask(junk, 's4')
    with pytest.raises(FileNotFoundError, match=r'gone\.png'):
        read_pred_mask(osp.join(str(tmp_path), 'gone.png'), 's4')


def test_encode_rejects_values_the_format_cannot_hold():
    with pytest.raises(ValueError, match='0 / 1'):
        encode_pred_mask(np.full((2, 2), 2), 's4')
    with pytest.raises(ValueError, match=r'\[0, 71\)'):
        encode_pred_mask(np.full((2, 2), 71), 'avss', VOC)


def _samples(logits: torch.Tensor, gt: torch.Tensor, masks: torch.Tensor) -> list:
    flags = torch.ones(gt.shape[1], dtype=torch.bool)
    return [dict(vid=f'c{i}', pred_logits=logits[i], pred_masks=masks[i], gt_masks=gt[i], gt_flags=flags,
                 frame_flags=flags) for i in range(gt.shape[0])]


def _score(num_classes: int, prediction: str, samples: list) -> dict:
    metric = AVSMetric(num_classes=num_classes, prediction=prediction, legacy_batch_size=2)
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def test_metric_scores_masks_as_the_logits_they_come_from():
    gen = torch.Generator().manual_seed(0)
    # binary: 5 clips of 3 frames; masks by the official rule sigmoid > 0.5
    logits = torch.randn(5, 3, 1, 8, 8, generator=gen) * 2
    gt = (torch.rand(5, 3, 8, 8, generator=gen) > 0.6).long()
    gt[0, 1] = 0  # a frame without foreground (background IoU rule)
    masks = (torch.sigmoid(logits[:, :, 0]) > 0.5).long()
    from_logits = _score(1, 'logits', _samples(logits, gt, masks))
    from_masks = _score(1, 'masks', _samples(logits, gt, masks))
    for key in ('J_legacy', 'J_frame', 'J_dataset', 'FDR'):
        assert from_masks[key] == pytest.approx(from_logits[key], abs=1e-12), key
    for key in ('F_legacy', 'F_dataset', 'F_video'):
        assert from_masks[key] <= from_logits[key] + 1e-9, key
    # AVSS-like: 4 classes, arg-max of the softmax; every key equal
    logits = torch.randn(3, 2, 4, 6, 6, generator=gen)
    gt = torch.randint(0, 4, (3, 2, 6, 6), generator=gen)
    masks = torch.softmax(logits, dim=2).argmax(2)
    from_logits = _score(4, 'logits', _samples(logits, gt, masks))
    from_masks = _score(4, 'masks', _samples(logits, gt, masks))
    assert from_masks == pytest.approx(from_logits, abs=1e-12)


def test_metric_needs_the_field_it_scores():
    metric = AVSMetric(num_classes=1, prediction='masks')
    flags = torch.ones(1, dtype=torch.bool)
    with pytest.raises(KeyError, match='pred_masks'):
        metric.process(None, [dict(vid='c', pred_logits=torch.zeros(1, 1, 2, 2), gt_masks=torch.zeros(1, 2, 2),
                                   gt_flags=flags, frame_flags=flags)])
    with pytest.raises(ValueError, match='prediction'):
        AVSMetric(prediction='probabilities')
    with pytest.raises(ValueError, match='0 / 1'):
        metric.process(None, [dict(vid='c', pred_masks=torch.full((1, 2, 2), 2), gt_masks=torch.zeros(1, 2, 2),
                                   gt_flags=flags, frame_flags=flags)])
