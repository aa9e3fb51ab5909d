"""The requirements files agree with each other, with setup.py and with this environment."""
import importlib.metadata
import os
import os.path as osp
import runpy
import shutil
import subprocess
from typing import Dict, List

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import mmavs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EXTRAS = ('video', 'analysis', 'captioning', 'tests')


def read_requirements(name: str) -> List[Requirement]:
    with open(osp.join(ROOT, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [Requirement(line) for line in lines if line]


def pins(name: str) -> Dict[str, Version]:
    out = {}
    for req in read_requirements(name):
        (spec, ) = req.specifier
        assert spec.operator == '==', f'{name}.txt: {req} is not an exact pin'
        out[canonicalize_name(req.name)] = Version(spec.version)
    return out


@pytest.fixture
def setup_kwargs(monkeypatch) -> dict:
    """The keyword arguments setup.py passes to setuptools.setup (setup.py run with setup() captured)."""
    import setuptools
    captured = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kwargs: captured.update(kwargs))
    runpy.run_path(osp.join(ROOT, 'setup.py'), run_name='__main__')
    return captured


def test_setup_reads_the_requirement_files(setup_kwargs):
    assert setup_kwargs['name'] == 'mmavs'
    assert setup_kwargs['version'] == mmavs.__version__
    assert setup_kwargs['license'] == 'Apache-2.0'
    assert [Requirement(r) for r in setup_kwargs['install_requires']] == read_requirements('runtime')
    extras = setup_kwargs['extras_require']
    assert set(extras) == set(EXTRAS) | {'all'}
    for name in EXTRAS:
        assert [Requirement(r) for r in extras[name]] == read_requirements(name)
    assert sorted(extras['all']) == sorted({r for name in EXTRAS for r in extras[name]})


def test_ranges_are_ranges_and_name_no_mmcv():
    for name in ('runtime', *EXTRAS):
        for req in read_requirements(name):
            assert canonicalize_name(req.name) not in ('mmcv', 'mmcv-lite', 'mmcv-full'), name
            assert all(s.operator not in ('==', '===') for s in req.specifier), f'{name}: {req}'
            assert canonicalize_name(req.name) not in ('torch', 'torchaudio'), name


def test_mmengine_range_matches_the_import_check():
    (req, ) = [r for r in read_requirements('runtime') if r.name == 'mmengine']
    assert {(s.operator, s.version) for s in req.specifier} == {
        ('>=', mmavs.MMENGINE_MIN), ('<', mmavs.MMENGINE_MAX)}


def test_fresh_machine_pins_lie_in_the_declared_ranges():
    fresh = pins('fresh_machine')
    cpu = pins('cpu')
    assert not set(fresh) & set(cpu), 'torch & co. belong to cpu.txt only'
    assert 'mmcv' not in fresh
    lite = fresh['mmcv-lite']
    assert Version(mmavs.MMCV_MIN) <= lite < Version(mmavs.MMCV_MAX)
    for name in ('runtime', *EXTRAS):
        for req in read_requirements(name):
            key = canonicalize_name(req.name)
            assert key in fresh, f'{req} ({name}.txt) has no pin in fresh_machine.txt'
            assert req.specifier.contains(fresh[key], prereleases=True), \
                f'fresh_machine.txt pins {key}=={fresh[key]}, outside {req} ({name}.txt)'


def test_this_environment_satisfies_runtime_and_all_extras():
    """The environment the tests run in is an mmavs[all] installation (whatever made it)."""
    for name in ('runtime', *EXTRAS):
        for req in read_requirements(name):
            version = importlib.metadata.version(req.name)
            assert req.specifier.contains(version, prereleases=True), f'{req.name} {version}: {req}'
    import mmcv
    import mmengine
    from mmengine.utils import digit_version
    assert digit_version(mmavs.MMCV_MIN) <= digit_version(mmcv.__version__) < digit_version(
        mmavs.MMCV_MAX)
    assert digit_version(mmavs.MMENGINE_MIN) <= digit_version(mmengine.__version__)


def _run_setup_env(root: str, venv: str) -> List[str]:
    """Run setup_env.sh of ``root`` with a stand-in Python that logs its arguments; return the log."""
    log = osp.join(venv, 'calls.log')
    if osp.exists(log):
        os.remove(log)
    env = dict(os.environ, MMAVS_VENV=venv, FAKE_PY_LOG=log)
    proc = subprocess.run(['bash', osp.join(root, 'tools', 'misc', 'setup_env.sh')], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == osp.join(venv, 'bin', 'python')
    if not osp.exists(log):
        return []
    with open(log) as f:
        return f.read().splitlines()


def test_setup_env_installs_pins_in_order_and_reinstalls_on_any_requirements_change(tmp_path):
    root = str(tmp_path / 'repo')
    os.makedirs(osp.join(root, 'tools', 'misc'))
    shutil.copy(osp.join(ROOT, 'tools', 'misc', 'setup_env.sh'), osp.join(root, 'tools', 'misc'))
    shutil.copy(osp.join(ROOT, 'setup.py'), root)
    shutil.copytree(osp.join(ROOT, 'requirements'), osp.join(root, 'requirements'))
    venv = str(tmp_path / 'venv')
    os.makedirs(osp.join(venv, 'bin'))
    fake = osp.join(venv, 'bin', 'python')
    with open(fake, 'w') as f:
        f.write('#!/usr/bin/env bash\necho "$*" >> "$FAKE_PY_LOG"\ncat > /dev/null\n')
    os.chmod(fake, 0o755)

    calls = _run_setup_env(root, venv)
    installs = [c for c in calls if c.startswith('-m pip install')]
    cpu = osp.join(root, 'requirements', 'cpu.txt')
    fresh = osp.join(root, 'requirements', 'fresh_machine.txt')
    # torch & co. first and alone; then the pins, with cpu.txt as constraints; mmavs without deps.
    assert installs[1] == f'-m pip install -q -r {cpu}'
    assert installs[2] == f'-m pip install -q -r {fresh} -c {cpu}'
    assert installs[3] == f'-m pip install -q --no-deps --no-build-isolation -e {root}'
    assert '-m pip check' in calls[calls.index(installs[3]):]
    assert _run_setup_env(root, venv) == []  # stamp up to date: nothing to do

    with open(fresh, 'a') as f:
        f.write('# a changed pin\n')
    assert _run_setup_env(root, venv) != []
    assert _run_setup_env(root, venv) == []
    with open(osp.join(root, 'requirements', 'new_extra.txt'), 'w') as f:
        f.write('somepackage>=1\n')
    assert _run_setup_env(root, venv) != []  # a new requirements file counts too
    with open(osp.join(root, 'setup.py'), 'a') as f:
        f.write('\n')
    assert _run_setup_env(root, venv) != []
