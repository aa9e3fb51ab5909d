"""Tests of AVSLocalVisualizer: clip images with ground truth and prediction, binary and AVSS colours."""
import os.path as osp
import uuid

import mmcv
import numpy as np
import pytest
import torch
from mmseg.visualization import SegLocalVisualizer

from mmavs.datasets.palette import voc_palette
from mmavs.registry import VISUALIZERS
from mmavs.structures import AVSDataSample
from mmavs.visualization import DEFAULT_BINARY_COLOR, AVSLocalVisualizer

H, W, T = 16, 20, 3


def build(**kwargs) -> AVSLocalVisualizer:
    """A fresh visualiser through the registry (MMEngine keeps one instance per name: use a new name)."""
    return VISUALIZERS.build(dict(type='AVSLocalVisualizer', name=f'vis_{uuid.uuid4().hex}', **kwargs))


def clip(num_frames: int = T, seed: int = 0) -> torch.Tensor:
    """uint8 ``[T, 3, H, W]`` frames as PackAVSInputs gives them."""
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (num_frames, 3, H, W), dtype=np.uint8))


def panel(image: np.ndarray, row: int, col: int, gap: int = 2) -> np.ndarray:
    top, left = row * (H + gap), col * (W + gap)
    return image[top:top + H, left:left + W]


def sample(gt: torch.Tensor, pred: torch.Tensor, frame_flags=None) -> AVSDataSample:
    data = AVSDataSample(metainfo=dict(vid='v1'))
    data.gt_masks = gt
    data.pred_masks = pred
    data.frame_flags = torch.ones(gt.shape[0], dtype=torch.bool) if frame_flags is None else frame_flags
    return data


def test_registered_and_builds_on_mmseg() -> None:
    vis = build()
    assert isinstance(vis, AVSLocalVisualizer) and isinstance(vis, SegLocalVisualizer)
    assert vis.dataset_meta['classes'] == ('background', 'sounding object')


def test_binary_clip_gt_and_prediction_rows_in_one_colour(tmp_path) -> None:
    vis = build(alpha=1.0)
    vis.dataset_meta = dict(classes=('background', 'sounding object'), palette=[[0, 0, 0], [255, 255, 255]])
    frames = clip()
    gt = torch.zeros(T, H, W, dtype=torch.long)
    gt[:, 2:8, 3:9] = 1
    gt[2] = 255  # a frame without ground truth: bare frame
    pred = torch.zeros(T, H, W, dtype=torch.long)
    pred[:, 10:14, 12:18] = 1
    out_file = str(tmp_path / 'clip.png')
    drawn = vis.add_datasample('clip', frames, sample(gt, pred), out_file=out_file)
    np.testing.assert_array_equal(mmcv.imread(out_file, channel_order='rgb'), drawn)
    assert drawn.shape[1] == T * W + (T - 1) * 2 and drawn.shape[0] > 2 * H + 2  # 2 rows and a legend
    rgb = frames.permute(0, 2, 3, 1).numpy()
    for t in range(T):
        for row, masks in enumerate((gt, pred)):
            on = (masks[t] == 1).numpy()
            got = panel(drawn, row, t)
            assert (got[on] == DEFAULT_BINARY_COLOR).all(), (row, t)  # not the palette's white
            np.testing.assert_array_equal(got[~on], rgb[t][~on])
    assert not (panel(drawn, 0, 2) == DEFAULT_BINARY_COLOR).all(-1).any()  # frame 2: no ground truth drawn


def test_avss_clip_palette_colours_and_padded_frames_left_out() -> None:
    palette = voc_palette(71)
    vis = build(alpha=1.0, gap=3)
    vis.dataset_meta = dict(classes=[f'class_{i}' for i in range(71)], palette=palette)
    frames = clip(5)
    gt = torch.zeros(5, H, W, dtype=torch.long)
    gt[:, 1:5, 1:5] = 7
    gt[:, 8:12, 10:19] = 40
    gt[3:] = 255  # padding
    pred = torch.zeros(5, H, W, dtype=torch.long)
    pred[:, :, :4] = 70
    flags = torch.tensor([True, True, True, False, False])
    drawn = vis.add_datasample('avss', frames, sample(gt, pred, flags))
    assert drawn.shape[1] == 3 * W + 2 * 3  # the 3 real frames only
    for t in range(3):
        for row, masks in enumerate((gt, pred)):
            got = panel(drawn, row, t, gap=3)
            for cls in (7, 40, 70):
                on = (masks[t] == cls).numpy()
                assert (got[on] == palette[cls]).all(), (row, t, cls)
    legend = drawn[2 * H + 3:]
    for cls in (7, 40, 70):
        assert (legend == palette[cls]).all(-1).any(), f'class {cls} not in the legend'
    assert (legend == 255).any()  # white legend background


def test_alpha_blend_matches_draw_overlay_formula() -> None:
    vis = build()  # alpha 0.5
    frames = clip(1)
    gt = torch.ones(1, H, W, dtype=torch.long)
    data = AVSDataSample()
    data.gt_masks = gt
    drawn = vis.add_datasample('one', frames, data)
    rgb = frames.permute(0, 2, 3, 1).numpy()[0].astype(np.float64)
    np.testing.assert_array_equal(panel(drawn, 0, 0), np.rint(0.5 * rgb + 0.5 * np.array(DEFAULT_BINARY_COLOR)))


def test_backend_receives_the_image(tmp_path) -> None:
    vis = build(vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path))
    data = AVSDataSample()
    data.pred_masks = torch.ones(T, H, W, dtype=torch.long)
    vis.add_datasample('val_v1', clip(), data, step=4)
    assert osp.isfile(tmp_path / 'vis_data' / 'vis_image' / 'val_v1_4.png')


def test_bad_meta_and_frames_are_refused() -> None:
    with pytest.raises(ValueError, match='3 classes but 2 palette colours'):
        build(classes=['a', 'b', 'c'], palette=[[0, 0, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match='alpha'):
        build(alpha=2)
    vis = build()
    with pytest.raises(ValueError, match=r'frames must be uint8 \[T, 3, H, W\]'):
        vis.add_datasample('x', torch.zeros(T, 3, H, W))
    data = AVSDataSample()
    data.gt_masks = torch.zeros(T, H + 1, W, dtype=torch.long)
    with pytest.raises(ValueError, match='mask row 0 is'):
        vis.add_datasample('x', clip(), data)
