"""tools/test.py loads checkpoints strictly: another architecture is an error, not a partly random model."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmavs.engine import load_model_checkpoint
from mmavs.models.utils.checkpoint_keys import match_state_dicts
from mmavs.registry import MODELS
from mmavs.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASELINE_S4 = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_s4.py')
BASELINE_AVSS = osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_avss.py')
ICF_S4 = osp.join(REPO, 'configs/icl/icl_tiny_synthetic_s4.py')


def _test_tool():
    spec = importlib.util.spec_from_file_location('_test_tool', osp.join(REPO, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkpoint_of(config: str, path: str, seed: int = 0, **model_overrides) -> dict:
    """Save the state dict of a freshly built model of ``config`` as an MMEngine-style checkpoint."""
    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.update(model_overrides)
    torch.manual_seed(seed)
    state = MODELS.build(cfg.model).state_dict()
    torch.save({'meta': {'epoch': 1}, 'state_dict': state}, path)
    return state


@pytest.mark.parametrize('source,target,overrides,expected', [
    (ICF_S4, BASELINE_S4, {}, r'unexpected key\(s\) \(in the checkpoint, not in the model\): .*decoder\.'),
    (BASELINE_S4, BASELINE_AVSS, {}, r'shape mismatch\(es\): .*checkpoint \[1, .*vs model \[71, '),
    (BASELINE_S4, BASELINE_S4, {'decoder': {'num_queries': 4}}, r'query.*checkpoint \[4, .*vs model \[8, '),
], ids=['icf_on_baseline', 's4_on_avss', 'other_num_queries'])
def test_wrong_architecture_is_an_error_naming_the_keys(tmp_path, source, target, overrides, expected):
    ckpt = str(tmp_path / 'other.pth')
    if overrides:
        register_all_modules()
        cfg = Config.fromfile(source)
        cfg.model.decoder.update(overrides['decoder'])
        torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, ckpt)
    else:
        _checkpoint_of(source, ckpt)
    with pytest.raises(ValueError, match=expected) as info:
        _test_tool().main([target, ckpt, '--work-dir', str(tmp_path / 'work')])
    assert ckpt in str(info.value) and '--allow-partial' in str(info.value)


def test_match_lists_every_kind_of_difference():
    model = {'a': torch.zeros(2), 'b': torch.zeros(3), 'c': torch.zeros(1)}
    ckpt = {'a': torch.zeros(2), 'b': torch.zeros(4), 'd': torch.zeros(1)}
    match = match_state_dicts(model, ckpt)
    assert match.missing == ['c'] and match.unexpected == ['d']
    assert match.mismatched == [('b', (4, ), (3, ))] and match.loaded == ['a'] and not match.complete


def test_matching_checkpoint_loads_every_tensor(tmp_path):
    ckpt = str(tmp_path / 'same.pth')
    state = _checkpoint_of(BASELINE_S4, ckpt, seed=1)
    register_all_modules()
    torch.manual_seed(2)
    model = MODELS.build(Config.fromfile(BASELINE_S4).model)
    match = load_model_checkpoint(model, ckpt)
    assert match.complete and match.loaded == list(state)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_allow_partial_loads_what_fits_and_says_so(tmp_path, s4_root):
    ckpt = str(tmp_path / 'icf.pth')
    icf_state = _checkpoint_of(ICF_S4, ckpt, seed=3)
    register_all_modules()
    torch.manual_seed(4)
    model = MODELS.build(Config.fromfile(BASELINE_S4).model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    match = load_model_checkpoint(model, ckpt, allow_partial=True)
    assert not match.complete and match.unexpected
    after = model.state_dict()
    for key, value in after.items():
        fits = key in icf_state and icf_state[key].shape == value.shape
        assert torch.equal(value, icf_state[key] if fits else before[key]), key

    # end to end: the metrics of a partial model carry the counts, and the log says PARTIAL
    out = str(tmp_path / 'metrics.json')
    opts = [f'test_dataloader.dataset.data_root={s4_root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    args = [BASELINE_S4, ckpt, '--allow-partial', '--out', out, '--work-dir', str(tmp_path / 'w'),
            '--cfg-options', *opts]
    proc = subprocess.run([sys.executable, 'tools/test.py', *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'PARTIAL CHECKPOINT (--allow-partial)' in log and 'PARTIALLY loaded model' in log
    with open(out) as f:
        metrics = json.load(f)
    assert metrics['checkpoint/unexpected_keys'] == len(match.unexpected)
    assert metrics['checkpoint/missing_keys'] == len(match.missing)
    assert 'avs/J_legacy' in metrics
