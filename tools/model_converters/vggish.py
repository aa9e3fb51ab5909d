"""Convert the torchvggish VGGish checkpoint (vggish-10086976.pth) to the mmavs layout.

Usage: ``python tools/model_converters/vggish.py SRC DST [--no-hash-check]``, the same as
``python tools/model_converters/convert.py --family vggish SRC DST [--no-hash-check]`` (kept for existing commands).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmavs.models.utils.converter_cli import family_main  # noqa: E402

main = family_main('vggish')

if __name__ == '__main__':
    sys.exit(main())
