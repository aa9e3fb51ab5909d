"""mmavs.utils.cpu_allocator: glibc keeps freed feature maps instead of re-faulting them, unless told not to."""
import json
import os
import platform
import subprocess
import sys

import pytest

from mmavs.utils import cpu_allocator, cpu_allocator_tuned, tune_cpu_allocator

#: Runs in a fresh interpreter: ``import mmavs`` (which tunes the allocator), then conv / ReLU / sum passes on
#: 8 MB feature maps like a training step's, counting the minor page faults per pass in five windows of ten
#: passes. The quietest window is the steady state: a heap that grows once more in some window (about 1 run in 8
#: here, 2,000-4,000 faults once) is not the per-pass re-faulting the tuning stops.
_PASSES = """
import json, resource, torch
import mmavs
from mmavs.utils import cpu_allocator_tuned
torch.manual_seed(0)
conv = torch.nn.Conv2d(64, 64, 3, padding=1)
x = torch.randn(8, 64, 64, 64)
def step():
    y = conv(x)
    (torch.relu(y) + y).sum().item()
for _ in range(3):
    step()
windows = []
for _ in range(5):
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    windows.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10)
print(json.dumps(dict(tuned=cpu_allocator_tuned(), faults=min(windows))))
"""


def _run(**env) -> dict:
    mine = (*cpu_allocator.USER_SETTINGS, cpu_allocator.OPT_OUT_ENV)
    clean = {k: v for k, v in os.environ.items() if k not in mine}
    out = subprocess.run([sys.executable, '-c', _PASSES], env=dict(clean, **env), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _glibc() -> bool:
    return platform.system() == 'Linux' and platform.libc_ver()[0] == 'glibc'


def test_import_stops_the_page_faults_of_freed_feature_maps():
    tuned, plain = _run(), _run(MMAVS_MALLOC_TUNING='0')
    assert not plain['tuned']
    assert tuned['tuned'] is _glibc()  # elsewhere (macOS, musl) nothing is touched
    if tuned['tuned']:
        # 8 MB maps above glibc's default thresholds: fresh pages every pass, unless the memory is kept
        assert plain['faults'] > 1000
        assert tuned['faults'] < plain['faults'] / 50


@pytest.mark.parametrize('name, value', [('MMAVS_MALLOC_TUNING', 'off'), ('MALLOC_TRIM_THRESHOLD_', '1048576'),
                                         ('GLIBC_TUNABLES', 'glibc.malloc.mmap_threshold=65536'),
                                         ('LD_PRELOAD', '/usr/lib/libjemalloc.so.2')])
def test_the_users_own_choice_is_left_alone(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert tune_cpu_allocator() is False


def test_this_process_is_tuned_unless_a_reason_says_otherwise():
    reason = cpu_allocator._reason_to_skip()
    assert cpu_allocator_tuned() is (reason is None)
    assert tune_cpu_allocator() is (reason is None)
