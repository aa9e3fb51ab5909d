"""``pip install -e .`` on a user's machine keeps the user's own mmcv, mmengine and mmsegmentation.

A fresh virtual environment stands for a GPU user's machine: it already holds a full ``mmcv`` 2.1.0 (a
tiny wheel built here, with the ``mmcv/_ext.py`` of the compiled ops) and mmengine / mmsegmentation of
versions other than the fresh-machine pins. Real pip then installs mmavs from a copy of this repository
against a local folder of wheels only (no index, no network, no pip configuration of the machine), which
offers everything pip might want: the fresh-machine pins, newer mmengine / mmsegmentation and an mmcv-lite
that writes into the same ``mmcv/`` package (the trap). The resolver's real choices are checked.
The dependencies are stub wheels (metadata and a marker file): what is tested is which distributions pip
picks and what it writes, not that they import.
"""
import base64
import hashlib
import importlib.metadata
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import zipfile
from typing import Dict, List

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import mmavs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: The user's own install, present before mmavs (versions in range, but not the fresh-machine pins).
USER_MMENGINE = '0.10.6'
USER_MMSEG = '1.2.1'
FULL_MMCV_FILES = {
    'mmcv/__init__.py': "__version__ = '2.1.0'\n# full mmcv (simulated)\n",
    'mmcv/version.py': "__version__ = '2.1.0'\n",
    'mmcv/_ext.py': '# stands for the compiled ops extension of full mmcv\n',
}
LITE_MMCV_FILES = {
    'mmcv/__init__.py': "__version__ = '2.1.0'\n# mmcv-lite (stub)\n",
    'mmcv/version.py': "__version__ = '2.1.0'\n",
}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    return f'sha256={digest}'


