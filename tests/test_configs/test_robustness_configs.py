"""The example perturbation configs of configs/robustness build, with the perturbation where it belongs."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmavs.datasets import PerturbedAVSDataset
from mmavs.datasets.perturbations import AddAudioNoise
from mmavs.datasets.transforms import LoadClipAudio
from mmavs.registry import DATASETS, METRICS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config(name: str, ms3_root: str) -> Config:
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'robustness', f'icl_tiny_synthetic_m3_{name}.py'))
    dataset = cfg.test_dataloader.dataset
    (dataset.dataset if 'dataset' in dataset else dataset).data_root = ms3_root
    return cfg


def _transforms(dataset):
    inner = dataset.dataset if isinstance(dataset, PerturbedAVSDataset) else dataset
    return list(inner.pipeline.transforms)


@pytest.mark.parametrize('name, kind, snr, severity', [('snr0', 'gaussian', 0.0, None),
                                                        ('r2bench_s3', 'clip', None, 3)])
def test_noise_configs(name, kind, snr, severity, ms3_root: str) -> None:
    dataset = DATASETS.build(_config(name, ms3_root).test_dataloader.dataset)
    transforms = _transforms(dataset)
    index = [type(t) for t in transforms].index(AddAudioNoise)
    noise, loader = transforms[index], transforms[index + 1]
    assert isinstance(loader, LoadClipAudio) and loader.source == 'wav'
    assert (noise.kind, noise.snr_db, noise.severity) == (kind, snr, severity)
    assert isinstance(dataset, PerturbedAVSDataset) == (kind == 'clip')
    record = dataset[1]['data_samples'].metainfo['perturbation']['audio_noise']
    if severity is None:
        assert record['snr_db'] == 0.0
    else:
        assert dataset.noise_source == 'other_clip' and 15 <= record['snr_db'] <= 20
        assert record['noise_source'] != dataset.get_data_info(1)['vid']


def test_offscreen_config(ms3_root: str) -> None:
    cfg = _config('offscreen', ms3_root)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert isinstance(dataset, PerturbedAVSDataset) and dataset.offscreen_audio
    info = dataset.get_data_info(0)
    assert info['audio_source'] != info['vid'] and info['perturbation']['negative_audio'] == 'offscreen'
    [metric] = [METRICS.build(m) for m in cfg.test_evaluator]
    assert type(metric).__name__ == 'NegativeAudioMetric'


def test_frame_mix_config(ms3_root: str) -> None:
    cfg = _config('framemix_empty_gt', ms3_root)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert isinstance(dataset, PerturbedAVSDataset) and dataset.frame_mix['variant'] == 'empty_gt'
    assert len(dataset.mixed_clips) == 1  # round(0.25 * 2) half up, at least 1
    metrics = [METRICS.build(m) for m in cfg.test_evaluator]
    assert [(m.clips, m.prefix) for m in metrics] == [('frame_mixed', 'mixed'), ('all', 'all')]
