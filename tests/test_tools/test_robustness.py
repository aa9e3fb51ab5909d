"""Tests of tools/analysis_tools/robustness.py on a tiny generated MS3 set with untrained models."""
import glob
import json
import math
import os
import os.path as osp
import re
import shutil
import sys

import pytest
import torch
from matplotlib.figure import Figure
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmavs.datasets.synthetic import MS3_DIRNAME, generate_avsbench
from mmavs.registry import DATASETS, METRICS, MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import robustness  # noqa: E402

CONFIG = 'configs/icl/ablations/icl_tiny_synthetic_m3_baseline.py'
CONFIG_PATH = osp.join(REPO, CONFIG)


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> str:
    """MS3 layout, 32 px: 5 test clips, 1 val clip."""
    out = str(tmp_path_factory.mktemp('robust_tool_ms3'))
    generate_avsbench(out, subset='ms3', size=32, seed=5, num_train=1, num_val=1, num_test=5)
    return osp.join(out, MS3_DIRNAME)


@pytest.fixture
def no_model(monkeypatch):
    """Make building a model fail the test: the bad inputs must stop before it."""
    calls = []
    monkeypatch.setattr(robustness, 'init_model', lambda *a, **k: calls.append(a))
    return calls


def _model(checkpoint: str):
    register_all_modules()
    model = MODELS.build(Config.fromfile(CONFIG_PATH).model)
    model.load_state_dict(torch.load(checkpoint, map_location='cpu')['state_dict'])
    return model.eval()


def _outputs(model, dataset):
    """``test_step`` outputs over the dataset in order, batches of 3 (no mmavs.apis helper involved)."""
    samples = []
    with torch.no_grad():
        for start in range(0, len(dataset), 3):
            samples += model.test_step(pseudo_collate([dataset[i] for i in range(start, min(start + 3,
                                                                                            len(dataset)))]))
    return samples


def _dataset(root: str, pipeline_edit=None):
    cfg = Config.fromfile(CONFIG_PATH).test_dataloader.dataset
    cfg.data_root = root
    if pipeline_edit is not None:
        cfg.pipeline = pipeline_edit(cfg.pipeline)
    return DATASETS.build(cfg)


def test_end_to_end_two_models(root: str, tmp_path, untrained_checkpoint, capsys, monkeypatch) -> None:
    ckpts = [untrained_checkpoint(CONFIG, seed) for seed in (0, 1)]
    figures = []
    original_savefig = Figure.savefig

    def savefig(fig, *args, **kwargs):
        figures.append(fig)
        return original_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, 'savefig', savefig)
    out = str(tmp_path / 'out')
    record = robustness.main([
        f'a={CONFIG_PATH}:{ckpts[0]}', f'b={CONFIG_PATH}:{ckpts[1]}', '--suite', 'snr,negative,framemix', '--snr',
        '0', '--data-root', root, '--out', out, '--batch-size', '2', '--frame-mix-fraction', '0.4'
    ])
    names = ['clean', 'clean_wav', 'snr_0dB', 'silence', 'noise', 'offscreen', 'framemix_own_gt', 'framemix_empty_gt']
    with open(osp.join(out, 'robustness.json')) as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(record))
    assert [c['name'] for c in saved['conditions']] == names
    assert saved['settings']['suites'] == ['snr', 'negative', 'framemix'] and saved['settings']['seed'] == 0
    assert saved['settings']['snr_levels'] == [0.0] and saved['settings']['split'] == 'test'
    assert saved['models']['a']['checkpoint'] == ckpts[0] and saved['models']['b']['config'] == CONFIG_PATH
    for model in ('a', 'b'):
        assert list(saved['models'][model]['results']) == names

    # clean row == AVSMetric of the config on the unperturbed split, computed here
    register_all_modules()
    clean_data = _dataset(root)
    for name, ckpt in zip('ab', ckpts):
        model = _model(ckpt)
        metric = METRICS.build(Config.fromfile(CONFIG_PATH).test_evaluator)
        metric.process(None, [s.to_dict() for s in _outputs(model, clean_data)])
        expected = metric.compute_metrics(metric.results)
        got = saved['models'][name]['results']['clean']
        assert set(got) == set(expected)
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=1e-9), key

        # FPR of silence: mean share of predicted foreground pixels over the frames, silent audio from here
        def silence(pipeline):
            index = [t['type'] for t in pipeline].index('LoadClipAudio')
            return pipeline[:index] + [dict(type='ReplaceAudio', kind='silence'),
                                       dict(pipeline[index], source='wav')] + pipeline[index + 1:]

        fractions = [float((mask != 0).float().mean()) for s in _outputs(model, _dataset(root, silence))
                     for mask in s.pred_masks]
        assert len(fractions) == 5 * 5
        fpr = sum(fractions) / len(fractions)
        row = saved['models'][name]['results']['silence']
        assert row['FPR'] == pytest.approx(100 * fpr, abs=1e-4)
        assert row['G_mIoU'] == pytest.approx(100 * math.sqrt(got['J_legacy'] / 100 * (1 - fpr)), abs=1e-4)
        mix = saved['models'][name]['results']['framemix_own_gt']
        assert {'mixed/J_legacy', 'all/J_legacy', 'mixed/F_legacy', 'all/F_legacy'} <= set(mix)
    assert saved['models']['a']['results']['clean'] != saved['models']['b']['results']['clean']

    # one table: two models, two columns each for J / F legacy; frame mixing as two rows
    printed = capsys.readouterr().out
    with open(osp.join(out, 'robustness.md')) as f:
        md = f.read()
    for text in (printed, md):
        for column in ('a J_legacy', 'b J_legacy', 'a FPR', 'b G_mIoU', 'framemix_empty_gt (mixed)',
                       'framemix_empty_gt (all)'):
            assert column in text, column
    a_clean = saved['models']['a']['results']['clean']['J_legacy']
    assert f'| clean | {a_clean:.2f} |' in md
    # the plot: one line per model against the SNR, and each model's clean level
    [fig] = figures
    assert osp.isfile(osp.join(out, 'j_vs_snr.png'))
    lines = fig.axes[0].get_lines()  # per model: its SNR line, then its clean and clean_wav levels
    assert len(lines) == 6 and [lines[0].get_label(), lines[3].get_label()] == ['a', 'b']
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ['a', 'b']  # one legend, the models only
    assert list(lines[3].get_ydata()) == pytest.approx([saved['models']['b']['results']['snr_0dB']['J_legacy']])
    b_clean = saved['models']['b']['results']['clean']['J_legacy']
    assert list(lines[4].get_ydata()) == pytest.approx([b_clean, b_clean])
    assert (lines[4].get_linestyle(), lines[5].get_linestyle()) == ('--', ':')


