"""Install mmavs, the OpenMMLab toolbox for audio-visual segmentation.

``pip install -e .`` installs the runtime requirements as ranges (``requirements/runtime.txt``) and leaves
torch, torchaudio and mmcv to you: mmcv comes as full mmcv (with compiled ops) or as mmcv-lite, two
distributions of the same ``mmcv`` package, and ``import mmavs`` checks that one of the supported range is
there. Optional parts are extras: ``[video]``, ``[analysis]``, ``[captioning]``, ``[tests]``, ``[all]``.
The fresh-machine path (``tools/misc/setup_env.sh``) installs exact pins from ``requirements/cpu.txt`` and
``requirements/fresh_machine.txt`` instead.
"""
import os.path as osp
import re

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
EXTRAS = ('video', 'analysis', 'captioning', 'tests')


def _version() -> str:
    with open(osp.join(ROOT, 'mmavs', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def _requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (comments and blank lines left out)."""
    with open(osp.join(ROOT, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def _readme() -> str:
    path = osp.join(ROOT, 'README.md')
    if not osp.exists(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


extras_require = {name: _requirements(name) for name in EXTRAS}
extras_require['all'] = sorted({req for name in EXTRAS for req in extras_require[name]})

setup(
    name='mmavs',
    version=_version(),
    description='OpenMMLab toolbox for audio-visual segmentation (AVSBench, ICF)',
    long_description=_readme(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.8',
    install_requires=_requirements('runtime'),
    extras_require=extras_require,
    zip_safe=False,
)
