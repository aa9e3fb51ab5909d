"""Tests of the test-time perturbations (mmavs.datasets.perturbations) on waveforms and generated datasets."""
import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from mmavs.datasets import PerturbedAVSDataset, S4Dataset
from mmavs.datasets.perturbations import AddAudioNoise, ReplaceAudio
from mmavs.datasets.transforms import LoadClipAudio, LoadClipFrames, LoadClipMasks, PackAVSInputs
from mmavs.registry import DATASETS, TRANSFORMS

SR = 16000


def _tone(seconds: float = 1.5, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t) + 0.05 * np.sin(2 * np.pi * 97 * t)).astype(np.float32)


def _measured_snr(clean: np.ndarray, mixed: np.ndarray) -> float:
    """SNR by the definition: 10 log10(mean(s^2) / mean(n^2)), with n = mixture - s."""
    s = clean.astype(np.float64)
    n = mixed.astype(np.float64) - s
    return 10 * np.log10(np.mean(s**2) / np.mean(n**2))


def _results(wave=None, idx=0, **extra):
    results = dict(vid=f'clip{idx}', sample_idx=idx, num_frames=1)
    if wave is not None:
        results['audio_waveform'] = wave
    results.update(extra)
    return results


@pytest.mark.parametrize('snr', [20, 10, 0, -10, 3.5])
def test_gaussian_noise_has_the_requested_snr(snr):
    clean = _tone()
    out = AddAudioNoise(kind='gaussian', snr_db=snr, seed=3).transform(_results(clean.copy()))
    assert out['audio_waveform'].shape == clean.shape
    assert _measured_snr(clean, out['audio_waveform']) == pytest.approx(snr, abs=1e-3)
    assert out['perturbation']['audio_noise'] == dict(kind='gaussian', snr_db=float(snr), severity=None,
                                                      noise_source=None)


def test_gaussian_noise_is_white_gaussian():
    clean = _tone(seconds=4.0)
    out = AddAudioNoise(kind='gaussian', snr_db=0, seed=1).transform(_results(clean.copy()))
    noise = out['audio_waveform'].astype(np.float64) - clean
    noise /= noise.std()
    assert abs(np.mean(noise**4) - 3) < 0.2  # kurtosis of a Gaussian
    spectrum = np.abs(np.fft.rfft(noise))**2
    low, high = spectrum[1:len(spectrum) // 2].mean(), spectrum[len(spectrum) // 2:].mean()
    assert 0.8 < low / high < 1.25  # flat


def test_clip_noise_snr_and_r2bench_polarity(tmp_path):
    clean, noise = _tone(1.5), _tone(0.6, freq=1234.0, amp=0.5)
    sf.write(str(tmp_path / 'a.wav'), clean, SR, subtype='FLOAT')
    sf.write(str(tmp_path / 'b.wav'), noise, SR, subtype='FLOAT')
    results = _results(idx=7, audio_wav_path=str(tmp_path / 'a.wav'), noise_wav_path=str(tmp_path / 'b.wav'),
                       noise_source='clipB')
    out = AddAudioNoise(kind='clip', severity=3, seed=0).transform(results)
    record = out['perturbation']['audio_noise']
    assert record['noise_source'] == 'clipB' and record['severity'] == 3
    assert 15 <= record['snr_db'] <= 20
    assert _measured_snr(clean, out['audio_waveform']) == pytest.approx(record['snr_db'], abs=1e-3)
    # the noise (shorter than the clip) is tiled and polarity-inverted: added = -g * tile(noise)
    added = out['audio_waveform'].astype(np.float64) - clean
    tiled = np.tile(noise, 3)[:clean.shape[0]].astype(np.float64)
    gain = -np.dot(added, tiled) / np.dot(tiled, tiled)
    assert gain > 0 and np.allclose(added, -gain * tiled, atol=1e-6)


@pytest.mark.parametrize('severity,low,high', [(1, 25, 30), (2, 20, 25), (3, 15, 20), (4, 10, 15), (5, 5, 10)])
def test_r2bench_severity_ranges_over_many_draws(severity, low, high):
    clean = _tone(0.2)
    transform = AddAudioNoise(kind='clip', severity=severity, seed=11)
    drawn = []
    for idx in range(300):
        res = _results(clean.copy(), idx=idx)
        res['noise_wav_path'] = _NOISE_FILE[0]
        drawn.append(transform.transform(res)['perturbation']['audio_noise']['snr_db'])
    drawn = np.array(drawn)
    assert drawn.min() >= low and drawn.max() <= high
    assert drawn.min() < low + 0.3 and drawn.max() > high - 0.3  # uniform over the whole range
    assert abs(drawn.mean() - (low + high) / 2) < 0.3


_NOISE_FILE = []


@pytest.fixture(autouse=True, scope='module')
def _noise_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('noise') / 'noise.wav')
    sf.write(path, _tone(0.3, freq=2500.0), SR, subtype='FLOAT')
    _NOISE_FILE[:] = [path]
    yield


