"""tools/analysis_tools/tsne.py on tiny generated sets with untrained tiny ICF models."""
import glob
import importlib.util
import json
import os.path as osp
import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from mmavs.datasets.synthetic import generate_avsbench
from mmavs.evaluation.prototypes import PrototypeError
from mmavs.models.segmentors import ICFSegmentor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S4_CFG = 'configs/icl/icl_tiny_synthetic_s4.py'
M3_CFG = 'configs/icl/icl_tiny_synthetic_m3.py'
CATEGORIES = ['race_car', 'lions_roaring', 'playing_violin']


def load_tool():
    spec = importlib.util.spec_from_file_location('tsne_tool', osp.join(REPO, 'tools/analysis_tools/tsne.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tsne = load_tool()


@pytest.fixture(scope='module')
def s4_small(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('tsne_s4'))
    generate_avsbench(out, subset='s4', size=32, seed=3, num_train=1, num_val=1, num_test=6, categories=CATEGORIES)
    return osp.join(out, 'Single-source')


@pytest.fixture(scope='module')
def ms3_small(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('tsne_ms3'))
    generate_avsbench(out, subset='ms3', size=32, seed=3, num_train=1, num_val=1, num_test=3)
    return osp.join(out, 'Multi-sources')


def frames_with_foreground(root: str):
    """Category of every test frame whose GT png has a foreground pixel (PIL's '1' threshold, 128)."""
    found = []
    for path in sorted(glob.glob(osp.join(root, 's4_data', 'gt_masks', 'test', '*', '*', '*.png'))):
        if (np.asarray(Image.open(path).convert('L')) >= 128).any():
            found.append(path.split(osp.sep)[-3])
    return found


def test_end_to_end_writes_png_and_json(s4_small, untrained_checkpoint, tmp_path):
    ckpt = osp.join(REPO, untrained_checkpoint(S4_CFG))
    cfg = osp.join(REPO, S4_CFG)
    out = str(tmp_path / 'out')
    report = tsne.main([f'w/o CDCL={cfg}:{ckpt}', f'{cfg}:{ckpt}', '--data-root', s4_small, '--out', out,
                        '--k', '3', '--perplexity', '5'])
    expected = frames_with_foreground(s4_small)
    assert len(expected) >= 8 and len(set(expected)) >= 2  # the fixture has classes to score
    with Image.open(osp.join(out, 'tsne.png')) as png:
        assert png.size[0] > 600 and png.size[1] > 600  # 2 models x 2 feature kinds
    with open(osp.join(out, 'tsne_metrics.json')) as f:
        written = json.load(f)
    assert written == json.loads(json.dumps(report))
    assert [m['name'] for m in written['models']] == ['w/o CDCL', 'icl_tiny_synthetic_s4']
    for model in written['models']:
        assert model['num_samples'] == model['num_frames'] == len(expected)
        assert model['classes'] == dict(Counter(expected))
        for kind in ('visual', 'audio'):
            m = model['features'][kind]
            assert m['num_samples'] == len(expected) and m['num_classes'] == len(set(expected))
            assert m['tsne_perplexity'] == 5.
            assert 0. <= m['knn_accuracy'] <= 1. and -1. <= m['silhouette'] <= 1.
            assert m['chance'] == pytest.approx(max(Counter(expected).values()) / len(expected))
        assert model['features']['visual']['dims'] == 64  # the tiny model's d


def test_ms3_needs_a_label_key_and_fails_on_the_first_clip(ms3_small, untrained_checkpoint, tmp_path,
                                                           monkeypatch):
    calls = []
    decode = ICFSegmentor.decode
    monkeypatch.setattr(ICFSegmentor, 'decode', lambda self, *a, **k: calls.append(1) or decode(self, *a, **k))
    spec = f'{osp.join(REPO, M3_CFG)}:{osp.join(REPO, untrained_checkpoint(S4_CFG))}'
    with pytest.raises(PrototypeError, match=r"no 'category'.*--label-key KEY"):
        tsne.main([spec, '--data-root', ms3_small, '--out', str(tmp_path / 'a')])
    assert len(calls) == 1
    # with a metainfo field as the label it runs; --max-frames keeps that many selected frames
    report = tsne.main([spec, '--data-root', ms3_small, '--out', str(tmp_path / 'b'), '--label-key', 'vid',
                        '--max-frames', '6', '--features', 'audio', '--k', '2'])
    model = report['models'][0]
    test_vids = {osp.basename(p) for p in glob.glob(osp.join(ms3_small, 'ms3_data', 'gt_masks', 'test', '*'))}
    assert model['num_frames'] == model['num_samples'] == sum(model['classes'].values()) == 6
    assert list(model['features']) == ['audio'] and set(model['classes']) <= test_vids


def test_missing_decoder_output_is_named(s4_small, untrained_checkpoint, tmp_path, monkeypatch):
    calls = []

    def no_pixel_features(self, *args, **kwargs):
        calls.append(1)
        return {k: v for k, v in decode(self, *args, **kwargs).items() if k != 'pixel_features'}

    decode = ICFSegmentor.decode
    monkeypatch.setattr(ICFSegmentor, 'decode', no_pixel_features)
    spec = f'{osp.join(REPO, S4_CFG)}:{osp.join(REPO, untrained_checkpoint(S4_CFG))}'
    with pytest.raises(PrototypeError, match=r"icl_tiny_synthetic_s4\.py: the decoder outputs have no "
                       r"'pixel_features'"):
        tsne.main([spec, '--data-root', s4_small, '--out', str(tmp_path)])
    assert len(calls) == 1
    assert not osp.exists(osp.join(str(tmp_path), 'tsne.png'))


@pytest.mark.parametrize('argv, message', [
    (['configs/icl/icl_tiny_synthetic_s4.py'], 'expected \\[NAME=\\]CONFIG.py:CHECKPOINT'),
    (['X=no_such_dir/missing.py:{ckpt}'], 'config file "no_such_dir/missing.py" does not exist'),
    (['configs/icl/icl_tiny_synthetic_s4.py:no_such.pth'], 'checkpoint file "no_such.pth" does not exist'),
    (['{spec}'] * 5, 'at most 4 models'),
    (['{spec}', '--features', 'visual,text'], "got \\['visual', 'text'\\]"),
    (['{spec}', '{spec}'], 'model names must differ'),
])
def test_bad_arguments_stop_before_any_work(argv, message, untrained_checkpoint, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    ckpt = untrained_checkpoint(S4_CFG)
    argv = [a.format(ckpt=ckpt, spec=f'{S4_CFG}:{ckpt}') for a in argv]
    monkeypatch.setattr(tsne, 'model_prototypes', lambda *a: pytest.fail('ran a model'))
    with pytest.raises(SystemExit):
        tsne.main(argv)
    assert re.search(message, capsys.readouterr().err)
