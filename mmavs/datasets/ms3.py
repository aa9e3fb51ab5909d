"""AVSBench-object multi-source subset (MS3, also called M3)."""
import os.path as osp
from typing import Dict, List

from mmavs.registry import DATASETS

from .base_dataset import AVSBaseDataset, object_data_prefix, read_csv_rows
from .caption_file import CAPTION_FILES


@DATASETS.register_module()
class MS3Dataset(AVSBaseDataset):
    """MS3: several sounding objects per clip, 5 frames, all annotated, binary masks.

    Official layout (``data_root`` is the ``Multi-sources`` folder)::

        ms3_meta_data.csv       # header row; by position: 0 video id; split by the header name 'split'
        ms3_data/visual_frames/{vid}/{vid}.mp4_{1..5}.png       # no split folder; ".mp4" in the name
        ms3_data/gt_masks/{split}/{vid}/{vid}_{1..5}.png
        ms3_data/audio_log_mel/{split}/{vid}.pkl
        ms3_data/audio_wav/{split}/{vid}.wav

    Split values are compared exactly (case-sensitive): every row must say 'train', 'val' or 'test',
    otherwise a ValueError names the csv, the line and the value.

    Captions (``with_text=True``): ``ms3_captions.json`` in ``data_root``, 5 frame and 2 segment
    captions per clip (window 3); see :class:`AVSBaseDataset` and ``docs/captions.md``.

    ``metainfo``: ``classes`` ('background', 'sounding object'), ``palette`` (black, white);
    ``num_classes`` is 1.

    Args:
        data_prefix (dict, optional): Keys ``frame``, ``mask``, ``audio_wav``, ``audio_pkl``; defaults
            ``ms3_data/visual_frames``, ``ms3_data/gt_masks``, ``ms3_data/audio_wav``,
            ``ms3_data/audio_log_mel``.
        **kwargs: See :class:`AVSBaseDataset` (``data_root``, ``split``, ``pipeline``, ...).
    """

    SUBSET = 'ms3'
    NUM_FRAMES = 5
    DEFAULT_CAPTION_FILE = CAPTION_FILES['ms3']
    DEFAULT_ANN_FILE = 'ms3_meta_data.csv'
    DEFAULT_DATA_PREFIX = object_data_prefix('ms3_data')

    def _read_rows(self) -> List[Dict[str, str]]:
        return read_csv_rows(self.ann_file, required_columns=('split', ), min_columns=2)

    def parse_row(self, row: Dict[str, str]) -> dict:
        """Build the ``data_info`` of one csv row (see the class docstring for the layout)."""
        vid = row['#0']
        if not vid:
            raise ValueError(
                f'{self.ann_file} line {row["#line"]}: a row of split {self.split!r} has an empty '
                f'video id: {row}')
        frame_dir = osp.join(self.data_prefix['frame'], vid)
        mask_dir = osp.join(self.data_prefix['mask'], self.split, vid)
        frame_paths = [
            osp.join(frame_dir, f'{vid}.mp4_{i}.png') for i in range(1, self.NUM_FRAMES + 1)
        ]
        mask_paths = [osp.join(mask_dir, f'{vid}_{i}.png') for i in range(1, self.NUM_FRAMES + 1)]
        self._check_clip_files(vid, 'frame', frame_paths)
        self._check_clip_files(vid, 'mask', mask_paths)
        wav, pkl = self._prefixed_audio_paths(vid, self.split)
        return self._make_info(vid, frame_paths, mask_paths, wav, pkl, num_classes=1)
