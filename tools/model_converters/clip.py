"""Convert an OpenAI CLIP (ViT-B-16.pt) / open_clip checkpoint to an mmavs text-tower checkpoint.

Usage: ``python tools/model_converters/clip.py SRC DST [--no-hash-check]``

The checkpoint is read safely (``torch.load(weights_only=True)``; OpenAI TorchScript archives as data by
``mmavs.models.utils.torchscript_archive``, never with ``torch.jit.load``), its family is verified, the
keys are converted in memory (see ``mmavs.models.utils.checkpoint_loading``), checked to load strictly into
the matching mmavs module, and written as ``{'state_dict', 'meta'}`` to DST. Keys that mmavs does not use
(e.g. classifier heads) are listed in ``meta['dropped']``. Configs accept the output or the official file
in ``init_cfg=dict(type='Pretrained', checkpoint=...)``; see ``docs/model_zoo.md``.
"""
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmavs.models.utils.converter_cli import run_converter  # noqa: E402

TARGET = 'clip_text'


def main(argv: Optional[List[str]] = None) -> int:
    """Run the conversion; returns the process exit code."""
    return run_converter(TARGET, __doc__.splitlines()[0], argv)


if __name__ == '__main__':
    sys.exit(main())
