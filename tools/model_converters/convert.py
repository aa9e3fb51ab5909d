"""Convert an official checkpoint to the mmavs layout: one command for every family.

Usage: ``python tools/model_converters/convert.py --family {pvt_v2,resnet,vggish,clip} SRC DST [--no-hash-check]``

The checkpoint is read safely (``torch.load(weights_only=True)``; OpenAI TorchScript archives as data by
``mmavs.models.utils.torchscript_archive``, never with ``torch.jit.load``), its family is verified, the keys
are converted in memory (``mmavs.models.utils.checkpoint_keys``), checked to load strictly into the matching
mmavs module, and written as ``{'state_dict', 'meta'}`` to DST (``mmavs.models.utils.checkpoint_converter``).
Keys that mmavs does not use (e.g. classifier heads) are listed in ``meta['dropped']``. Configs accept the
output or the official file in ``init_cfg=dict(type='Pretrained', checkpoint=...)``; see ``docs/model_zoo.md``.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmavs.models.utils.converter_cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
