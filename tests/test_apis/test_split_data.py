"""The analysis tools' common dataset / prediction helpers (mmavs.apis.split_data)."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmavs.apis import build_split_dataset, predict_samples, split_dataset_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/icl/ablations/icl_tiny_synthetic_m3_baseline.py')


def test_split_cfg_is_test_mode_own_audio_and_a_copy() -> None:
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.audio_shuffle_seed = 5  # as in a config dumped by tools/test.py --shuffle-audio
    cfg.test_dataloader.dataset.test_mode = False
    out = split_dataset_cfg(cfg, 'val', '/data/elsewhere')
    assert (out['split'], out['data_root'], out['test_mode'], out['audio_shuffle_seed']) == (
        'val', '/data/elsewhere', True, None)
    assert split_dataset_cfg(cfg, audio_shuffle_seed=3)['audio_shuffle_seed'] == 3
    assert split_dataset_cfg(cfg)['split'] == 'test'
    out['pipeline'].clear()
    assert cfg.test_dataloader.dataset.pipeline and cfg.test_dataloader.dataset.split == 'test'


def test_split_cfg_refuses_a_wrapper_without_pipeline() -> None:
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset = dict(type='PerturbedAVSDataset', dataset=cfg.test_dataloader.dataset)
    with pytest.raises(ValueError, match='wrapper'):
        split_dataset_cfg(cfg)


class _Recorder:
    """A stand-in model recording the clips of each test_step batch."""

    def __init__(self) -> None:
        self.batches, self.training = [], True

    def eval(self) -> None:
        self.training = False

    def test_step(self, batch: dict) -> list:
        self.batches.append(list(batch['inputs']))
        return [f'out-{i}' for i in batch['inputs']]


def test_predict_samples_batches_in_order_and_evaluates() -> None:
    dataset = [dict(inputs=i, data_samples=None) for i in range(7)]
    model = _Recorder()
    assert list(predict_samples(model, dataset, batch_size=3)) == [f'out-{i}' for i in range(7)]
    assert model.batches == [[0, 1, 2], [3, 4, 5], [6]] and not model.training
    model = _Recorder()
    assert list(predict_samples(model, dataset, batch_size=2, indices=[5, 1, 4])) == ['out-5', 'out-1', 'out-4']
    with pytest.raises(ValueError, match='batch_size'):
        next(predict_samples(model, dataset, batch_size=0))


def test_build_split_dataset_reads_the_requested_root(ms3_root: str) -> None:
    dataset = build_split_dataset(Config.fromfile(CONFIG), 'test', ms3_root)
    assert len(dataset) > 0 and all(dataset.get_data_info(i)['split'] == 'test' for i in range(len(dataset)))
    assert dataset.data_root == ms3_root
