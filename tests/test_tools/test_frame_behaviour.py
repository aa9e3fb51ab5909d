"""Tests of tools/analysis_tools/frame_behaviour.py (silent vs sounding frame statistics)."""
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from mmavs.apis.split_data import build_split_dataset
from mmavs.registry import DATASETS, MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import frame_behaviour  # noqa: E402


def test_statistics_hand_case() -> None:
    gt_silent = torch.zeros(2, 2, dtype=torch.long)
    gt_sound = torch.tensor([[1, 1], [0, 255]])
    preds = [torch.tensor([[0, 1], [0, 0]]),  # silent frame with 1 of 4 pixels on
             torch.zeros(2, 2),  # silent frame, empty
             torch.tensor([[1, 0], [1, 1]]),  # sounding: ignored pixel left out -> p = {00, 10}, g = {00, 01}
             torch.zeros(2, 2)]  # sounding frame predicted empty
    stats = frame_behaviour.frame_statistics(preds, [gt_silent, gt_silent, gt_sound, gt_sound])
    assert stats['silent_frames'] == 2 and stats['sounding_frames'] == 2
    assert stats['silent_with_foreground'] == pytest.approx(0.5)
    assert stats['silent_foreground_area'] == pytest.approx((1 / 4 + 0) / 2)
    assert stats['sounding_iou'] == pytest.approx((1 / 3 + 0) / 2)
    assert stats['sounding_precision'] == pytest.approx((1 / 2 + 0) / 2)
    assert stats['sounding_recall'] == pytest.approx((1 / 2 + 0) / 2)
    assert stats['sounding_predicted_empty'] == pytest.approx(0.5)
    empty = frame_behaviour.frame_statistics([], [])
    assert empty['silent_frames'] == 0 and math.isnan(empty['sounding_iou'])


def test_predict_split_covers_every_ground_truth_frame(ms3_root: str) -> None:
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/icl/ablations/icl_tiny_synthetic_m3_baseline.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    stats = frame_behaviour.predict_split(model, cfg, 'test', ms3_root, batch_size=1)
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.data_root = ms3_root
    dataset = DATASETS.build(dataset_cfg)
    silent = sounding = 0
    for i in range(len(dataset)):
        for mask in dataset[i]['data_samples'].gt_masks:
            if bool((mask == 1).any()):
                sounding += 1
            else:
                silent += 1
    assert (stats['silent_frames'], stats['sounding_frames']) == (silent, sounding)
    assert 0. <= stats['sounding_precision'] <= 1. and 0. <= stats['sounding_recall'] <= 1.


def test_predict_split_uses_own_audio_unless_asked(ms3_root: str, monkeypatch) -> None:
    """A config dumped by ``tools/test.py --shuffle-audio`` must not silently shuffle the audio here."""
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/icl/ablations/icl_tiny_synthetic_m3_baseline.py'))
    cfg.test_dataloader.dataset.audio_shuffle_seed = 0  # as in such a dump
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    built = []

    def build(*args, **kwargs):
        dataset = build_split_dataset(*args, **kwargs)
        built.append(dataset)
        return dataset

    monkeypatch.setattr(frame_behaviour, 'build_split_dataset', build)
    frame_behaviour.predict_split(model, cfg, 'test', ms3_root, batch_size=2)
    frame_behaviour.predict_split(model, cfg, 'test', ms3_root, batch_size=2, audio_shuffle_seed=3)
    own, shuffled = built
    for i in range(len(own)):
        info = own.get_data_info(i)
        assert info.get('audio_source', info['vid']) == info['vid']
    donors = [shuffled.get_data_info(i)['audio_source'] for i in range(len(shuffled))]
    assert all(d != shuffled.get_data_info(i)['vid'] for i, d in enumerate(donors))
