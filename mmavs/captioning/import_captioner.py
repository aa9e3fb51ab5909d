"""The ``'import'`` backend: captions written elsewhere, read from a JSON or CSV file."""
import os.path as osp

from mmavs.datasets.caption_file import load_caption_file
from mmavs.registry import CAPTIONERS

from .base import BaseCaptioner, ClipToCaption
from .caption_csv import read_caption_csv


@CAPTIONERS.register_module(name='import')
class ImportCaptioner(BaseCaptioner):
    """Captions taken from an existing file.

    Accepted files:

    - ``.json``: the caption-file format itself (``{clip_id: {"video", "segments", "frames"}}``);
    - ``.csv``: header ``clip_id,level,index,caption``, one row per caption (:mod:`.caption_csv`).

    Args:
        source (str): The JSON or CSV file.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        ValueError: Malformed file (the file, line and clip are named).
    """

    def __init__(self, source: str) -> None:
        if not osp.isfile(source):
            raise FileNotFoundError(f'ImportCaptioner: caption source "{source}" does not exist')
        self.source = source
        ext = osp.splitext(source)[1].lower()
        if ext == '.json':
            self.captions = load_caption_file(source)
        elif ext == '.csv':
            self.captions = read_caption_csv(source)
        else:
            raise ValueError(
                f'ImportCaptioner: caption source "{source}" must be a .json or .csv file')

    def caption_clip(self, clip: ClipToCaption) -> dict:
        """Return the imported entry of the clip (counts are checked by the caller).

        Raises:
            KeyError: The source has no captions for the clip.
        """
        if clip.clip_id not in self.captions:
            raise KeyError(
                f'ImportCaptioner: caption source "{self.source}" has no captions for clip '
                f'"{clip.clip_id}"')
        entry = self.captions[clip.clip_id]
        return dict(video=entry['video'], segments=list(entry['segments']),
                    frames=list(entry['frames']))
