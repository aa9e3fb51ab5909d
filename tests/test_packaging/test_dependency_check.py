"""``import mmavs`` checks for an mmcv (either distribution) and mmengine of the supported ranges."""
import os
import os.path as osp
import subprocess
import sys
import types

import pytest

import mmavs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _fake_module(name: str, version: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__version__ = version
    module.__file__ = f'/somewhere/{name}/__init__.py'
    return module


def test_missing_mmcv_says_how_to_install_either_distribution(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmcv', None)  # import mmcv -> ModuleNotFoundError
    with pytest.raises(ImportError) as info:
        mmavs._check_dependencies()
    message = str(info.value)
    assert 'mmcv>=2.0.0,<2.2.0, which is not installed' in message
    assert 'mim install "mmcv>=2.0.0,<2.2.0"' in message
    assert 'pip install "mmcv-lite>=2.0.0,<2.2.0"' in message


@pytest.mark.parametrize('version', ['1.7.2', '2.0.0rc4', '2.2.0', '2.2.1'])
def test_mmcv_out_of_range_is_refused(monkeypatch, version):
    monkeypatch.setitem(sys.modules, 'mmcv', _fake_module('mmcv', version))
    with pytest.raises(ImportError, match=f'but mmcv {version} is installed .*/somewhere/mmcv'):
        mmavs._check_dependencies()


@pytest.mark.parametrize('version', ['2.0.0', '2.1.0', '2.1.0+cu121', '2.1.1'])
def test_mmcv_in_range_is_accepted(monkeypatch, version):
    monkeypatch.setitem(sys.modules, 'mmcv', _fake_module('mmcv', version))
    mmavs._check_dependencies()


def test_mmcv_without_version_is_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmcv', types.ModuleType('mmcv'))
    with pytest.raises(ImportError, match='but mmcv None is installed'):
        mmavs._check_dependencies()


def test_broken_mmcv_install_is_not_reported_as_missing(monkeypatch):
    """An mmcv that fails to import for another reason keeps its own error."""
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == 'mmcv':
            raise ModuleNotFoundError("No module named 'cv2'", name='cv2')
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, 'mmcv')
    monkeypatch.setattr(builtins, '__import__', fake_import)
    with pytest.raises(ModuleNotFoundError, match="'cv2'"):
        mmavs._check_dependencies()


@pytest.mark.parametrize('version', ['0.10.5', '1.0.0'])
def test_mmengine_out_of_range_is_refused(monkeypatch, version):
    monkeypatch.setitem(sys.modules, 'mmengine', _fake_module('mmengine', version))
    with pytest.raises(ImportError, match=f'but mmengine {version} is installed: pip install '
                       '"mmengine>=0.10.6,<1.0.0"'):
        mmavs._check_dependencies()


def _import_mmavs_with(tmp_path, mmcv_files: dict) -> subprocess.CompletedProcess:
    """``import mmavs`` in a new process whose ``mmcv`` is a directory made of ``mmcv_files``."""
    for rel, text in mmcv_files.items():
        path = tmp_path / 'site' / 'mmcv' / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    code = ('import sys, mmavs, mmcv, mmcv._ext\n'
            'print(mmcv.__file__); print(mmcv._ext.__file__)\n'
            'print("stand-in" if type(sys.modules["mmcv._ext"]).__name__ == "_ExtStandIn" else "real")')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / 'site'), ROOT]))
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True,
                          timeout=300)


def test_full_mmcv_is_used_as_it_is(tmp_path):
    """With a full mmcv (its compiled extension present), mmavs imports it and registers no stand-in."""
    proc = _import_mmavs_with(tmp_path, {
        '__init__.py': "__version__ = '2.1.0'\n",
        '_ext.py': '# the compiled ops of full mmcv\n'})
    assert proc.returncode == 0, proc.stderr
    init, ext, kind = proc.stdout.split()
    assert init == str(tmp_path / 'site' / 'mmcv' / '__init__.py')
    assert ext == str(tmp_path / 'site' / 'mmcv' / '_ext.py')
    assert kind == 'real'


def test_import_mmavs_fails_with_the_message_on_an_unsupported_mmcv(tmp_path):
    proc = _import_mmavs_with(tmp_path, {'__init__.py': "__version__ = '2.2.0'\n"})
    assert proc.returncode == 1
    assert 'ImportError: mmavs needs mmcv>=2.0.0,<2.2.0, but mmcv 2.2.0 is installed' in proc.stderr