def test_same_seed_same_numbers(root: str, tmp_path, untrained_checkpoint) -> None:
    argv = [CONFIG_PATH, untrained_checkpoint(CONFIG), '--suite', 'r2bench,negative', '--severities', '5',
            '--data-root', root, '--seed', '4']
    first = robustness.main(argv + ['--out', str(tmp_path / 'a')])
    again = robustness.main(argv + ['--out', str(tmp_path / 'b')])
    assert first['models'] == again['models']
    results = first['models']['icl_tiny_synthetic_m3_baseline']['results']
    assert list(results) == ['clean', 'clean_wav', 'r2bench_s5', 'silence', 'noise', 'offscreen']
    assert first['settings']['seed'] == 4 and first['settings']['severities'] == [5]


def test_model_specs(untrained_checkpoint) -> None:
    ckpt = untrained_checkpoint(CONFIG)
    [spec] = robustness.parse_model_specs([CONFIG_PATH, ckpt])
    assert spec == robustness.ModelSpec('icl_tiny_synthetic_m3_baseline', CONFIG_PATH, ckpt)
    specs = robustness.parse_model_specs([f'x={CONFIG_PATH}:{ckpt}', f'{CONFIG_PATH}:{ckpt}'])
    assert [s.name for s in specs] == ['x', 'icl_tiny_synthetic_m3_baseline']
    with pytest.raises(ValueError, match='used twice'):
        robustness.parse_model_specs([f'{CONFIG_PATH}:{ckpt}', f'{CONFIG_PATH}:{ckpt}'])


@pytest.mark.parametrize('args, message', [
    (['--suite', 'snr,noisy'], r"\['noisy'\].*snr, r2bench, negative, framemix"),
    (['--snr', '10,ten'], "SNR levels must be comma-separated numbers in dB, got '10,ten'"),
    (['--severities', '2,6'], 'unknown severity 6'),
    (['--batch-size', '0'], '--batch-size'),
])
def test_bad_options_stop_before_the_model(args, message, untrained_checkpoint, no_model, capsys) -> None:
    with pytest.raises(SystemExit):
        robustness.main([CONFIG_PATH, untrained_checkpoint(CONFIG)] + args)
    assert re.search(message, capsys.readouterr().err)
    assert no_model == []


def test_bad_model_specs_stop_before_the_model(untrained_checkpoint, no_model, capsys, tmp_path) -> None:
    ckpt = untrained_checkpoint(CONFIG)
    for argv, message in (([str(tmp_path / 'none.py'), ckpt], f'config file "{tmp_path / "none.py"}" does not exist'),
                          ([CONFIG_PATH, str(tmp_path / 'none.pth')], 'checkpoint file'),
                          ([f'a={CONFIG_PATH}', f'b={CONFIG_PATH}:{ckpt}'], "model 'a="),
                          ([f'={CONFIG_PATH}:{ckpt}'], 'expected [NAME=]CONFIG.py:CHECKPOINT'),
                          ([f'a={CONFIG_PATH}:'], 'expected [NAME=]CONFIG.py:CHECKPOINT')):
        with pytest.raises(SystemExit):
            robustness.main(argv)
        assert message in capsys.readouterr().err
    assert no_model == []


