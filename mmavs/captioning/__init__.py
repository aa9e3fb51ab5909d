"""Offline caption generation for MIT: captioner backends and the caption-file writer.

Used by ``tools/dataset_converters/generate_captions.py``; not needed at training time (the datasets read
the written file with :mod:`mmavs.datasets.caption_file`).

A captioner turns one clip (:class:`ClipToCaption`: id, paths of its real frames, segment window) into
an entry of the caption-file format (``{"video": str, "segments": [str], "frames": [str]}``). Backends
are registered in :data:`mmavs.registry.CAPTIONERS`:

- ``'import'`` (:class:`ImportCaptioner`): captions written elsewhere, from a JSON file in the caption
  format or a CSV with columns ``clip_id, level, index, caption`` (:func:`read_caption_csv`).
- ``'local-model'`` (:class:`LocalModelCaptioner`): an image-captioning model saved in a local folder
  (Hugging Face ``transformers`` format, e.g. a ``VisionEncoderDecoderModel`` such as ViT-GPT2 or BLIP);
  captions every real frame, composes segment and video captions from the frame captions. Needs the
  optional dependency ``transformers``; nothing is downloaded.

:func:`generate_caption_file` lists the clips of a dataset through the mmavs dataset classes
(:func:`list_clips`), runs a captioner on the clips not yet in the output file (resumable), and writes
the file atomically every ``save_every`` clips and at the end.
"""
from mmavs.registry import CAPTIONERS

from .base import BaseCaptioner, ClipToCaption
from .builder import build_captioner, captioner_names
from .caption_csv import read_caption_csv
from .caption_writer import generate_caption_file
from .dataset_clips import list_clips
from .import_captioner import ImportCaptioner
from .local_model_captioner import LocalModelCaptioner, compose_captions

__all__ = [
    'CAPTIONERS', 'BaseCaptioner', 'ClipToCaption', 'ImportCaptioner', 'LocalModelCaptioner',
    'build_captioner', 'captioner_names', 'compose_captions', 'generate_caption_file', 'list_clips',
    'read_caption_csv'
]
