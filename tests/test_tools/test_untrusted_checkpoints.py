"""No checkpoint file can run code through mmavs, whatever torch's default for ``weights_only``.

Every entry point that reads checkpoints gets two crafted files, a pickle that calls ``os.mkdir`` and a
TorchScript archive whose ``__setstate__`` creates a file, in one subprocess with
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (torch then defaults to the full unpickler, as torch < 2.6 does).
The control entry (plain ``torch.load``) shows that the files do run code when loaded unprotected.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location('_untrusted', osp.join(REPO, 'tests', 'untrusted.py'))
untrusted = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(untrusted)

ENTRIES = ('converter_clip', 'converter_pvt_v2', 'mmavs_init_cfg', 'mmengine_pretrained_init',
           'mmengine_load_checkpoint', 'test_tool', 'train_resume', 'train_load_from')


@pytest.fixture(scope='module')
def probe(tmp_path_factory, s4_root) -> Dict[tuple, dict]:
    tmp = tmp_path_factory.mktemp('untrusted')
    items: List[dict] = []
    for kind, writer in (('pickle', untrusted.write_code_pickle), ('archive', untrusted.write_code_archive)):
        for entry in ('plain_torch_load', ) + ENTRIES:
            marker = str(tmp / f'ran_{kind}_{entry}')
            path = writer(str(tmp / f'{kind}_{entry}.pt'), marker)
            items.append(dict(entry=entry, kind=kind, file=path, marker=marker))
    spec_path = str(tmp / 'spec.json')
    with open(spec_path, 'w') as f:
        json.dump(dict(items=items, config=osp.join(REPO, 'configs/baseline/baseline_tiny_synthetic_s4.py'),
                       data_root=s4_root, work_dir=str(tmp / 'work')), f)
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1')
    env['PYTHONPATH'] = os.pathsep.join([REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tests', 'data', 'untrusted_probe.py'), spec_path],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {(r['kind'], r['entry']): r for r in json.loads(proc.stdout.strip().splitlines()[-1])}


@pytest.mark.parametrize('kind', ['pickle', 'archive'])
def test_the_crafted_files_do_run_code_when_loaded_unprotected(probe, kind):
    assert probe[(kind, 'plain_torch_load')]['executed']


@pytest.mark.parametrize('kind', ['pickle', 'archive'])
@pytest.mark.parametrize('entry', ENTRIES)
def test_no_entry_point_runs_code_from_a_checkpoint(probe, kind, entry):
    result = probe[(kind, entry)]
    assert not result['executed'], f'{entry} ran code from a crafted {kind}'
    assert result['error'] is not None  # refused, not silently accepted
    if kind == 'pickle':
        assert 'weights-only' in result['error'] and result['file'] in result['error'], result['error']
