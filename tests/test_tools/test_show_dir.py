"""tools/test.py --show-dir / --interval end to end on the generated datasets: one image per drawn test clip."""
import os
import os.path as osp
import subprocess
import sys
from typing import List

import mmcv
import numpy as np
import pytest
from mmengine.config import Config

from mmavs.registry import DATASETS
from mmavs.utils import register_all_modules
from mmavs.visualization import DEFAULT_BINARY_COLOR

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S4_CFG = 'configs/baseline/baseline_tiny_synthetic_s4.py'
AVSS_CFG = 'configs/baseline/baseline_tiny_synthetic_avss.py'
GAP = 2  # AVSLocalVisualizer's default


def run_test_tool(config: str, checkpoint: str, data_root: str, work_dir: str, *extra: str,
                  options: List[str] = ()) -> subprocess.CompletedProcess:
    opts = [f'test_dataloader.dataset.data_root={data_root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False', 'test_dataloader.batch_size=2', *options]
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', work_dir, *extra,
                           '--cfg-options', *opts], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f'exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'


def split_clips(config: str, data_root: str) -> tuple:
    """``([(vid, frames [T, H, W, 3], gt_masks [T, H, W], frame_flags [T])], metainfo)`` of the test split."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, config)).test_dataloader.dataset
    cfg.data_root = data_root
    dataset = DATASETS.build(cfg)
    clips = []
    for i in range(len(dataset)):
        item = dataset[i]
        sample = item['data_samples']
        clips.append((sample.metainfo['vid'], item['inputs']['frames'].permute(0, 2, 3, 1).numpy(),
                      sample.gt_masks.numpy(), sample.frame_flags.numpy()))
    return clips, dataset.metainfo


def panels(image: np.ndarray, row: int, height: int, width: int, columns: int) -> List[np.ndarray]:
    top = row * (height + GAP)
    return [image[top:top + height, c * (width + GAP):c * (width + GAP) + width] for c in range(columns)]


def check_clip_image(image, frames, gt, flags, colors) -> None:
    """Alpha 1: ground-truth pixels have exactly their class colour, others the frame's; the prediction row
    holds only frame pixels and class colours."""
    real = np.flatnonzero(flags)
    height, width = frames.shape[1:3]
    assert image.shape[1] == len(real) * (width + GAP) - GAP
    for panel, t in zip(panels(image, 0, height, width, len(real)), real):
        for cls in np.unique(gt[t]):
            on = gt[t] == cls
            expected = frames[t][on] if cls in (0, 255) else np.broadcast_to(colors[cls], (int(on.sum()), 3))
            np.testing.assert_array_equal(panel[on], expected, err_msg=f'frame {t} class {cls}')
    palette = np.asarray(colors, np.uint8)
    for panel, t in zip(panels(image, 1, height, width, len(real)), real):
        changed = (panel != frames[t]).any(-1)
        is_color = (panel[changed][:, None] == palette[None]).all(-1).any(-1)
        assert is_color.all(), f'prediction panel of frame {t}: pixels that are neither frame nor class colour'


def test_show_dir_writes_every_s4_clip(s4_root: str, untrained_checkpoint, tmp_path) -> None:
    show = tmp_path / 'show'
    proc = run_test_tool(S4_CFG, untrained_checkpoint(S4_CFG), s4_root, str(tmp_path / 'work'),
                         '--show-dir', str(show), options=['visualizer.alpha=1.0'])
    assert_ok(proc)
    clips, _ = split_clips(S4_CFG, s4_root)
    assert sorted(os.listdir(show)) == sorted(f'{vid}.png' for vid, *_ in clips)
    binary = [(0, 0, 0), DEFAULT_BINARY_COLOR]
    for vid, frames, gt, flags in clips:
        assert (gt == 1).any(), 'the generated clip should have a sounding object'
        check_clip_image(mmcv.imread(str(show / f'{vid}.png'), channel_order='rgb'), frames, gt, flags, binary)
    assert 'avs/J_legacy' in proc.stdout + proc.stderr  # the metrics are still computed


def test_show_dir_interval_avss_palette(avss_root: str, untrained_checkpoint, tmp_path) -> None:
    show = tmp_path / 'show'
    proc = run_test_tool(AVSS_CFG, untrained_checkpoint(AVSS_CFG), avss_root, str(tmp_path / 'work'),
                         '--show-dir', str(show), '--interval', '2', options=['visualizer.alpha=1.0'])
    assert_ok(proc)
    clips, metainfo = split_clips(AVSS_CFG, avss_root)
    assert len(clips) == 3
    assert sorted(os.listdir(show)) == sorted(f'{clips[i][0]}.png' for i in (0, 2))  # clips 0 and 2 of 3
    colors = [tuple(c) for c in metainfo['palette']]
    for vid, frames, gt, flags in (clips[0], clips[2]):
        assert ((gt > 0) & (gt < 255)).any()
        image = mmcv.imread(str(show / f'{vid}.png'), channel_order='rgb')
        check_clip_image(image, frames, gt, flags, colors)
        # the legend below the rows lists the ground-truth classes (their exact swatch colour)
        legend = image[2 * frames.shape[1] + GAP:]
        for cls in np.unique(gt[flags]):
            if 0 < cls < 255:
                assert (legend == colors[cls]).all(-1).any(), f'{metainfo["classes"][cls]} not in the legend'


@pytest.mark.parametrize('argv, message', [
    (['--interval', '3'], '--interval N needs --show-dir'),
    (['--show-dir', 'x', '--interval', '0'], 'N >= 1'),
])
def test_interval_needs_show_dir(argv, message, capsys) -> None:
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        import test as test_tool
    finally:
        sys.path.pop(0)
    with pytest.raises(SystemExit):
        test_tool.parse_args([S4_CFG, 'ckpt.pth', *argv])
    assert message in capsys.readouterr().err


def test_show_dir_turns_on_the_hook() -> None:
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        import test as test_tool
    finally:
        sys.path.pop(0)
    cfg = test_tool.build_cfg(test_tool.parse_args([S4_CFG, 'ckpt.pth', '--show-dir', 'vis', '--interval', '5']))
    assert cfg.default_hooks.visualization == dict(type='AVSVisualizationHook', draw=True, out_dir='vis', interval=5)
    assert cfg.visualizer.type == 'AVSLocalVisualizer'
    plain = test_tool.build_cfg(test_tool.parse_args([S4_CFG, 'ckpt.pth']))
    assert plain.default_hooks.visualization == dict(type='AVSVisualizationHook')