def build_wheel(out_dir: str, name: str, version: str, files: Dict[str, str] = None) -> str:
    """Write a pure-Python wheel of ``name`` ``version`` holding ``files`` (path -> text); no dependencies."""
    dist = re.sub(r'[-_.]+', '_', name)
    info = f'{dist}-{version}.dist-info'
    contents = {path: text.encode() for path, text in (files or {}).items()}
    contents[f'{info}/METADATA'] = (
        f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n').encode()
    contents[f'{info}/WHEEL'] = (
        b'Wheel-Version: 1.0\nGenerator: mmavs-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
    record = ''.join(f'{path},{_record_hash(data)},{len(data)}\n' for path, data in contents.items())
    contents[f'{info}/RECORD'] = (record + f'{info}/RECORD,,\n').encode()
    path = osp.join(out_dir, f'{dist}-{version}-py3-none-any.whl')
    with zipfile.ZipFile(path, 'w') as zf:
        for member, data in contents.items():
            zf.writestr(member, data)
    return path


def fresh_machine_pins() -> Dict[str, str]:
    """``name -> version`` of requirements/fresh_machine.txt."""
    pins = {}
    with open(osp.join(ROOT, 'requirements', 'fresh_machine.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                req = Requirement(line)
                (spec, ) = req.specifier
                assert spec.operator == '==', line
                pins[canonicalize_name(req.name)] = spec.version
    return pins


def _copy_project(dst: str) -> str:
    """What ``pip install -e .`` reads of the repository, copied so that the worktree stays untouched."""
    src = osp.join(dst, 'mmavs-src')
    os.makedirs(src)
    for name in ('setup.py', 'setup.cfg', 'README.md', 'LICENSE'):
        shutil.copy(osp.join(ROOT, name), src)
    shutil.copytree(osp.join(ROOT, 'requirements'), osp.join(src, 'requirements'))
    shutil.copytree(osp.join(ROOT, 'mmavs'), osp.join(src, 'mmavs'),
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    return src


def _build_tools_path(dst: str) -> str:
    """A folder exposing this environment's pip and setuptools (and only them) to the fresh environment.

    The fresh environment is made without pip (ensurepip's setuptools is too old to build an editable
    install without ``wheel``, and nothing may be downloaded); pip runs with this folder on PYTHONPATH.
    """
    tools = osp.join(dst, 'tools-path')
    os.makedirs(tools)
    for dist_name in ('pip', 'setuptools'):
        dist = importlib.metadata.distribution(dist_name)
        tops = {str(f).split('/', 1)[0] for f in dist.files}
        for top in tops:
            target = osp.join(str(dist.locate_file('')), top)
            if top.endswith('.pth') or top == '..' or not osp.exists(target):
                continue
            os.symlink(target, osp.join(tools, top))
    return tools


class FreshEnv:
    """A virtual environment without pip; pip calls see only the local wheel folder."""

    def __init__(self, base: str, wheels: str) -> None:
        self.dir = osp.join(base, 'venv')
        subprocess.run([sys.executable, '-m', 'venv', '--without-pip', self.dir], check=True)
        self.python = osp.join(self.dir, 'bin', 'python')
        self.wheels = wheels
        self.tools = _build_tools_path(base)
        env = {k: v for k, v in os.environ.items() if not k.startswith(('PIP_', 'PYTHON'))}
        env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX='1', PIP_FIND_LINKS=wheels,
                   PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_NO_CACHE_DIR='1', PIP_NO_INPUT='1')
        self.env = env

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(self.env, PYTHONPATH=self.tools)
        proc = subprocess.run([self.python, '-m', 'pip', *args], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, f'pip {" ".join(args)} failed:\n{proc.stdout}\n{proc.stderr}'
        return proc

    def run(self, code: str) -> str:
        """Output of ``code`` run by the environment's own Python (without the pip folder)."""
        proc = subprocess.run([self.python, '-c', code], env=self.env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def installed(self) -> Dict[str, str]:
        out = self.run('import importlib.metadata as m, json; print(json.dumps('
                       '{d.metadata["Name"]: d.version for d in m.distributions()}))')
        return {canonicalize_name(k): v for k, v in json.loads(out).items()}

    def mmcv_files(self) -> Dict[str, str]:
        """sha256 of the installed ``mmcv`` package's files (byte code left out), by path in site-packages."""
        out = self.run(
            'import hashlib, json, os, os.path as osp, sysconfig\n'
            'site = sysconfig.get_paths()["purelib"]\n'
            'files = {}\n'
            'for d, dirs, names in os.walk(osp.join(site, "mmcv")):\n'
            '    dirs[:] = [x for x in dirs if x != "__pycache__"]\n'
            '    for n in names:\n'
            '        p = osp.join(d, n)\n'
            '        files[osp.relpath(p, site)] = hashlib.sha256(open(p, "rb").read()).hexdigest()\n'
            'print(json.dumps(files))')
        return json.loads(out)

    def requires(self, dist: str) -> List[str]:
        return json.loads(self.run(
            f'import importlib.metadata as m, json; print(json.dumps(m.requires({dist!r})))'))


@pytest.fixture(scope='module')
def user_env(tmp_path_factory: pytest.TempPathFactory):
    """The GPU user's machine: full mmcv, mmengine 0.10.6 and mmsegmentation 1.2.1 already installed."""
    base = str(tmp_path_factory.mktemp('user_env'))
    wheels = osp.join(base, 'wheels')
    os.makedirs(wheels)
    for name, version in fresh_machine_pins().items():
        build_wheel(wheels, name, version, LITE_MMCV_FILES if name == 'mmcv-lite' else None)
    build_wheel(wheels, 'mmcv', '2.1.0', FULL_MMCV_FILES)
    build_wheel(wheels, 'mmengine', USER_MMENGINE)
    build_wheel(wheels, 'mmsegmentation', USER_MMSEG)
    env = FreshEnv(base, wheels)
    env.pip('install', 'mmcv==2.1.0', f'mmengine=={USER_MMENGINE}', f'mmsegmentation=={USER_MMSEG}')
    before = env.mmcv_files()
    assert set(before) == set(FULL_MMCV_FILES)
    src = _copy_project(base)
    env.pip('install', '--no-build-isolation', '-e', src)
    return dict(env=env, src=src, mmcv_before=before)


def test_editable_install_keeps_the_users_packages(user_env):
    env = user_env['env']
    installed = env.installed()
    assert installed['mmavs'] == mmavs.__version__
    # No second mmcv distribution, and the user's full mmcv (compiled ops marker included) unchanged.
    assert 'mmcv-lite' not in installed
    assert installed['mmcv'] == '2.1.0'
    assert env.mmcv_files() == user_env['mmcv_before']
    # In range: left as the user had them, although the folder offers the fresh-machine pins.
    assert installed['mmengine'] == USER_MMENGINE != fresh_machine_pins()['mmengine']
    assert installed['mmsegmentation'] == USER_MMSEG != fresh_machine_pins()['mmsegmentation']
    # Every install requirement was resolved (pip check also reads mmavs's metadata).
    env.pip('check')


def test_installed_metadata_requires_ranges_and_no_mmcv(user_env):
    requires = [Requirement(r) for r in user_env['env'].requires('mmavs')]
    base = [r for r in requires if r.marker is None]
    names = {canonicalize_name(r.name) for r in requires}
    assert not names & {'mmcv', 'mmcv-lite', 'mmcv-full'}
    assert {'mmengine', 'mmsegmentation', 'numpy', 'soundfile'} <= {
        canonicalize_name(r.name) for r in base}
    for req in requires:
        assert all(spec.operator not in ('==', '===') for spec in req.specifier), str(req)
    extras = {}
    for req in requires:
        if req.marker is not None:
            for extra in ('video', 'analysis', 'captioning', 'tests', 'all'):
                if req.marker.evaluate({'extra': extra}):
                    extras.setdefault(extra, set()).add(canonicalize_name(req.name))
    assert extras['video'] == {'av'}
    assert extras['analysis'] == {'scikit-learn', 'matplotlib'}
    assert extras['captioning'] == {'transformers'}
    assert 'pytest' in extras['tests']
    assert extras['all'] == extras['video'] | extras['analysis'] | extras['captioning'] | extras['tests']


def test_all_extras_keep_the_users_mmcv(user_env):
    env = user_env['env']
    env.pip('install', '--no-build-isolation', '-e', f'{user_env["src"]}[all]')
    installed = env.installed()
    for name in ('av', 'scikit-learn', 'matplotlib', 'transformers', 'pytest'):
        assert installed[name] == fresh_machine_pins()[name], name
    assert 'mmcv-lite' not in installed
    assert env.mmcv_files() == user_env['mmcv_before']
    assert installed['mmengine'] == USER_MMENGINE
    # The trap is armed: had pip taken mmcv-lite, it would have overwritten the user's mmcv.
    env.pip('install', 'mmcv-lite')
    assert env.mmcv_files() != user_env['mmcv_before']
