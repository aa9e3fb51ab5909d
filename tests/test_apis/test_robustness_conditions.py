"""The robustness conditions (mmavs.apis.robustness): condition lists, dataset / metric configs, seeding, checks."""
import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.config import Config

from mmavs.apis.robustness import (
    Condition,
    build_conditions,
    condition_dataset_cfg,
    condition_metric_cfgs,
    insert_before_audio_loader,
    prepare_conditions,
)
from mmavs.apis.split_data import split_dataset_cfg
from mmavs.datasets.synthetic import MS3_DIRNAME, generate_avsbench

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/icl/ablations/icl_tiny_synthetic_m3_baseline.py')


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> str:
    """MS3 layout, 32 px: 5 test clips, 1 val clip."""
    out = str(tmp_path_factory.mktemp('robust_ms3'))
    generate_avsbench(out, subset='ms3', size=32, seed=3, num_train=1, num_val=1, num_test=5)
    return osp.join(out, MS3_DIRNAME)


def _types(pipeline):
    return [t['type'] for t in pipeline]


def test_condition_list_per_suite() -> None:
    names = [c.name for c in build_conditions('negative,snr', snr_levels=(10, -5), seed=3)]
    # clean first, suites in the fixed order whatever the order asked, the wav reference with noise suites
    assert names == ['clean', 'clean_wav', 'snr_10dB', 'snr_-5dB', 'silence', 'noise', 'offscreen']
    conditions = build_conditions(['framemix', 'r2bench'], severities=(1, 5), frame_mix_fraction=0.5)
    assert [(c.name, c.suite, c.level) for c in conditions] == [
        ('clean', 'clean', None), ('clean_wav', 'clean', 'wav'), ('r2bench_s1', 'r2bench', 1),
        ('r2bench_s5', 'r2bench', 5), ('framemix_own_gt', 'framemix', 'own_gt'),
        ('framemix_empty_gt', 'framemix', 'empty_gt')
    ]
    assert all(c.seed == 0 and c.frame_mix_fraction == 0.5 for c in conditions)
    only = build_conditions('framemix')
    assert [c.name for c in only] == ['clean', 'framemix_own_gt', 'framemix_empty_gt']  # no clean_wav
    assert [c.needs_wav for c in build_conditions('negative')] == [False, True, True, False]
    assert len(build_conditions()) == 1 + 1 + 4 + 5 + 3 + 2


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(suites='snr,pink'), ValueError, r"\['pink'\].*snr, r2bench, negative, framemix"),
    (dict(suites='snr', snr_levels=('10', )), TypeError, 'must be a number'),
    (dict(suites='snr', snr_levels=(float('nan'), )), ValueError, 'finite'),
    (dict(suites='r2bench', severities=(6, )), ValueError, r'severity 6.*\[1, 2, 3, 4, 5\]'),
    (dict(suites='snr', snr_levels=(0, 0.0)), ValueError, 'twice'),
    (dict(seed=-1), ValueError, 'seed'),
    (dict(frame_mix_fraction=0), ValueError, r'\(0, 1\]'),
])
def test_bad_condition_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        build_conditions(**kwargs)


def test_waveform_transform_goes_right_before_the_audio_loader() -> None:
    cfg = Config.fromfile(CONFIG)
    clean = split_dataset_cfg(cfg, 'test', '/data/x')
    original = _types(clean['pipeline'])
    assert original == ['LoadClipFrames', 'LoadClipMasks', 'LoadClipAudio', 'ClipResize', 'PackAVSInputs']
    assert clean['pipeline'][2]['source'] == 'pkl'
    out = condition_dataset_cfg(clean, Condition('snr_0dB', 'snr', 0.0, seed=7))
    assert _types(out['pipeline']) == original[:2] + ['AddAudioNoise'] + original[2:]
    assert out['pipeline'][2] == dict(type='AddAudioNoise', kind='gaussian', snr_db=0.0, seed=7, on_silent='keep')
    assert out['pipeline'][3] == dict(type='LoadClipAudio', source='wav', pad_mode='repeat_last')
    assert clean['pipeline'][2]['source'] == 'pkl' and _types(clean['pipeline']) == original  # not modified

    r2 = condition_dataset_cfg(clean, Condition('r2bench_s3', 'r2bench', 3, seed=7))
    assert (r2['type'], r2['noise_source'], r2['seed']) == ('PerturbedAVSDataset', 'other_clip', 7)
    assert r2['dataset']['pipeline'][2] == dict(type='AddAudioNoise', kind='clip', severity=3, seed=7,
                                                on_silent='keep')
    assert r2['dataset']['pipeline'][3]['source'] == 'wav' and r2['dataset']['data_root'] == '/data/x'
    silence = condition_dataset_cfg(clean, Condition('silence', 'negative', 'silence', seed=7))
    assert silence['pipeline'][2] == dict(type='ReplaceAudio', kind='silence', seed=7)
    offscreen = condition_dataset_cfg(clean, Condition('offscreen', 'negative', 'offscreen', seed=7))
    assert offscreen['offscreen_audio'] is True and offscreen['dataset']['pipeline'] == clean['pipeline']
    mix = condition_dataset_cfg(clean, Condition('framemix_empty_gt', 'framemix', 'empty_gt', 7, 0.5))
    assert mix['frame_mix'] == dict(fraction=0.5, variant='empty_gt') and mix['dataset'] == clean
    wav = condition_dataset_cfg(clean, Condition('clean_wav', 'clean', 'wav'))
    assert _types(wav['pipeline']) == original and wav['pipeline'][2]['source'] == 'wav'
    assert condition_dataset_cfg(clean, Condition('clean', 'clean')) == clean
    with pytest.raises(ValueError, match='no LoadClipAudio'):
        insert_before_audio_loader([dict(type='LoadClipFrames')], dict(type='ReplaceAudio'))


