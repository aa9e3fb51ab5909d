"""Tests of tools/analysis_tools/qualitative.py: layout and colours of the saved figure, per-clip J, bad inputs."""
import os
import os.path as osp
import sys
from typing import List, Tuple

import mmcv
import numpy as np
import pytest
from mmengine.config import Config

from mmavs.evaluation.mask_files import clip_pred_mask_relpaths, write_pred_mask
from mmavs.registry import DATASETS
from mmavs.utils import register_all_modules
from mmavs.visualization import DEFAULT_BINARY_COLOR

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import qualitative  # noqa: E402

S4_CFG = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_s4.py')
AVSS_CFG = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_avss.py')


def split_dataset(config: str, data_root: str):
    register_all_modules()
    cfg = Config.fromfile(config).test_dataloader.dataset
    cfg.data_root = data_root
    return DATASETS.build(cfg)


def runs(profile: np.ndarray) -> List[Tuple[int, int]]:
    """``(start, length)`` of the runs of True in a 1-D boolean profile."""
    padded = np.concatenate([[False], profile, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2])]


def panel_grid(image: np.ndarray, height: int, width: int) -> Tuple[List[int], List[int]]:
    """Tops of the panel rows and lefts of the panel columns, found in the saved image.

    Panels are ``height`` x ``width`` areas separated by white gaps, the first row at the top of the figure;
    labels (left) and legend lines (bottom) have other sizes, so runs of exactly the panel size are panels.
    """
    ink = (image < 250).any(-1)
    columns = [start for start, length in runs(ink[:height].any(0)) if length == width]
    assert columns, 'no panel column found'
    rows = [start for start, length in runs(ink[:, columns[-1]:columns[-1] + width].any(1)) if length == height]
    return rows, columns


@pytest.fixture(scope='module')
def s4_figure(tmp_path_factory, s4_root, untrained_checkpoint) -> dict:
    out = str(tmp_path_factory.mktemp('qualitative') / 'fig')
    vids = [split_dataset(S4_CFG, s4_root).get_data_info(i)['vid'] for i in range(2)]
    methods = [f'Seed{seed}={S4_CFG}:{untrained_checkpoint(S4_CFG, seed)}' for seed in (0, 1)]
    files = qualitative.main([
        '--method', *methods,
        '--clips', *vids, '--data-root', s4_root, '--alpha', '1', '--out', out])
    return dict(files=files, vids=vids)


def test_s4_figure_layout_and_gt_colours(s4_figure, s4_root) -> None:
    png, pdf = s4_figure['files']
    with open(pdf, 'rb') as f:
        assert f.read(5) == b'%PDF-'
    image = mmcv.imread(png, channel_order='rgb')
    dataset = split_dataset(S4_CFG, s4_root)
    height, width = dataset[0]['inputs']['frames'].shape[-2:]
    rows, columns = panel_grid(image, height, width)
    assert len(columns) == 5  # S4: 5 frames
    assert len(rows) == 2 * (2 + 2)  # 2 clips x (input, GT, 2 methods)
    for block, vid in enumerate(s4_figure['vids']):
        item = dataset[qualitative.clip_indices(dataset, [vid])[0]]
        frames = item['inputs']['frames'].permute(0, 2, 3, 1).numpy()
        gt = item['data_samples'].gt_masks.numpy()
        assert (gt == 1).any()
        input_top, gt_top = rows[4 * block], rows[4 * block + 1]
        for t, left in enumerate(columns):
            np.testing.assert_array_equal(image[input_top:input_top + height, left:left + width], frames[t])
            panel = image[gt_top:gt_top + height, left:left + width]
            on = gt[t] == 1
            assert (panel[on] == DEFAULT_BINARY_COLOR).all(), (vid, t)
            np.testing.assert_array_equal(panel[~on], frames[t][~on])


def write_folder(root: str, dataset, masks_of) -> None:
    """Save ``masks_of(sample) -> [T, H, W]`` of every clip in the pred_masks layout (mask_files' writer)."""
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        masks = masks_of(sample)
        for t, relpath in enumerate(clip_pred_mask_relpaths(sample.metainfo)):
            write_pred_mask(osp.join(root, relpath), masks[t], 'avss', dataset.metainfo['palette'])


def oracle(sample) -> np.ndarray:
    gt = sample.gt_masks.numpy().copy()
    gt[gt == 255] = 0
    return gt


def empty(sample) -> np.ndarray:
    return np.zeros(tuple(sample.gt_masks.shape), np.int64)


def empty_prediction_j(gt: np.ndarray, gt_flags: np.ndarray) -> float:
    """mJ_present of an all-background prediction, by hand: background IoU = its GT share, objects 0."""
    frames = gt[gt_flags]
    background_j = float(np.mean([(f == 0).mean() for f in frames]))
    objects = len(set(np.unique(frames).tolist()) - {0, 255})
    return background_j / (1 + objects)


