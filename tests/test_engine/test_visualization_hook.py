"""Tests of AVSVisualizationHook (clip counting, modes, files); end to end in tests/test_tools/test_show_dir.py."""
import os
import uuid
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer

from mmavs.registry import HOOKS, VISUALIZERS
from mmavs.structures import AVSDataSample

T, H, W = 2, 8, 10


def runner_with(visualizer) -> SimpleNamespace:
    return SimpleNamespace(visualizer=visualizer, iter=7)


def batch(vids):
    frames = [torch.full((T, 3, H, W), 100, dtype=torch.uint8) for _ in vids]
    outputs = []
    for vid in vids:
        sample = AVSDataSample(metainfo=dict(vid=vid))
        sample.pred_masks = torch.ones(T, H, W, dtype=torch.long)
        sample.frame_flags = torch.ones(T, dtype=torch.bool)
        outputs.append(sample)
    return dict(inputs=dict(frames=frames), data_samples=outputs), outputs


def avs_visualizer():
    return VISUALIZERS.build(dict(type='AVSLocalVisualizer', name=f'hook_{uuid.uuid4().hex}'))


def run_test_epoch(hook, runner, batches, mode='test'):
    getattr(hook, f'before_{mode}_epoch')(runner)
    for index, vids in enumerate(batches):
        data_batch, outputs = batch(vids)
        getattr(hook, f'after_{mode}_iter')(runner, index, data_batch, outputs)


def test_interval_counts_clips_across_batches(tmp_path) -> None:
    hook = HOOKS.build(dict(type='AVSVisualizationHook', draw=True, interval=2, out_dir=str(tmp_path)))
    runner = runner_with(avs_visualizer())
    hook.before_run(runner)
    run_test_epoch(hook, runner, [['a', 'b', 'c'], ['d', 'e', 'f'], ['g']])
    assert sorted(os.listdir(tmp_path)) == ['a.png', 'c.png', 'e.png', 'g.png']
    # a second test run counts from its first clip again
    for name in os.listdir(tmp_path):
        os.remove(tmp_path / name)
    run_test_epoch(hook, runner, [['b', 'a']])
    assert os.listdir(tmp_path) == ['b.png']


def test_every_clip_with_interval_one(tmp_path) -> None:
    hook = HOOKS.build(dict(type='AVSVisualizationHook', draw=True, interval=1, out_dir=str(tmp_path)))
    runner = runner_with(avs_visualizer())
    run_test_epoch(hook, runner, [['a', 'b'], ['c']])
    assert sorted(os.listdir(tmp_path)) == ['a.png', 'b.png', 'c.png']


def test_validation_goes_to_the_backends_not_out_dir(tmp_path) -> None:
    vis = VISUALIZERS.build(dict(type='AVSLocalVisualizer', name=f'hook_{uuid.uuid4().hex}',
                                 vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path / 'log')))
    hook = HOOKS.build(dict(type='AVSVisualizationHook', draw=True, interval=1, out_dir=str(tmp_path / 'show')))
    run_test_epoch(hook, runner_with(vis), [['a']], mode='val')
    assert not (tmp_path / 'show').exists()
    assert os.listdir(tmp_path / 'log' / 'vis_data' / 'vis_image') == ['val_a_7.png']  # step = runner.iter


def test_draw_false_and_train_mode_draw_nothing(tmp_path) -> None:
    runner = runner_with(avs_visualizer())
    off = HOOKS.build(dict(type='AVSVisualizationHook', out_dir=str(tmp_path)))
    off.before_run(runner)
    run_test_epoch(off, runner, [['a']])
    on = HOOKS.build(dict(type='AVSVisualizationHook', draw=True, interval=1, out_dir=str(tmp_path)))
    data_batch, outputs = batch(['a'])
    on.after_train_iter(runner, 0, data_batch, outputs)
    assert not os.listdir(tmp_path)


def test_needs_an_avs_visualizer_and_a_positive_interval() -> None:
    hook = HOOKS.build(dict(type='AVSVisualizationHook', draw=True))
    with pytest.raises(TypeError, match=r"visualizer is a Visualizer: set visualizer = dict\(type='AVSLocal"):
        hook.before_run(runner_with(Visualizer(name=f'plain_{uuid.uuid4().hex}')))
    with pytest.raises(ValueError, match='interval must be a positive number of clips, got 0'):
        HOOKS.build(dict(type='AVSVisualizationHook', interval=0))


def test_images_are_the_visualizers(tmp_path) -> None:
    hook = HOOKS.build(dict(type='AVSVisualizationHook', draw=True, interval=1, out_dir=str(tmp_path)))
    vis = avs_visualizer()
    run_test_epoch(hook, runner_with(vis), [['a']])
    image = mmcv.imread(str(tmp_path / 'a.png'), channel_order='rgb')
    assert image.shape[1] == 2 * W + 2
    on = image[:H, :W]
    assert (on == np.rint(0.5 * 100 + 0.5 * np.array([255, 0, 0]))).all()