def test_seeded_per_clip_reproducible_and_order_independent():
    clean = _tone(1.0)
    t1, t2 = AddAudioNoise(kind='gaussian', snr_db=0, seed=5), AddAudioNoise(kind='gaussian', snr_db=0, seed=5)
    forward = [t1.transform(_results(clean.copy(), idx=i))['audio_waveform'] for i in range(4)]
    backward = [t2.transform(_results(clean.copy(), idx=i))['audio_waveform'] for i in reversed(range(4))][::-1]
    for a, b in zip(forward, backward):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(forward[0], forward[1])  # different clips, different noise
    other = AddAudioNoise(kind='gaussian', snr_db=0, seed=6).transform(_results(clean.copy(), idx=0))
    assert not np.array_equal(other['audio_waveform'], forward[0])


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(kind='gaussian', snr_db='10'), TypeError, 'must be a number'),
    (dict(kind='gaussian', snr_db=True), TypeError, 'must be a number'),
    (dict(kind='gaussian', snr_db=float('nan')), ValueError, 'finite'),
    (dict(kind='pink', snr_db=10), ValueError, 'unknown kind'),
    (dict(kind='clip', severity=6), ValueError, 'unknown severity'),
    (dict(kind='clip', severity='high'), ValueError, 'unknown severity'),
    (dict(kind='gaussian', severity=2), ValueError, 'severity'),
    (dict(kind='gaussian'), ValueError, 'needs snr_db'),
    (dict(kind='clip'), ValueError, 'needs a severity'),
    (dict(kind='clip', snr_db=5, severity=2), ValueError, 'not both'),
    (dict(kind='gaussian', snr_db=5, seed=-1), ValueError, 'seed'),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        AddAudioNoise(**kwargs)


def test_bad_inputs_at_transform_time():
    clean = _tone(0.5)
    with pytest.raises(KeyError, match='noise source clip'):
        AddAudioNoise(kind='clip', severity=1).transform(_results(clean.copy()))
    with pytest.raises(ValueError, match='silent'):
        AddAudioNoise(kind='gaussian', snr_db=0).transform(_results(np.zeros(8000, np.float32)))
    res = _results(clean.copy())
    res['noise_wav_path'] = '/nonexistent/noise.wav'
    with pytest.raises(FileNotFoundError, match='/nonexistent/noise.wav'):
        AddAudioNoise(kind='clip', severity=1).transform(res)
    # pkl-only layout: no waveform to perturb, the message names the pkl file
    pkl_only = _results(audio_wav_path=None, audio_pkl_path='/data/x/clip0.pkl')
    with pytest.raises(ValueError, match='clip0.pkl'):
        AddAudioNoise(kind='gaussian', snr_db=0).transform(pkl_only)
    with pytest.raises(ValueError, match='clip0.pkl'):
        ReplaceAudio(kind='silence').transform(dict(pkl_only))
    # a perturbed waveform read by a pkl pipeline would be silently dropped: an error
    perturbed = AddAudioNoise(kind='gaussian', snr_db=0).transform(_results(clean.copy(), audio_pkl_path='p.pkl'))
    with pytest.raises(ValueError, match="source='wav'"):
        LoadClipAudio(source='pkl').transform(perturbed)
    with pytest.raises(KeyError, match='sample_idx'):
        AddAudioNoise(kind='gaussian', snr_db=0).transform(dict(audio_waveform=clean))


