"""Tests of mmavs.utils.compat: each shim applies only where the stack needs it."""
import io
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmavs.utils import compat

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# ----------------------------------------------------------------------------------------------------------
# mmcv._ext
# ----------------------------------------------------------------------------------------------------------
_FULL_MMCV = textwrap.dedent('''
    import importlib.abc, importlib.machinery, json, sys

    class CompiledExtFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        """Finds ``mmcv._ext`` as a full mmcv install has it (a compiled module in the mmcv package)."""

        def find_spec(self, name, path=None, target=None):
            if name != 'mmcv._ext':
                return None
            return importlib.machinery.ModuleSpec(name, self, origin='mmcv/_ext.cpython.so')

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            module.is_the_compiled_extension = True

    sys.meta_path.insert(0, CompiledExtFinder())
    import mmavs  # noqa: F401  (runs ensure_mmcv_ext)
    from mmavs.utils.compat import ensure_mmcv_ext, is_mmcv_ext_standin
    after_import = sys.modules.get('mmcv._ext')
    import mmcv
    import mmcv._ext
    ext = sys.modules['mmcv._ext']
    print(json.dumps(dict(standin_after_import=is_mmcv_ext_standin(after_import),
                          real=getattr(ext, 'is_the_compiled_extension', False), standin=is_mmcv_ext_standin(ext),
                          attribute_is_real=mmcv._ext is ext, installed_again=ensure_mmcv_ext())))
''')


def test_a_full_mmcv_install_keeps_its_compiled_extension():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    proc = subprocess.run([sys.executable, '-c', _FULL_MMCV], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == dict(standin_after_import=False, real=True, standin=False, attribute_is_real=True,
                          installed_again=False)


def test_the_standin_is_installed_only_when_the_extension_cannot_be_found(monkeypatch):
    import mmcv
    monkeypatch.delitem(sys.modules, 'mmcv._ext', raising=False)
    monkeypatch.setattr(mmcv, '_ext', None, raising=False)
    monkeypatch.setattr(compat.importlib.util, 'find_spec', lambda name: object())  # found: a full mmcv
    assert compat.ensure_mmcv_ext() is False and 'mmcv._ext' not in sys.modules
    monkeypatch.setattr(compat.importlib.util, 'find_spec', lambda name: None)  # mmcv-lite
    assert compat.ensure_mmcv_ext() is True
    ext = sys.modules['mmcv._ext']
    assert compat.is_mmcv_ext_standin(ext) and mmcv._ext is ext
    assert ext.__spec__.name == 'mmcv._ext'  # mmengine probes it with pkgutil
    with pytest.raises(NotImplementedError, match='"nms" is not available.*mmcv-lite'):
        ext.nms()
    assert compat.ensure_mmcv_ext() is False  # idempotent


def test_an_imported_extension_is_never_replaced(monkeypatch):
    real = type(sys)('mmcv._ext')
    monkeypatch.setitem(sys.modules, 'mmcv._ext', real)
    monkeypatch.setattr(compat.importlib.util, 'find_spec', lambda name: None)
    assert compat.ensure_mmcv_ext() is False
    assert sys.modules['mmcv._ext'] is real and not compat.is_mmcv_ext_standin(real)


# ----------------------------------------------------------------------------------------------------------
# HistoryBuffer pickling
# ----------------------------------------------------------------------------------------------------------
def _getstate_mmengine_0_10_7(self) -> dict:
    """``HistoryBuffer.__getstate__`` as in mmengine 0.10.7: the statistic methods go into the state."""
    self.__dict__.update(statistics_methods=self._statistics_methods)
    return self.__dict__


def _getstate_without_methods(self) -> dict:
    """A ``HistoryBuffer.__getstate__`` that leaves the statistic methods out (an MMEngine without the bug)."""
    return {k: v for k, v in self.__dict__.items() if k not in ('_statistics_methods', 'statistics_methods')}


def _weights_only_round_trip(buffer: HistoryBuffer) -> HistoryBuffer:
    f = io.BytesIO()
    torch.save({'buffer': buffer}, f)
    f.seek(0)
    return torch.load(f, weights_only=True)['buffer']


def test_history_buffer_is_patched_for_an_mmengine_that_pickles_its_methods(monkeypatch):
    monkeypatch.setattr(HistoryBuffer, '__getstate__', _getstate_mmengine_0_10_7)
    assert compat.pickles_default_statistics(HistoryBuffer)
    buffer = HistoryBuffer()
    buffer.update(2.0)
    buffer.update(4.0)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        _weights_only_round_trip(buffer)  # what the patch is for
    assert compat.patch_history_buffer_pickling() is True
    assert HistoryBuffer.__getstate__ is compat._history_buffer_getstate
    assert not compat.pickles_default_statistics(HistoryBuffer)
    loaded = _weights_only_round_trip(buffer)
    assert loaded.mean() == 3.0 and loaded.max() == 4.0 and loaded.current() == 4.0
    assert compat.patch_history_buffer_pickling() is True  # idempotent


def test_history_buffer_is_left_alone_by_an_mmengine_without_the_problem(monkeypatch):
    monkeypatch.setattr(HistoryBuffer, '__getstate__', _getstate_without_methods)
    assert not compat.pickles_default_statistics(HistoryBuffer)
    assert compat.patch_history_buffer_pickling() is False
    assert HistoryBuffer.__getstate__ is _getstate_without_methods


def test_custom_statistic_methods_still_pickle_after_the_patch(monkeypatch):
    monkeypatch.setattr(HistoryBuffer, '__getstate__', _getstate_mmengine_0_10_7)
    compat.patch_history_buffer_pickling()
    buffer = HistoryBuffer()
    # a user-registered statistic (HistoryBuffer.register_statistics writes this class-level dict)
    monkeypatch.setitem(HistoryBuffer._statistics_methods, 'median', len)
    state = HistoryBuffer.__getstate__(buffer)
    assert state['statistics_methods'] == {'median': len}


# ----------------------------------------------------------------------------------------------------------
# torch allow-list
# ----------------------------------------------------------------------------------------------------------
def test_safe_globals_are_registered_only_on_torch_with_an_allow_list(monkeypatch):
    patched = []
    monkeypatch.setattr(compat, 'patch_history_buffer_pickling', lambda: patched.append(True))
    monkeypatch.delattr(torch.serialization, 'add_safe_globals')  # torch < 2.4
    assert compat.register_checkpoint_safe_globals() is False and patched == []
    registered = []
    monkeypatch.setattr(torch.serialization, 'add_safe_globals', registered.extend, raising=False)
    assert compat.register_checkpoint_safe_globals() is True and patched == [True]
    import numpy as np
    assert {HistoryBuffer, np.ndarray, np.dtype} <= set(registered)
    assert not any(getattr(obj, '__name__', '') in ('getattr', 'eval', 'exec', 'system') for obj in registered)
