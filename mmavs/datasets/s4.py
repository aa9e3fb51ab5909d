"""AVSBench-object single-source subset (S4)."""
import os.path as osp
from typing import Dict, List

from mmavs.registry import DATASETS

from .base_dataset import AVSBaseDataset, object_data_prefix, read_csv_rows
from .caption_file import CAPTION_FILES


@DATASETS.register_module()
class S4Dataset(AVSBaseDataset):
    """S4: one sounding object per clip, 5 frames at 1 fps, binary masks.

    Official layout (``data_root`` is the ``Single-source`` folder)::

        s4_meta_data.csv        # header row; by position: 0 video name, 1 start time, 2 category, 3 split
        s4_data/visual_frames/{split}/{category}/{vid}/{vid}_{1..5}.png
        s4_data/gt_masks/{split}/{category}/{vid}/{vid}_{1..5}.png     # train: only {vid}_1.png
        s4_data/audio_log_mel/{split}/{category}/{vid}.pkl
        s4_data/audio_wav/{split}/{category}/{vid}.wav

    As in the official dataloader, the video name and the category are read by position (columns 0
    and 2) and the split by the header name ``split``. Split values are compared exactly
    (case-sensitive): every row must say 'train', 'val' or 'test', otherwise a ValueError names the
    csv, the line and the value. Training clips carry ground truth on the first
    frame only (``gt_flags = [T, F, F, F, F]``); val / test clips on all five.

    Captions (``with_text=True``): ``s4_captions.json`` in ``data_root``, 5 frame and 2 segment
    captions per clip (window 3); see :class:`AVSBaseDataset` and ``docs/captions.md``.

    ``metainfo``: ``classes`` ('background', 'sounding object'), ``palette`` (black, white) and
    ``categories`` (the sorted category names of the csv, all splits). ``data_info`` adds ``category``;
    ``num_classes`` is 1 (one logit per pixel).

    Args:
        data_prefix (dict, optional): Keys ``frame``, ``mask``, ``audio_wav``, ``audio_pkl``; defaults
            ``s4_data/visual_frames``, ``s4_data/gt_masks``, ``s4_data/audio_wav``,
            ``s4_data/audio_log_mel``.
        **kwargs: See :class:`AVSBaseDataset` (``data_root``, ``split``, ``pipeline``, ...).
    """

    SUBSET = 's4'
    NUM_FRAMES = 5
    DEFAULT_CAPTION_FILE = CAPTION_FILES['s4']
    DEFAULT_ANN_FILE = 's4_meta_data.csv'
    DEFAULT_DATA_PREFIX = object_data_prefix('s4_data')

    def _read_rows(self) -> List[Dict[str, str]]:
        rows = read_csv_rows(self.ann_file, required_columns=('split', ), min_columns=4)
        self._metainfo['categories'] = tuple(sorted({row['#2'] for row in rows}))
        return rows

    def parse_row(self, row: Dict[str, str]) -> dict:
        """Build the ``data_info`` of one csv row (see the class docstring for the layout)."""
        vid, category = row['#0'], row['#2']
        if not vid or not category:
            raise ValueError(
                f'{self.ann_file} line {row["#line"]}: a row of split {self.split!r} has an empty '
                f'video name or category: {row}')
        rel = osp.join(self.split, category)
        frame_dir = osp.join(self.data_prefix['frame'], rel, vid)
        mask_dir = osp.join(self.data_prefix['mask'], rel, vid)
        frame_paths = [osp.join(frame_dir, f'{vid}_{i}.png') for i in range(1, self.NUM_FRAMES + 1)]
        num_gt = 1 if self.split == 'train' else self.NUM_FRAMES
        mask_paths = [
            osp.join(mask_dir, f'{vid}_{i}.png') if i <= num_gt else None
            for i in range(1, self.NUM_FRAMES + 1)
        ]
        self._check_clip_files(vid, 'frame', frame_paths)
        self._check_clip_files(vid, 'mask', mask_paths)
        wav, pkl = self._prefixed_audio_paths(vid, rel)
        return self._make_info(
            vid, frame_paths, mask_paths, wav, pkl, num_classes=1, category=category)