def test_replace_audio_silence_and_noise():
    clean = _tone(1.2)
    silent = ReplaceAudio(kind='silence').transform(_results(clean.copy()))
    assert silent['audio_waveform'].shape == clean.shape and not silent['audio_waveform'].any()
    assert silent['perturbation'] == dict(negative_audio='silence')
    noisy = ReplaceAudio(kind='noise', amplitude=0.5, duration=2.0, seed=1).transform(_results())
    wave = noisy['audio_waveform']
    assert wave.shape == (2 * SR, ) and np.abs(wave).max() <= 0.5 and wave.std() == pytest.approx(0.5 / 3**.5, rel=0.02)
    assert ReplaceAudio(kind='noise', duration=1).audio_path_keys == ()
    with pytest.raises(ValueError, match='unknown kind'):
        ReplaceAudio(kind='music')
    with pytest.raises(ValueError, match='amplitude'):
        ReplaceAudio(kind='noise', amplitude=2)
    # through the VGGish front-end: the silent clip gives the log of the offset everywhere
    silent['num_frames'] = 1
    examples = LoadClipAudio(source='wav').transform(silent)['audio']
    np.testing.assert_allclose(examples, np.log(0.01), rtol=1e-6)


def test_registered():
    assert isinstance(TRANSFORMS.build(dict(type='AddAudioNoise', kind='gaussian', snr_db=0)), AddAudioNoise)
    assert isinstance(TRANSFORMS.build(dict(type='ReplaceAudio', kind='noise')), ReplaceAudio)
    assert DATASETS.get('PerturbedAVSDataset') is PerturbedAVSDataset


# ----------------------------------------------------------------------------------------- on generated data
def _pipeline(*audio_transforms):
    return [*audio_transforms, LoadClipAudio(source='wav'), LoadClipFrames(), LoadClipMasks(), PackAVSInputs()]


def test_clip_noise_through_the_dataset_wrapper(s4_root):
    def build(seed):
        inner = S4Dataset(data_root=s4_root, split='test',
                          pipeline=_pipeline(AddAudioNoise(kind='clip', severity=2, seed=seed)))
        return PerturbedAVSDataset(inner, seed=seed, noise_source='other_clip')

    ds = build(0)
    vids = [ds.dataset.get_data_info(i)['vid'] for i in range(len(ds))]
    first = ds[0]
    meta = first['data_samples'].metainfo['perturbation']
    assert meta['audio_noise']['noise_source'] == vids[1] and 20 <= meta['audio_noise']['snr_db'] <= 25
    assert meta['seed'] == 0
    assert first['inputs']['audio'].shape == (5, 1, 96, 64)
    clean = S4Dataset(data_root=s4_root, split='test', pipeline=_pipeline())[0]
    assert not torch.equal(clean['inputs']['audio'], first['inputs']['audio'])
    # reproducible across instances and independent of the order of access
    again = build(0)
    second_then_first = [again[1], again[0]]
    assert torch.equal(second_then_first[1]['inputs']['audio'], first['inputs']['audio'])
    assert torch.equal(second_then_first[0]['inputs']['audio'], ds[1]['inputs']['audio'])


