"""tools/test.py --save-pred / --zip and tools/analysis_tools/eval_masks.py on generated S4 and AVSS data.

The expected file names are written here from the official AVSBench scripts' rule, the expected F from the
F-measure definition, the palette from the official bit formula: none is taken from the code under test.
"""
import csv
import hashlib
import importlib.util
import json
import os
import os.path as osp
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Dict, List

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

import mmavs
from mmavs.registry import MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {s: osp.join(REPO, f'configs/baseline/baseline_tiny_synthetic_{s}.py') for s in ('s4', 'avss')}
#: Keys that saved masks must reproduce exactly (all AVSS keys; the binary J, areas and FDR).
EXACT_BINARY = ('J_legacy', 'J_frame', 'J_dataset', 'FDR')
F_BINARY = ('F_legacy', 'F_dataset', 'F_video')


def _tool(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_TOOL = _tool('_test_tool_masks', 'tools/test.py')
EVAL_MASKS = _tool('_eval_masks_tool', 'tools/analysis_tools/eval_masks.py')


def official_palette(num_cls: int = 71) -> List[List[int]]:
    """avss/color_dataloader.py get_v2_pallete's _getpallete, as [r, g, b] lists."""
    pallete = [0] * (num_cls * 3)
    for j in range(num_cls):
        lab, i = j, 0
        while lab > 0:
            pallete[j * 3 + 0] |= (((lab >> 0) & 1) << (7 - i))
            pallete[j * 3 + 1] |= (((lab >> 1) & 1) << (7 - i))
            pallete[j * 3 + 2] |= (((lab >> 2) & 1) << (7 - i))
            i += 1
            lab >>= 3
    return [pallete[k:k + 3] for k in range(0, len(pallete), 3)]


def official_names(subset: str, data_root: str) -> List[str]:
    """Saved-mask paths of the test split by the official save functions (frames numbered from 0)."""
    if subset == 's4':  # s4_meta_data.csv: 0 video name, 2 category; save_mask: category/video/video_%d.png
        with open(osp.join(data_root, 's4_meta_data.csv')) as f:
            rows = [r for r in csv.reader(f)][1:]
        return sorted(f'{r[2]}/{r[0]}/{r[0]}_{i}.png' for r in rows if r[3] == 'test' for i in range(5))
    with open(osp.join(data_root, 'metadata.csv')) as f:  # save_color_mask: uid/uid_%d.png, T=10
        rows = [r for r in csv.DictReader(f) if r['split'] == 'test']
    return sorted(f'{r["uid"]}/{r["uid"]}_{i}.png' for r in rows for i in range(10))


def files_below(root: str) -> List[str]:
    return sorted(osp.relpath(osp.join(d, n), root).replace(os.sep, '/') for d, _, ns in os.walk(root) for n in ns)


def data_opts(data_root: str) -> List[str]:
    return [f'test_dataloader.dataset.data_root={data_root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']


def run_test_tool(subset: str, data_root: str, ckpt: str, work: str, *extra: str) -> Dict[str, float]:
    out = osp.join(work, 'metrics.json')
    TEST_TOOL.main([CONFIGS[subset], ckpt, '--work-dir', osp.join(work, 'w'), '--out', out, *extra,
                    '--cfg-options', *data_opts(data_root)])
    with open(out) as f:
        return json.load(f)


def eval_masks(subset: str, data_root: str, pred_dir: str, *extra: str) -> Dict[str, float]:
    return EVAL_MASKS.main([pred_dir, '--dataset-config', CONFIGS[subset], *extra, '--cfg-options',
                            f'test_dataloader.dataset.data_root={data_root}'])


@pytest.fixture(scope='module')
def saved(tmp_path_factory, s4_root, avss_root) -> Dict[str, dict]:
    """Per subset: a random tiny model's checkpoint, tools/test.py --out metrics and its --save-pred --zip DIR."""
    register_all_modules()
    runs = {}
    for subset, root in (('s4', s4_root), ('avss', avss_root)):
        work = str(tmp_path_factory.mktemp(f'save_pred_{subset}'))
        ckpt = osp.join(work, 'model.pth')
        torch.manual_seed(0)
        torch.save({'state_dict': MODELS.build(Config.fromfile(CONFIGS[subset]).model).state_dict()}, ckpt)
        pred = osp.join(work, 'pred')
        metrics = run_test_tool(subset, root, ckpt, work, '--save-pred', pred, '--zip')
        runs[subset] = dict(root=root, ckpt=ckpt, work=work, pred=pred, metrics=metrics)
    return runs


# ----------------------------------------------------------------------------- files, zip, manifest
@pytest.mark.parametrize('subset', ['s4', 'avss'])
def test_layout_and_file_format_follow_the_official_scripts(saved, subset):
    run = saved[subset]
    masks = osp.join(run['pred'], 'pred_masks')
    assert files_below(masks) == official_names(subset, run['root'])
    values = set()
    for name in files_below(masks):
        with Image.open(osp.join(masks, name)) as img:
            assert img.mode == 'P'
            # the size of the GT the metric scored: the configs' test pipelines resize to 64x64 (AVSS frames
            # are 85 or 114 wide), as the legacy pipelines resize to 224x224
            assert img.size == (64, 64)
            pixels = np.asarray(img)
            values |= set(np.unique(pixels).tolist())
            if subset == 's4':  # save_mask: 0 / 255 through a grey palette
                assert set(np.unique(pixels)) <= {0, 255}
                assert img.getpalette()[255 * 3:256 * 3] == [255, 255, 255]
            else:  # index = class, and the colours of the official RGB files
                assert img.getpalette()[:71 * 3] == [v for c in official_palette() for v in c]
    assert len(values) >= 2, 'the predictions are constant: the equality tests below would prove little'


@pytest.mark.parametrize('subset', ['s4', 'avss'])
def test_zip_holds_masks_and_manifest(saved, subset):
    run = saved[subset]
    archive = osp.join(run['pred'], f'segmentation_results_{subset}_test.zip')
    names = official_names(subset, run['root'])
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(['manifest.json', 'config.py'] + [f'pred_masks/{n}' for n in names])
        for name in names:
            with open(osp.join(run['pred'], 'pred_masks', name), 'rb') as f:
                assert zf.read(f'pred_masks/{name}') == f.read()
        manifest = json.loads(zf.read('manifest.json'))
        config_text = zf.read('config.py').decode()
    with open(osp.join(run['pred'], 'manifest.json')) as f:
        assert json.load(f) == manifest
    with open(run['ckpt'], 'rb') as f:
        assert manifest['checkpoint'] == dict(path=run['ckpt'], sha256=hashlib.sha256(f.read()).hexdigest())
    assert manifest['mmavs_version'] == mmavs.__version__
    assert abs(datetime.now(timezone.utc) - datetime.fromisoformat(manifest['date'])) < timedelta(hours=1)
    assert manifest['config']['file'] == CONFIGS[subset]
    assert manifest['config']['resolved_sha256'] == hashlib.sha256(config_text.encode()).hexdigest()
    assert run['root'] in config_text  # the resolved config, --cfg-options included
    assert manifest['dataset'] == dict(subset=subset, split='test', clips=len(names) // (5 if subset == 's4' else 10))
    assert manifest['masks']['files'] == len(names)
    assert manifest['metrics'] == pytest.approx(run['metrics'], abs=0, rel=0)


def test_zip_needs_save_pred():
    with pytest.raises(SystemExit):
        TEST_TOOL.parse_args([CONFIGS['s4'], 'ckpt.pth', '--zip'])


def test_save_pred_refuses_a_folder_with_masks(saved, tmp_path):
    run = saved['s4']
    pred = str(tmp_path / 'pred')
    shutil.copytree(osp.join(run['pred'], 'pred_masks'), osp.join(pred, 'pred_masks'))
    with pytest.raises(FileExistsError, match='already holds 10 file'):
        run_test_tool('s4', run['root'], run['ckpt'], str(tmp_path), '--save-pred', pred)


# ----------------------------------------------------------------------------- re-scoring
def gt_binary(data_root: str, relpath: str) -> np.ndarray:
    """GT of a saved-mask path (frame t from 0 is GT file t + 1), read as the official S4 loader does."""
    category, vid, name = relpath.split('/')
    t = int(name[len(vid) + 1:-4])
    path = osp.join(data_root, 's4_data', 'gt_masks', 'test', category, vid, f'{vid}_{t + 1}.png')
    return np.asarray(Image.open(path).convert('1'), dtype=np.float64)


def f_measure(tp: float, pred: float, gt: float) -> float:
    precision, recall = tp / (pred + 1e-20), tp / (gt + 1e-20)
    f = 1.3 * precision * recall / (0.3 * precision + recall) if precision + recall > 0 else 0.0
    return f


def test_s4_rescored_masks_reproduce_test_py(saved):
    run = saved['s4']
    metrics = eval_masks('s4', run['root'], run['pred'])
    printed = run['metrics']
    for key in EXACT_BINARY:
        assert metrics[f'avs/{key}'] == pytest.approx(printed[f'avs/{key}'], abs=1e-9), key
    # F from 0 / 1 masks: the legacy curve keeps two points, threshold 0 (every pixel positive) and the 0.5
    # mask; the logits' curve has both (and 253 more), so re-scored F can only be lower ...
    for key in F_BINARY:
        assert metrics[f'avs/{key}'] <= printed[f'avs/{key}'] + 1e-9, key
    # ... and is exactly that two-point F: here the 2 test clips are one legacy batch of 4
    names = official_names('s4', run['root'])
    curve = []
    for name in names:
        gt = gt_binary(run['root'], name)
        pred = (np.asarray(Image.open(osp.join(run['pred'], 'pred_masks', name))) >= 128).astype(np.float64)
        if gt.sum() > 0:
            curve.append([f_measure(gt.sum(), gt.size, gt.sum()), f_measure((pred * gt).sum(), pred.sum(), gt.sum())])
    expected_f = 100 * max(np.mean(curve, axis=0)) if curve else 0.0
    assert metrics['avs/F_legacy'] == pytest.approx(expected_f, abs=1e-4)
    assert metrics['avs/F_dataset'] == pytest.approx(expected_f, abs=1e-4)


def test_avss_rescored_masks_reproduce_every_key(saved, tmp_path):
    run = saved['avss']
    out = str(tmp_path / 'eval.json')
    metrics = eval_masks('avss', run['root'], run['pred'], '--out', out)
    assert set(metrics) == set(run['metrics'])
    for key, value in run['metrics'].items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), key
    with open(out) as f:
        assert json.load(f) == pytest.approx(metrics)


def test_other_repositories_rgb_and_index_masks_score_the_same(saved, tmp_path):
    """The official AVSS files are RGB (same colours); class-index 'L' files are accepted too."""
    run = saved['avss']
    src = osp.join(run['pred'], 'pred_masks')
    colours = np.asarray(official_palette(), dtype=np.uint8)
    for kind in ('rgb', 'index'):
        dst = str(tmp_path / kind)
        for name in files_below(src):
            classes = np.asarray(Image.open(osp.join(src, name)))
            os.makedirs(osp.dirname(osp.join(dst, name)), exist_ok=True)
            Image.fromarray(colours[classes] if kind == 'rgb' else classes).save(osp.join(dst, name))
        metrics = eval_masks('avss', run['root'], dst)
        assert metrics['avs/J_legacy'] == pytest.approx(run['metrics']['avs/J_legacy'], abs=1e-9)


# ----------------------------------------------------------------------------- bad inputs, named
def copy_masks(run: dict, tmp_path) -> str:
    dst = str(tmp_path / 'pred_masks')
    shutil.copytree(osp.join(run['pred'], 'pred_masks'), dst)
    return dst


def expect_error(subset: str, run: dict, pred: str, *patterns: str, extra=()) -> None:
    with pytest.raises(SystemExit) as info:
        eval_masks(subset, run['root'], pred, *extra)
    message = str(info.value)
    for pattern in patterns:
        assert pattern in message, message


def test_missing_extra_and_renumbered_files_are_named(saved, tmp_path):
    run = saved['s4']
    pred = copy_masks(run, tmp_path)
    names = official_names('s4', run['root'])
    os.remove(osp.join(pred, names[3]))
    stray = names[0].replace('_0.png', '_5.png')
    shutil.copy(osp.join(pred, names[0]), osp.join(pred, stray))
    expect_error('s4', run, pred, '1 missing and 1 extra', f'missing: {names[3]}', f'extra: {stray}')
    # --allow-extra scores despite the extra file, not despite a missing one
    shutil.copy(osp.join(pred, names[4]), osp.join(pred, names[3]))
    metrics = eval_masks('s4', run['root'], pred, '--allow-extra')
    assert 'avs/J_legacy' in metrics
    # masks numbered like the GT (1..5) instead of the official 0..4: both ends are reported
    renumbered = str(tmp_path / 'renumbered')
    for name in names:
        stem, t = name[:-4].rsplit('_', 1)
        os.makedirs(osp.dirname(osp.join(renumbered, name)), exist_ok=True)
        shutil.copy(osp.join(pred, name), osp.join(renumbered, f'{stem}_{int(t) + 1}.png'))
    expect_error('s4', run, renumbered, f'missing: {names[0]}', f'extra: {names[4].replace("_4.png", "_5.png")}')


def test_wrong_size_and_wrong_mode_are_named(saved, tmp_path):
    run = saved['s4']
    pred = copy_masks(run, tmp_path)
    names = official_names('s4', run['root'])
    Image.new('L', (32, 48)).save(osp.join(pred, names[1]))
    Image.new('RGBA', (64, 64)).save(osp.join(pred, names[6]))
    expect_error('s4', run, pred, '2 file(s)', names[1], '32x48 (WxH)', '64x64', names[6], "'RGBA'")


def test_off_palette_colour_is_named(saved, tmp_path):
    run = saved['avss']
    pred = copy_masks(run, tmp_path)
    name = official_names('avss', run['root'])[2]
    rgb = np.asarray(Image.open(osp.join(pred, name)).convert('RGB')).copy()
    rgb[5, 7] = (1, 2, 3)
    Image.fromarray(rgb).save(osp.join(pred, name))
    expect_error('avss', run, pred, name, '(1, 2, 3)', 'outside the 71-colour palette')


def test_manifest_of_another_split_is_refused(saved, tmp_path):
    run = saved['s4']
    pred = str(tmp_path / 'pred')
    shutil.copytree(run['pred'], pred)
    with open(osp.join(pred, 'manifest.json')) as f:
        manifest = json.load(f)
    manifest['dataset']['split'] = 'val'
    with open(osp.join(pred, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    expect_error('s4', run, pred, 's4 val, not s4 test')