def test_avss_most_different_from_saved_masks(tmp_path, avss_root) -> None:
    dataset = split_dataset(AVSS_CFG, avss_root)
    write_folder(str(tmp_path / 'oracle'), dataset, oracle)
    write_folder(str(tmp_path / 'empty'), dataset, empty)
    out = str(tmp_path / 'fig')
    qualitative.main(['--dataset-config', AVSS_CFG, '--data-root', avss_root, '--alpha', '1',
                      '--method', f'Oracle={tmp_path / "oracle"}', f'Empty={tmp_path / "empty"}',
                      '--most-different', '1', '--out', out])
    # the clip chosen is the one where the empty prediction's J is lowest (the oracle's is 1 everywhere)
    js = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        js.append(empty_prediction_j(sample.gt_masks.numpy(), sample.gt_flags.numpy()))
    chosen = int(np.argmin(js))
    sample = dataset[chosen]['data_samples']
    frames = dataset[chosen]['inputs']['frames'].permute(0, 2, 3, 1).numpy()
    gt, flags = sample.gt_masks.numpy(), sample.frame_flags.numpy()
    image = mmcv.imread(out + '.png', channel_order='rgb')
    height, width = frames.shape[1:3]
    rows, columns = panel_grid(image, height, width)
    assert len(rows) == 4 and len(columns) == int(flags.sum())  # real frames only
    palette = dataset.metainfo['palette']
    _, gt_top, oracle_top, empty_top = rows
    for t, left in enumerate(columns):
        gt_panel = image[gt_top:gt_top + height, left:left + width]
        for cls in np.unique(gt[t]):
            if 0 < cls < 255:
                assert (gt_panel[gt[t] == cls] == palette[cls]).all(), (t, cls)
        np.testing.assert_array_equal(image[oracle_top:oracle_top + height, left:left + width], gt_panel)
        np.testing.assert_array_equal(image[empty_top:empty_top + height, left:left + width], frames[t])
    legend = image[rows[-1] + height:]
    for cls in set(np.unique(gt[flags]).tolist()) - {0, 255}:
        assert (legend == palette[cls]).all(-1).any(), dataset.metainfo['classes'][cls]


def test_clip_j_binary_and_semantic_by_hand() -> None:
    gt = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]], [[1, 0], [0, 0]]])
    pred = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 0]], [[0, 1], [1, 1]]])
    flags = np.array([True, True, False])
    # frame 0: IoU 1/2; frame 1: empty GT, empty prediction -> background IoU 4/4; frame 2 has no GT
    assert qualitative.clip_j(pred, gt, flags, num_classes=2) == pytest.approx((0.5 + 1.0) / 2, abs=1e-6)
    sem_gt = np.array([[[2, 2], [0, 0]]])
    sem_pred = np.array([[[2, 0], [0, 0]]])
    # class 0: IoU 2/3, class 2: IoU 1/2; both in the GT
    assert qualitative.clip_j(sem_pred, sem_gt, np.array([True]), num_classes=3) == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert np.isnan(qualitative.clip_j(pred, gt, np.zeros(3, bool), num_classes=2))


@pytest.mark.parametrize('argv, message', [
    (['--method', 'no_equals_sign', '--clips', 'v'], "--method 'no_equals_sign': expected NAME=CONFIG:CHECKPOINT"),
    (['--method', 'A={missing}', '--clips', 'v'], 'folder of saved masks "{missing}" does not exist'),
    (['--method', 'A=' + S4_CFG + ':{missing}', '--clips', 'v'], 'checkpoint file "{missing}" does not exist'),
    (['--method', 'A={folder}', 'A={folder}', '--clips', 'v'], 'the method names must differ'),
    (['--method', 'A={folder}', '--most-different', '2'], '--most-different compares two methods'),
    (['--method', 'A={folder}', '--clips', 'v'], '--dataset-config is needed'),
])
def test_bad_arguments_are_named(argv, message, tmp_path) -> None:
    names = dict(missing=str(tmp_path / 'nowhere'), folder=str(tmp_path))
    argv = [a.format(**names) for a in argv] + ['--out', str(tmp_path / 'fig')]
    with pytest.raises(SystemExit) as exc:
        qualitative.main(argv)
    assert message.format(**names) in str(exc.value.code)


def test_unknown_clip_and_missing_mask_are_named(tmp_path, avss_root) -> None:
    dataset = split_dataset(AVSS_CFG, avss_root)
    write_folder(str(tmp_path / 'masks'), dataset, empty)
    common = ['--dataset-config', AVSS_CFG, '--data-root', avss_root, '--out', str(tmp_path / 'fig')]
    with pytest.raises(SystemExit) as exc:
        qualitative.main(common + ['--method', f'A={tmp_path / "masks"}', '--clips', 'no_such_clip'])
    assert "clip 'no_such_clip' is not in split 'test' of AVSSDataset" in str(exc.value.code)
    vid = dataset.get_data_info(0)['vid']
    missing = osp.join(str(tmp_path / 'masks'), clip_pred_mask_relpaths(dataset.get_data_info(0))[1])
    os.remove(missing)
    with pytest.raises(SystemExit) as exc:
        qualitative.main(common + ['--method', f'A={tmp_path / "masks"}', '--clips', vid])
    assert '--method A: 1 problem(s)' in str(exc.value.code) and missing in str(exc.value.code)
