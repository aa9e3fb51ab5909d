"""Which Python the launcher scripts (tools/dist_*.sh, tools/slurm_*.sh) run.

Each test copies the launchers into a temporary repository layout and puts stand-in interpreters there
(small shell scripts that record how they were called), so the choice is observed without starting
torchrun.
"""
import os
import os.path as osp
import shutil
import stat
import subprocess
from typing import Dict, Optional

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAUNCHERS = ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh', 'slurm_test.sh')


def _fake_python(path: str, log: str, has_torch: bool = True) -> str:
    """A stand-in interpreter: records its arguments in ``log``; ``import torch`` fails unless has_torch."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch_check = '' if has_torch else \
        'case "$*" in *"import torch"*) echo "No module named torch" >&2; exit 1;; esac\n'
    with open(path, 'w') as f:
        f.write(f'#!/bin/sh\n{torch_check}echo "$0 $*" >> {log}\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def layout(tmp_path):
    """A repository copy holding only the launchers and their helpers."""
    root = tmp_path / 'repo'
    os.makedirs(root / 'tools' / 'misc')
    for name in LAUNCHERS:
        shutil.copy(osp.join(REPO, 'tools', name), root / 'tools' / name)
    for helper in ('find_python.sh', 'launcher.sh'):
        shutil.copy(osp.join(REPO, 'tools', 'misc', helper), root / 'tools' / 'misc')
    bin_dir = tmp_path / 'bin'  # the PATH's python: an environment without torch
    _fake_python(str(bin_dir / 'python'), str(tmp_path / 'calls.log'), has_torch=False)
    return root


def _run(root, script: str, args, tmp_path, env: Optional[Dict[str, str]] = None):
    full_env = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'MMAVS_VENV')}
    full_env['PATH'] = f'{tmp_path / "bin"}{os.pathsep}/usr/bin{os.pathsep}/bin'
    full_env.update(env or {})
    return subprocess.run(['bash', str(root / 'tools' / script), *args], env=full_env,
                          capture_output=True, text=True, timeout=60)


def _calls(tmp_path) -> str:
    log = tmp_path / 'calls.log'
    return log.read_text() if log.exists() else ''


@pytest.mark.parametrize('script,args', [('dist_train.sh', ['cfg.py', '2']),
                                         ('dist_test.sh', ['cfg.py', 'ckpt.pth', '2'])])
def test_dist_launchers_use_the_project_venv(layout, tmp_path, script, args):
    venv_python = _fake_python(str(layout / '.venv' / 'bin' / 'python'), str(tmp_path / 'calls.log'))
    proc = _run(layout, script, args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    calls = _calls(tmp_path)
    assert f'{venv_python} -m torch.distributed.run' in calls
    assert f'{layout}/tools/{script.replace("dist_", "")[:-3]}.py cfg.py' in calls
    assert '--nproc_per_node=2' in calls and '--launcher pytorch' in calls
    assert str(tmp_path / 'bin' / 'python') not in calls  # the PATH's python was never asked


def test_mmavs_venv_and_python_variables_take_precedence(layout, tmp_path):
    _fake_python(str(layout / '.venv' / 'bin' / 'python'), str(tmp_path / 'calls.log'))
    other = _fake_python(str(tmp_path / 'other' / 'bin' / 'python'), str(tmp_path / 'calls.log'))
    proc = _run(layout, 'dist_train.sh', ['cfg.py', '1'], tmp_path, env={'MMAVS_VENV': str(tmp_path / 'other')})
    assert proc.returncode == 0, proc.stderr
    assert f'{other} -m torch.distributed.run' in _calls(tmp_path)
    mine = _fake_python(str(tmp_path / 'mine' / 'python'), str(tmp_path / 'calls2.log'))
    proc = _run(layout, 'dist_train.sh', ['cfg.py', '1'], tmp_path, env={'PYTHON': mine})
    assert proc.returncode == 0, proc.stderr
    assert f'{mine} -m torch.distributed.run' in (tmp_path / 'calls2.log').read_text()


def test_without_an_environment_the_launcher_says_what_to_do(layout, tmp_path):
    # No .venv and a PATH python without torch: a clear message instead of "No module named torch".
    proc = _run(layout, 'dist_train.sh', ['cfg.py', '2'], tmp_path)
    assert proc.returncode == 1
    assert 'cannot import torch' in proc.stderr and 'tools/misc/setup_env.sh' in proc.stderr
    assert 'torch.distributed.run' not in _calls(tmp_path)


def test_slurm_launchers_pick_the_venv_too(layout, tmp_path):
    venv_python = _fake_python(str(layout / '.venv' / 'bin' / 'python'), str(tmp_path / 'calls.log'))
    srun = tmp_path / 'bin' / 'srun'  # records the command it would run on the nodes
    srun.write_text(f'#!/bin/sh\necho "srun $*" >> {tmp_path / "calls.log"}\n')
    os.chmod(srun, 0o755)
    proc = _run(layout, 'slurm_train.sh', ['part', 'job', 'cfg.py', 'wd'], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f'{venv_python} -u {layout}/tools/train.py cfg.py' in _calls(tmp_path)
