"""Convert the official PVT-v2 checkpoint (pvt_v2_b0..b5.pth, whai362/PVT) to the mmavs layout.

Usage: ``python tools/model_converters/pvt_v2.py SRC DST [--no-hash-check]``, the same as
``python tools/model_converters/convert.py --family pvt_v2 SRC DST [--no-hash-check]`` (kept for existing commands).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmavs.models.utils.converter_cli import family_main  # noqa: E402

main = family_main('pvt_v2')

if __name__ == '__main__':
    sys.exit(main())