def test_wrapper_errors(s4_root):
    inner = S4Dataset(data_root=s4_root, split='test', pipeline=_pipeline())
    with pytest.raises(ValueError, match='noise_source'):
        PerturbedAVSDataset(inner, noise_source='pink')
    with pytest.raises(ValueError, match='variant'):
        PerturbedAVSDataset(inner, frame_mix=dict(variant='blend'))
    with pytest.raises(ValueError, match='fraction'):
        PerturbedAVSDataset(inner, frame_mix=dict(fraction=1.5))
    one = S4Dataset(data_root=s4_root, split='test', indices=1, pipeline=_pipeline())
    with pytest.raises(ValueError, match='at least 2 clips'):
        PerturbedAVSDataset(one, noise_source='other_clip')


def test_noise_source_without_wav_is_an_error(s4_root):
    inner = S4Dataset(data_root=s4_root, split='test', audio_keys=('audio_pkl_path', ), pipeline=_pipeline())
    ds = PerturbedAVSDataset(inner, noise_source='other_clip')
    inner_get = ds.dataset.get_data_info

    def without_wav(idx):
        info = inner_get(idx)
        info['audio_wav_path'] = None
        return info

    ds.dataset.get_data_info = without_wav
    with pytest.raises(ValueError, match='noise source clip .* has no wav file'):
        ds.get_data_info(0)


def test_offscreen_audio_uses_another_clip(s4_root):
    inner = S4Dataset(data_root=s4_root, split='test', pipeline=_pipeline())
    ds = PerturbedAVSDataset(inner, seed=2, offscreen_audio=True)
    vids = [inner.get_data_info(i)['vid'] for i in range(len(inner))]
    sample = ds[0]['data_samples']
    assert sample.metainfo['audio_source'] == vids[1]
    assert sample.metainfo['perturbation']['negative_audio'] == 'offscreen'
    assert torch.equal(ds[0]['inputs']['audio'], inner[1]['inputs']['audio'])


@pytest.mark.parametrize('variant', ['own_gt', 'empty_gt'])
def test_frame_mixing_variants(s4_root, variant):
    inner = S4Dataset(data_root=s4_root, split='test', pipeline=_pipeline())
    ds = PerturbedAVSDataset(inner, seed=4, frame_mix=dict(fraction=0.5, variant=variant, frame_ratio=0.4))
    assert len(ds.mixed_clips) == 1  # round(0.5 * 2)
    mixed = ds.mixed_clips[0]
    donor = 1 - mixed
    out, own, other = ds[mixed], inner[mixed], inner[donor]
    record = out['data_samples'].metainfo['perturbation']['frame_mix']
    assert record['mixed'] and record['variant'] == variant and record['donor'] == inner.get_data_info(donor)['vid']
    flags = torch.tensor(record['mixed_frames'])
    assert int(flags.sum()) == 2  # round(0.4 * 5)
    frames, gt = out['inputs']['frames'], out['data_samples'].gt_masks
    assert torch.equal(frames[flags], other['inputs']['frames'][flags])
    assert torch.equal(frames[~flags], own['inputs']['frames'][~flags])
    assert torch.equal(gt[~flags], own['data_samples'].gt_masks[~flags])
    if variant == 'own_gt':
        assert torch.equal(gt[flags], other['data_samples'].gt_masks[flags])
    else:
        assert not gt[flags].any() and out['data_samples'].gt_flags[flags].all()
        assert other['data_samples'].gt_masks[flags].any()  # the donor frames did have foreground
    unmixed = ds[donor]['data_samples'].metainfo['perturbation']['frame_mix']
    assert not unmixed['mixed'] and not any(unmixed['mixed_frames'])
    # the same seed picks the same clips and frames
    again = PerturbedAVSDataset(inner, seed=4, frame_mix=dict(fraction=0.5, variant=variant, frame_ratio=0.4))
    assert again.get_data_info(mixed)['perturbation'] == ds.get_data_info(mixed)['perturbation']