def _without_wav(root: str, dest: str, which=None) -> str:
    """Copy ``root`` to ``dest`` without the test wav files (all, or the ``which``-th); returns the last vid."""
    shutil.copytree(root, dest)
    wavs = sorted(glob.glob(osp.join(dest, '**', 'audio_wav', 'test', '*.wav'), recursive=True))
    removed = wavs if which is None else [wavs[which]]
    for wav in removed:
        os.remove(wav)
    return osp.splitext(osp.basename(removed[-1]))[0]


def test_data_problems_stop_before_the_model(root: str, untrained_checkpoint, no_model, tmp_path) -> None:
    base = [CONFIG_PATH, untrained_checkpoint(CONFIG), '--out', str(tmp_path / 'out')]
    pkl_only = str(tmp_path / 'pkl_only')
    _without_wav(root, pkl_only)
    with pytest.raises(ValueError, match=r'clip (\S+) has no wav file.*/\1\.pkl.*wav file of every clip'):
        robustness.main(base + ['--suite', 'snr', '--data-root', pkl_only])
    # a noise donor without wav (R2-Bench noise comes from other clips)
    one_missing = str(tmp_path / 'one_missing')
    donor = _without_wav(root, one_missing, which=3)
    with pytest.raises(ValueError, match=rf'clip {donor} has no wav file.*r2bench_s1'):
        robustness.main(base + ['--suite', 'r2bench', '--severities', '1', '--data-root', one_missing])
    with pytest.raises(ValueError, match=r'framemix_own_gt.*at least 2 clips'):
        robustness.main(base + ['--suite', 'framemix', '--split', 'val', '--data-root', root])
    assert no_model == []


def _record(path) -> str:
    record = dict(settings=dict(split='test', seed=3, frame_mix_fraction=0.25),
                  conditions=[dict(name='clean', suite='clean', level=None),
                              dict(name='silence', suite='negative', level='silence')],
                  models={m: dict(config='c.py', checkpoint=f'{m}.pth', results=dict(
                      clean=dict(J_legacy=j, F_legacy=j + 1), silence=dict(FPR=fpr, G_mIoU=50.0)))
                          for m, j, fpr in (('s0', 70.0, 1.0), ('s1', 80.0, 3.0), ('t0', 10.0, 90.0))})
    with open(path, 'w') as f:
        json.dump(record, f)
    return str(path)


def test_groups_from_an_earlier_json(tmp_path, no_model, capsys) -> None:
    src = _record(tmp_path / 'robustness.json')
    out = tmp_path / 'again'
    record = robustness.main(['--from-json', src, '--group', 'seeds=s0,s1', '--out', str(out)])
    # mean and sample std of 70 / 80 and of FPR 1 / 3, computed by hand
    assert record['groups']['seeds']['models'] == ['s0', 's1']
    assert record['groups']['seeds']['results']['clean']['J_legacy'] == pytest.approx([75.0, math.sqrt(50.0), 2])
    printed = capsys.readouterr().out
    assert 'Mean +- sample std' in printed and f'75.00 +- {math.sqrt(50.0):.2f}' in printed
    with open(out / 'robustness.md') as f:
        md = f.read()
    assert md.index(f'| clean | 75.00 +- {math.sqrt(50.0):.2f} | 76.00 +- {math.sqrt(50.0):.2f} |') < md.index(
        'Per model:')
    assert f'| silence | - | - | - | - | 2.00 +- {math.sqrt(2.0):.2f} | 50.00 +- 0.00 |' in md
    with open(out / 'robustness.json') as f:
        assert json.load(f)['groups']['seeds']['results']['silence']['FPR'][:2] == pytest.approx([2.0, math.sqrt(2)])


@pytest.mark.parametrize('extra, message', [
    (['--group', 'seeds=s0,s9'], "no model named 's9'"),
    (['--group', 'seeds'], 'NAME=MODEL,MODEL'),
    (['--group', 'a=s0', '--group', 'a=s1'], 'given twice'),
    (['x.py', 'y.pth'], 'give no models'),
])
def test_bad_groups_and_from_json_stop_before_work(tmp_path, extra, message, no_model, capsys) -> None:
    src = _record(tmp_path / 'robustness.json')
    with pytest.raises(SystemExit):
        robustness.main(['--from-json', src, '--out', str(tmp_path / 'o')] + extra)
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()


def test_from_json_needs_a_robustness_record(tmp_path, no_model, capsys) -> None:
    (tmp_path / 'bad.json').write_text('{"models": {}}')
    for path, message in ((tmp_path / 'bad.json', "missing ['settings', 'conditions']"),
                          (tmp_path / 'none.json', 'file not found')):
        with pytest.raises(SystemExit):
            robustness.main(['--from-json', str(path)])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        robustness.main([])
    assert '--from-json FILE' in capsys.readouterr().err
