"""Convert an OpenAI CLIP (ViT-B-16.pt) / open_clip checkpoint to an mmavs text-tower checkpoint.

Usage: ``python tools/model_converters/clip.py SRC DST [--no-hash-check]``, the same as
``python tools/model_converters/convert.py --family clip SRC DST [--no-hash-check]`` (kept for existing commands).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmavs.models.utils.converter_cli import family_main  # noqa: E402

main = family_main('clip')

if __name__ == '__main__':
    sys.exit(main())