def test_frame_mix_fraction_on_a_larger_split(s4_root):
    inner = S4Dataset(data_root=s4_root, split='train', check_files=True)
    ds = PerturbedAVSDataset(inner, seed=0, frame_mix=dict())
    assert len(ds.mixed_clips) == 1  # default 1/4 of 4 clips
    assert osp.isfile(ds.get_data_info(ds.mixed_clips[0])['frame_paths'][0])


def test_on_silent_keep_leaves_the_clip_unchanged():
    silent = np.zeros(8000, np.float32)
    out = AddAudioNoise(kind='gaussian', snr_db=0, on_silent='keep').transform(_results(silent.copy()))
    assert not out['audio_waveform'].any()
    assert out['perturbation']['audio_noise']['snr_db'] is None
    assert out['perturbation']['audio_noise']['skipped'] == 'silent signal'
    with pytest.raises(ValueError, match='on_silent'):
        AddAudioNoise(kind='gaussian', snr_db=0, on_silent='skip')


def test_built_from_a_config(s4_root):
    cfg = dict(
        type='PerturbedAVSDataset',
        seed=1,
        noise_source='other_clip',
        dataset=dict(
            type='S4Dataset',
            data_root=s4_root,
            split='test',
            test_mode=True,
            pipeline=[
                dict(type='AddAudioNoise', kind='clip', severity=5, seed=1),
                dict(type='LoadClipAudio', source='wav'),
                dict(type='LoadClipFrames'),
                dict(type='LoadClipMasks'),
                dict(type='PackAVSInputs'),
            ]))
    ds = DATASETS.build(cfg)
    record = ds[1]['data_samples'].metainfo['perturbation']['audio_noise']
    assert record['severity'] == 5 and 5 <= record['snr_db'] <= 10
    assert ds.metainfo['classes'] == ds.dataset.metainfo['classes']


def test_pkl_pipeline_with_a_perturbed_waveform_fails_at_the_first_clip(s4_root):
    pipeline = [ReplaceAudio(kind='silence'), LoadClipAudio(source='pkl'), LoadClipFrames(), PackAVSInputs()]
    ds = S4Dataset(data_root=s4_root, split='test', pipeline=pipeline)
    with pytest.raises(ValueError, match=r"\.pkl.*source='wav'"):
        ds[0]


@pytest.mark.parametrize('kind', ['silence', 'noise'])
def test_negative_audio_end_to_end_with_the_metric(s4_root, kind):
    from mmavs.evaluation.metrics import NegativeAudioMetric
    ds = S4Dataset(data_root=s4_root, split='test', pipeline=_pipeline(ReplaceAudio(kind=kind, seed=0)))
    metric = NegativeAudioMetric(positive_scores=dict(mIoU=0.5))
    samples = []
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        assert sample.metainfo['perturbation'] == dict(negative_audio=kind)
        logits = torch.full((5, 1, 64, 64), -4.0)
        logits[i, 0, :32] = 4.0  # clip i: half of frame i is (falsely) segmented
        sample.pred_logits = logits
        samples.append(sample)
    metric.process(None, samples)
    values = metric.compute_metrics(metric.results)
    fpr = 2 * (2048 / (4096 + 1e-7)) / 10
    assert values['FPR'] == pytest.approx(100 * fpr)
    assert values[f'FPR_{kind}'] == pytest.approx(100 * fpr)
    assert values['G_mIoU'] == pytest.approx(100 * (0.5 * (1 - fpr))**0.5)


