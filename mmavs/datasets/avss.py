"""AVSBench-semantic (AVSS): 71-class audio-visual semantic segmentation."""
import json
import logging
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from mmavs.registry import DATASETS

from .base_dataset import AVSBaseDataset, read_csv_rows
from .caption_file import CAPTION_FILES
from .palette import voc_palette

LABEL_TYPES: Tuple[str, ...] = ('v1s', 'v1m', 'v2')
#: Handlings of v2 training clips with fewer frames than ``max_frames`` (``AVSSDataset(short_v2_train=...)``).
SHORT_V2_TRAIN: Tuple[str, ...] = ('padding', 'legacy')
CSV_COLUMNS: Tuple[str, ...] = ('vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label')
_INDEX_RE = re.compile(r'^(0|[1-9][0-9]*)$')


def _numbered_files(folder: str, ext: str, what: str, vid: str) -> Dict[int, str]:
    """Map frame index -> file name for the files of ``folder`` named ``{index}.{ext}``.

    Files that do not end with the extension (e.g. ``.DS_Store``) are ignored; a file with the
    extension but another name is an error.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f'AVSSDataset: clip "{vid}": {what} folder "{folder}" does not exist')
    found: Dict[int, str] = {}
    for name in os.listdir(folder):
        if not name.endswith(ext):
            continue
        match = _INDEX_RE.match(name[:-len(ext)])
        if match is None:
            raise ValueError(
                f'AVSSDataset: clip "{vid}": unexpected {what} file "{osp.join(folder, name)}"; '
                f'expected names 0{ext}, 1{ext}, ...')
        found[int(match.group(1))] = name
    return found


@DATASETS.register_module()
class AVSSDataset(AVSBaseDataset):
    """AVSBench-semantic: v1s / v1m clips (5 frames) and v2 clips (10 frames), padded to ``max_frames``.

    Official layout (``data_root`` holds ``metadata.csv``)::

        metadata.csv            # columns by name: vid, uid, s_min, s_sec, a_obj, split, label
        label2idx.json          # 71 class names, "background" first (key order is the class index)
        {label}/{uid}/frames/{0..N-1}.jpg
        {label}/{uid}/audio.wav
        {label}/{uid}/labels_rgb/{0..N-1}.png      # colour masks, VOC bit-interleaved palette

    ``vid`` in ``data_info`` is the csv's ``uid`` (the folder name). Behaviour follows the official
    ``V2Dataset`` (OpenNLPLab/AVSBench ``avs_scripts/avss/color_dataloader.py``):

    * the number of real frames ``N`` is counted in the ``frames`` folder (5 for v1s / v1m, 10 for v2)
      and the clip is padded to ``max_frames`` (10) with ``frame_flags`` False and no ground truth;
    * ``gt_flags``: v1s **train** clips have ground truth on frame 0 only (the official
      ``gt_temporal_mask_flag`` is ``[1, 0, ..., 0]`` for v1s and the training loss is weighted by it);
      val / test v1s clips and all v1m / v2 clips have ground truth on all ``N`` real frames (the
      official evaluation uses every loaded mask, and asserts 5 or 10 masks outside training).
    * the frames and masks of a clip must be ``0..N-1``; for v1s train only ``0.png`` is required and
      other masks, if present, are not used. Otherwise the number of masks must equal ``N``.

    Differences from the official loader, on purpose: frame and mask names are checked (the official
    code counts every file in ``frames``), missing or extra files raise errors naming the clip, and
    padded frames carry ``gt_flags`` False (mask 255 after loading) instead of a mask of zeros. The
    official evaluation scores padded frames against an all-background mask, so a metric reproducing
    the published numbers must treat padded frames (``frame_flags`` False) as background.

    Short v2 training clips (fewer than ``max_frames`` frames; the official copy has some), by
    ``short_v2_train``:

    * ``'padding'`` (default): padded like the v1 clips: ``frame_flags`` / ``gt_flags`` False on the
      padded frames, so no loss is computed on them and the segmentor zeroes their audio features.
    * ``'legacy'``: as the official ``V2Dataset``, whose frame and GT flags are all ones for every v2 clip:
      the padded frames are trained as real frames. They are *blank* (``data_info['blank_flags']``):
      ``frame_flags`` and ``gt_flags`` True, no image file, an all-background mask (class 0, the official
      ``torch.zeros_like`` of a label map), an image that is 0 after normalisation (the official
      ``torch.zeros_like`` of the normalised frame, i.e. the mean colour; ``AVSDataPreprocessor`` does it),
      and their audio examples are kept (what ``LoadClipAudio`` reads or pads; the official VGGish pads a
      short wav with all-zero examples, ``pad_mode='zeros'``). Use it to reproduce published training
      exactly; it teaches the model that a grey frame is background whatever it hears. Other splits and
      label types are unchanged (the official evaluation asserts 10 masks for v2 clips).

    Captions (``with_text=True``): ``captions.json`` in ``data_root``, keyed by ``uid``, one caption
    per real frame and one per window of ``ceil(max_frames / 4)`` real frames (3: 2 segments for 5
    frames, 4 for 10); see :class:`AVSBaseDataset` and ``docs/captions.md``.

    ``metainfo``: ``classes`` (names of ``label2idx.json`` in key order; the values are ignored, as
    the official ``classes`` property does), ``palette`` (``voc_palette(len(classes))``).
    ``data_info`` adds ``label_type`` (v1s | v1m | v2); ``num_classes`` is ``len(classes)``.

    Every row of ``metadata.csv`` must have ``split`` in ('train', 'val', 'test') and ``label`` in
    ('v1s', 'v1m', 'v2'), compared exactly (case-sensitive, lowercase as in the official csv): any
    other value is a ValueError naming the csv, the line and the value, whichever split or label types
    are being loaded, so no row is dropped silently.

    Args:
        data_root (str): Folder holding ``metadata.csv``.
        label_types (Sequence[str]): Keep clips of these label types. Defaults to all three.
        max_frames (int): Clips are padded to this length. Defaults to 10.
        label_file (str): Class-name json, relative to ``data_root`` unless absolute.
            Defaults to 'label2idx.json'.
        data_prefix (dict, optional): Key ``clips``: folder holding the ``v1s`` / ``v1m`` / ``v2``
            folders. Defaults to ``data_root``.
        short_v2_train (str): 'padding' or 'legacy': how v2 training clips shorter than
            ``max_frames`` are padded (see above). Defaults to 'padding'.
        **kwargs: See :class:`AVSBaseDataset` (``split``, ``pipeline``, ``audio_shuffle_seed``, ...).
    """

    SUBSET = 'avss'
    DEFAULT_CAPTION_FILE = CAPTION_FILES['avss']
    DEFAULT_ANN_FILE = 'metadata.csv'
    DEFAULT_DATA_PREFIX = dict(clips='')
    METAINFO = dict(palette=voc_palette(71))

    def __init__(self,
                 data_root: str,
                 label_types: Sequence[str] = LABEL_TYPES,
                 max_frames: int = 10,
                 label_file: str = 'label2idx.json',
                 data_prefix: Optional[Dict[str, str]] = None,
                 metainfo: Optional[dict] = None,
                 short_v2_train: str = 'padding',
                 **kwargs) -> None:
        if isinstance(label_types, str):
            label_types = (label_types, )
        unknown = [t for t in label_types if t not in LABEL_TYPES]
        if unknown or not label_types:
            raise ValueError(
                f'AVSSDataset: label_types must be a non-empty subset of {LABEL_TYPES}, got '
                f'{tuple(label_types)}')
        if max_frames < 1:
            raise ValueError(f'AVSSDataset: max_frames must be positive, got {max_frames}')
        if short_v2_train not in SHORT_V2_TRAIN:
            raise ValueError(
                f'AVSSDataset: short_v2_train must be one of {SHORT_V2_TRAIN}, got {short_v2_train!r}')
        self.short_v2_train = short_v2_train
        self.label_types = tuple(label_types)
        self.max_frames = max_frames
        self.label_file = label_file if osp.isabs(label_file) else osp.join(data_root, label_file)
        self._user_classes = metainfo is not None and 'classes' in metainfo
        super().__init__(data_root=data_root, data_prefix=data_prefix, metainfo=metainfo, **kwargs)
        # With lazy_init the classes are still useful (visualiser, metric) before full_init.
        if 'classes' not in self._metainfo and osp.isfile(self.label_file):
            self._load_classes()

    # ----------------------------------------------------------------- metainfo
    def _load_classes(self) -> None:
        """Set ``classes`` and ``palette`` from ``label2idx.json`` (unless given in ``metainfo``)."""
        if self._user_classes:
            classes = tuple(self._metainfo['classes'])
        else:
            if not osp.isfile(self.label_file):
                raise FileNotFoundError(
                    f'AVSSDataset: class-name file "{self.label_file}" does not exist (AVSBench-semantic '
                    'ships it as label2idx.json next to metadata.csv). See docs/dataset_prepare.md.'
                )
            with open(self.label_file, encoding='utf-8') as f:
                try:
                    names = json.load(f, object_pairs_hook=OrderedDict)
                except json.JSONDecodeError as e:
                    raise ValueError(
                        f'AVSSDataset: "{self.label_file}" is not valid json: {e}') from None
            if not isinstance(names, dict) or not names:
                raise ValueError(
                    f'AVSSDataset: "{self.label_file}" must be a non-empty json object mapping class '
                    'names to indices')
            classes = tuple(names.keys())
            if classes[0] != 'background':
                print_log(
                    f'AVSSDataset: the first class of "{self.label_file}" is {classes[0]!r}, not '
                    '"background"; class 0 (black) is treated as background anyway.',
                    logger='current',
                    level=logging.WARNING)
            self._metainfo['classes'] = classes
        if 'palette' not in self._metainfo or len(self._metainfo['palette']) != len(classes):
            self._metainfo['palette'] = voc_palette(len(classes))

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        """Read ``label2idx.json`` and ``metadata.csv``; one ``data_info`` per clip of the split."""
        self._check_data_root()
        self._load_classes()
        return super().load_data_list()

    def _read_rows(self) -> List[Dict[str, str]]:
        return read_csv_rows(self.ann_file, required_columns=CSV_COLUMNS)

    def read_metadata(self) -> List[Dict[str, str]]:
        """Every row of ``metadata.csv``, after reading the classes (see :meth:`AVSBaseDataset.read_metadata`)."""
        self._check_data_root()
        self._load_classes()
        return self._read_rows()

    def _filter_columns(self) -> Dict[str, Tuple[str, ...]]:
        """``split`` and ``label``: every row must hold a known value in both (checked exactly)."""
        return {**super()._filter_columns(), 'label': LABEL_TYPES}

    def _select_rows(self, rows: List[Dict[str, str]]) -> List[Dict[str, str]]:
        return [
            row for row in rows if row['split'] == self.split and row['label'] in self.label_types
        ]

    def _selection_note(self) -> str:
        return f' with label types {self.label_types}'

    def parse_row(self, row: Dict[str, str]) -> dict:
        """Build the ``data_info`` of one csv row (see the class docstring for the rules)."""
        uid, label = row['uid'], row['label']
        if not uid:
            raise ValueError(
                f'{self.ann_file} line {row["#line"]}: a row of split {self.split!r} has an empty '
                f'uid: {row}')
        clip_dir = osp.join(self.data_prefix['clips'], label, uid)
        frame_dir = osp.join(clip_dir, 'frames')
        mask_dir = osp.join(clip_dir, 'labels_rgb')

        frames = _numbered_files(frame_dir, '.jpg', 'frame', uid)
        num_real = len(frames)
        if num_real == 0:
            raise FileNotFoundError(f'AVSSDataset: clip "{uid}": no .jpg frame in "{frame_dir}"')
        if num_real > self.max_frames:
            raise ValueError(
                f'AVSSDataset: clip "{uid}" has {num_real} frames in "{frame_dir}", more than '
                f'max_frames={self.max_frames}')
        for index in range(num_real):
            if index not in frames:
                raise FileNotFoundError(
                    f'AVSSDataset: clip "{uid}": frame file "{osp.join(frame_dir, f"{index}.jpg")}" '
                    f'does not exist ({num_real} frames found, expected 0.jpg..{num_real - 1}.jpg)')
        frame_paths: List[Optional[str]] = [
            osp.join(frame_dir, f'{i}.jpg') for i in range(num_real)
        ]

        first_only = self.split == 'train' and label == 'v1s'
        num_gt = 1 if first_only else num_real
        mask_paths: List[Optional[str]] = [osp.join(mask_dir, f'{i}.png') for i in range(num_gt)]
        if self.check_files and self.with_gt:
            masks = _numbered_files(mask_dir, '.png', 'mask', uid)
            for index in range(num_gt):
                if index not in masks:
                    raise FileNotFoundError(
                        f'AVSSDataset: clip "{uid}": mask file "{mask_paths[index]}" does not exist'
                    )
            if not first_only and len(masks) != num_real:
                raise ValueError(
                    f'AVSSDataset: clip "{uid}": {num_real} frames in "{frame_dir}" but {len(masks)} '
                    f'masks in "{mask_dir}" (frame/mask count mismatch)')

        pad = self.max_frames - num_real
        frame_paths += [None] * pad
        mask_paths += [None] * (self.max_frames - num_gt)
        wav, _ = self._audio_paths(uid, osp.join(clip_dir, 'audio.wav'), None)
        info = self._make_info(
            uid,
            frame_paths,
            mask_paths,
            wav,
            None,
            num_classes=len(self._metainfo['classes']),
            label_type=label)
        if pad and self.short_v2_train == 'legacy' and self.split == 'train' and label == 'v2':
            info['blank_flags'] = [False] * num_real + [True] * pad
            info['frame_flags'] = [True] * self.max_frames
            info['gt_flags'] = [self.with_gt] * self.max_frames
        return info