def test_metric_configs() -> None:
    base = dict(type='AVSMetric', num_classes=1, legacy_batch_size=2)
    assert condition_metric_cfgs(base, Condition('snr_0dB', 'snr', 0.0)) == [dict(base, prefix='avs')]
    mix = condition_metric_cfgs(base, Condition('framemix_own_gt', 'framemix', 'own_gt'))
    assert [(m['clips'], m['prefix'], m['legacy_batch_size']) for m in mix] == [('frame_mixed', 'mixed', 2),
                                                                                 ('all', 'all', 2)]
    negative = Condition('noise', 'negative', 'noise')
    with pytest.raises(ValueError, match='clean J_legacy'):
        condition_metric_cfgs(base, negative)
    [metric] = condition_metric_cfgs(base, negative, dict(J_legacy=40.0, F_legacy=25.0))
    assert metric['type'] == 'NegativeAudioMetric' and metric['legacy_batch_size'] == 2
    assert metric['positive_scores'] == pytest.approx(dict(mIoU=0.4, F=0.25))



def _prepared_audio(cfg, root, seed):
    conditions = build_conditions('snr,r2bench', snr_levels=(0, ), severities=(5, ), seed=seed)
    prepared = prepare_conditions(cfg, conditions, 'test', root)
    return {p.condition.name: [p.dataset[i]['inputs']['audio'].numpy() for i in range(len(p.dataset))]
            for p in prepared}


def test_same_seed_same_perturbed_data_other_seed_other_data(root: str) -> None:
    cfg = Config.fromfile(CONFIG)
    first, again, other = (_prepared_audio(cfg, root, s) for s in (0, 0, 1))
    assert len(first['clean']) == 5
    for name in ('snr_0dB', 'r2bench_s5'):
        for i in range(5):
            np.testing.assert_array_equal(first[name][i], again[name][i])
            assert not np.allclose(first[name][i], first['clean_wav'][i], atol=1e-3)  # perturbed at all
            assert not np.allclose(first[name][i], other[name][i], atol=1e-3)


def test_missing_wav_is_an_error_naming_the_clip_and_its_pkl(root: str, tmp_path) -> None:
    copy_root = str(tmp_path / 'ms3')
    shutil.copytree(root, copy_root)
    wav = sorted(glob.glob(osp.join(copy_root, '**', 'audio_wav', 'test', '*.wav'), recursive=True))[2]
    vid = osp.splitext(osp.basename(wav))[0]
    os.remove(wav)
    cfg = Config.fromfile(CONFIG)
    for suites in ('snr', 'r2bench', 'negative'):
        with pytest.raises(ValueError, match=rf'clip {vid} has no wav file.*{vid}\.pkl.*wav file of every clip'):
            prepare_conditions(cfg, build_conditions(suites), 'test', copy_root)
    # frame mixing reads the config's log-mels: no wav needed
    prepared = prepare_conditions(cfg, build_conditions('framemix'), 'test', copy_root)
    assert [p.condition.name for p in prepared] == ['clean', 'framemix_own_gt', 'framemix_empty_gt']


def test_frame_mixing_on_a_single_clip_split_fails_at_setup(root: str) -> None:
    with pytest.raises(ValueError, match=r'framemix_own_gt.*at least 2 clips.*has 1'):
        prepare_conditions(Config.fromfile(CONFIG), build_conditions('framemix'), 'val', root)