def test_frame_mixing_on_avss_picks_donors_of_the_same_frame_size(avss_root):
    from mmavs.datasets import AVSSDataset
    pipeline = [LoadClipAudio(source='wav', pad_mode='zeros'), LoadClipFrames(), LoadClipMasks(mode='palette'),
                PackAVSInputs()]
    # generated test split: clip 0 is 114 px wide, clips 1 and 2 are 85 px wide
    inner = AVSSDataset(data_root=avss_root, split='test', pipeline=pipeline)
    ds = PerturbedAVSDataset(inner, seed=0, frame_mix=dict(fraction=1.0, variant='own_gt'))
    with pytest.raises(ValueError, match='no other clip has frames of the size'):
        ds.get_data_info(0)
    for idx, donor in ((1, 2), (2, 1)):
        out = ds[idx]
        record = out['data_samples'].metainfo['perturbation']['frame_mix']
        assert record['donor'] == inner.get_data_info(donor)['vid']
        flags = torch.tensor(record['mixed_frames'])
        assert flags.any()
        # only frames real in both clips (clip 1 has 5 real frames of 10) are swapped
        real = torch.tensor(inner.get_data_info(1)['frame_flags'])
        assert not (flags & ~real).any()
        assert torch.equal(out['inputs']['frames'][flags], inner[donor]['inputs']['frames'][flags])
        assert torch.equal(out['data_samples'].gt_masks[flags], inner[donor]['data_samples'].gt_masks[flags])


def test_pkl_only_copy_fails_at_start_up_naming_the_wav(s4_root, tmp_path):
    root = str(tmp_path / 'Single-source')
    shutil.copytree(s4_root, root)
    wavs = sorted(glob.glob(osp.join(root, 's4_data', 'audio_wav', 'test', '*', '*.wav')))
    assert wavs
    for path in wavs:
        os.remove(path)
    with pytest.raises(FileNotFoundError, match=r'audio_wav_path file .*\.wav.* AddAudioNoise'):
        S4Dataset(data_root=root, split='test', pipeline=_pipeline(AddAudioNoise(kind='gaussian', snr_db=0)))


def test_waveform_path_of_load_clip_audio_equals_reading_the_file(s4_root):
    """A waveform handed over by a perturbation goes through the same front-end as the file itself."""
    from mmavs.audio import read_wav, to_mono_16k
    info = S4Dataset(data_root=s4_root, split='test').get_data_info(0)
    from_file = LoadClipAudio(source='wav').transform(dict(info))
    wav, rate = read_wav(info['audio_wav_path'])
    handed = LoadClipAudio(source='wav').transform(dict(info, audio_waveform=to_mono_16k(wav, rate)))
    np.testing.assert_array_equal(handed['audio'], from_file['audio'])
    assert handed['audio_num_examples'] == from_file['audio_num_examples']


def test_offscreen_donor_follows_the_avsbench_robust_contrast_rule():
    from mmavs.datasets.perturbations import S4_COARSE_CLASSES, contrasting_categories, offscreen_donor
    from mmavs.datasets.synthetic.categories import S4_CATEGORIES
    assert set(S4_COARSE_CLASSES) == set(S4_CATEGORIES)  # every official category has a coarse class
    # human -> neither human nor music; music -> neither music nor human; animal -> not animal, not human
    present = ['male_speech', 'playing_piano', 'dog_barking', 'helicopter', 'baby_laughter']
    assert contrasting_categories('female_singing', present) == ['dog_barking', 'helicopter']
    assert contrasting_categories('playing_violin', present) == ['dog_barking', 'helicopter']
    assert contrasting_categories('cat_meowing', present) == ['helicopter', 'playing_piano']
    assert contrasting_categories('race_car', present) == ['baby_laughter', 'dog_barking', 'male_speech',
                                                           'playing_piano']
    categories = ['female_singing', 'male_speech', 'playing_piano', 'dog_barking', 'dog_barking', 'helicopter']
    drawn = {categories[offscreen_donor(np.random.default_rng(s), 0, categories)] for s in range(200)}
    assert drawn == {'dog_barking', 'helicopter'}
    # no contrasting category: any other category; no category at all: any other clip
    assert offscreen_donor(np.random.default_rng(0), 0, ['male_speech', 'male_speech', 'female_singing']) == 2
    assert {offscreen_donor(np.random.default_rng(s), 1, [None, None, None]) for s in range(50)} == {0, 2}
    assert offscreen_donor(np.random.default_rng(0), 0, ['dog_barking', 'dog_barking']) == 1
