"""Which AVSBench subset a folder holds, and the files every metadata row of it should have.

The file lists come from the datasets themselves (:meth:`~mmavs.datasets.AVSBaseDataset.parse_row` with
``check_files=False``), so the checker expects exactly the files the training and test readers open.
"""
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Type

from ..avss import AVSSDataset
from ..base_dataset import SPLITS, AVSBaseDataset
from ..ms3 import MS3Dataset
from ..s4 import S4Dataset
from .report import Problem

#: Dataset class of each subset.
DATASETS: Dict[str, Type[AVSBaseDataset]] = {'s4': S4Dataset, 'ms3': MS3Dataset, 'avss': AVSSDataset}
#: Files that mark each subset's ``data_root`` (all must be present).
MARKERS: Dict[str, Tuple[str, ...]] = {
    's4': ('s4_meta_data.csv', ),
    'ms3': ('ms3_meta_data.csv', ),
    'avss': ('metadata.csv', 'label2idx.json'),
}
#: The config base of each subset (for messages).
CONFIG_BASES: Dict[str, str] = {
    's4': 'configs/_base_/datasets/s4.py',
    'ms3': 'configs/_base_/datasets/m3.py',
    'avss': 'configs/_base_/datasets/avss.py',
}


def detect_subset(root: str) -> str:
    """Recognise the subset held by ``root`` (the folder a config's ``data_root`` names).

    Raises:
        FileNotFoundError: If ``root`` does not exist, or holds no subset; when a subset is found one
            level down (``root`` one level too high), the message names the folder(s) to pass instead.
        ValueError: If ``root`` holds the marker files of more than one subset.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'dataset folder "{root}" does not exist')
    found = [s for s, names in MARKERS.items() if all(osp.isfile(osp.join(root, n)) for n in names)]
    if len(found) > 1:
        raise ValueError(f'"{root}" holds the metadata of several subsets {found}; pass --subset')
    if found:
        return found[0]
    below = []
    for child in sorted(os.listdir(root)):
        path = osp.join(root, child)
        for subset, names in MARKERS.items():
            if osp.isdir(path) and all(osp.isfile(osp.join(path, n)) for n in names):
                below.append(f'"{path}" ({subset})')
    if below:
        raise FileNotFoundError(
            f'"{root}" is one level too high: it holds no metadata csv, but its sub-folder(s) '
            f'{", ".join(below)} do; pass that folder (the one a config\'s data_root names)')
    expected = '; '.join(f'{s}: {", ".join(n)}' for s, n in MARKERS.items())
    raise FileNotFoundError(f'"{root}" holds no AVSBench subset: none of the metadata files ({expected}) is there')


@dataclass
class ClipTask:
    """The files of one clip, to be checked (picklable, for worker processes).

    Attributes:
        subset (str): 's4', 'ms3' or 'avss'.
        split (str): The clip's split.
        clip (str): The clip id.
        frames (list[str]): Frame files (real frames only).
        masks (list[tuple[int, str]]): ``(frame index, mask file)`` of the frames with ground truth.
        audio (dict[str, str]): 'wav' / 'pkl' -> file, for the kinds the layout has.
        num_classes (int): Palette size of colour masks (AVSS); 1 for binary masks.
        mask_folder (str, optional): AVSS: the ``labels_rgb`` folder (its PNG count is checked).
        expected_masks (int, optional): AVSS: how many PNGs ``mask_folder`` must hold.
    """

    subset: str
    split: str
    clip: str
    frames: List[str]
    masks: List[Tuple[int, str]]
    audio: Dict[str, str]
    num_classes: int = 1
    mask_folder: Optional[str] = None
    expected_masks: Optional[int] = None


@dataclass
class Inventory:
    """What the metadata of a copy lists: the clips to check and the problems found on the way."""

    tasks: List[ClipTask] = field(default_factory=list)
    problems: List[Problem] = field(default_factory=list)
    rows_per_split: Counter = field(default_factory=Counter)
    notes: List[str] = field(default_factory=list)


def _datasets(subset: str, root: str, with_gt: bool) -> Dict[str, AVSBaseDataset]:
    """One lazily initialised dataset per split (none of them reads or checks files yet)."""
    cls = DATASETS[subset]
    return {
        split: cls(data_root=root, split=split, check_files=False, audio_keys=(), with_gt=with_gt,
                   lazy_init=True, serialize_data=False)
        for split in SPLITS
    }


def _task(subset: str, split: str, info: dict, num_classes: int) -> ClipTask:
    audio = {kind: info[key] for kind, key in (('wav', 'audio_wav_path'), ('pkl', 'audio_pkl_path'))
             if info[key] is not None}
    frames = [p for p in info['frame_paths'] if p is not None]
    masks = [(i, p) for i, p in enumerate(info['mask_paths']) if p is not None]
    task = ClipTask(subset, split, info['vid'], frames, masks, audio, num_classes)
    if subset == 'avss' and masks:
        task.mask_folder = osp.dirname(masks[0][1])
        first_only = split == 'train' and info['label_type'] == 'v1s'
        task.expected_masks = None if first_only else len(frames)
    return task


def _avss_frame_count_problem(ann_file: str, row: Dict[str, str], split: str, num: int) -> Optional[Problem]:
    """AVSS: v1s / v1m clips have 5 frames, v2 clips 10 (v2 training clips may have fewer, see the notes)."""
    label = row['label']
    expected = 5 if label in ('v1s', 'v1m') else 10
    if num == expected or (label == 'v2' and split == 'train' and num < expected):
        return None
    return Problem('error', 'frame_count', ann_file,
                   f'clip "{row["uid"]}" ({label}, {split}) has {num} frames; {label} clips have {expected}',
                   split, row['uid'])


def inventory(subset: str, root: str, with_gt: bool = True) -> Inventory:
    """Read every metadata row of the copy and list the files each clip must have.

    ``with_gt=False``: an unlabeled copy (e.g. written by ``videos_to_avsbench.py`` without masks); no mask
    is expected, as ``AVSBaseDataset(with_gt=False)`` reads none.

    Rows with an unknown split (or AVSS label), duplicate clip ids and rows whose clip folder cannot be
    listed are problems of the inventory; the clip is then not checked further.
    """
    datasets = _datasets(subset, root, with_gt)
    any_ds = datasets['train']
    result = Inventory()
    try:
        rows = any_ds.read_metadata()
    except (FileNotFoundError, ValueError) as e:
        result.problems.append(Problem('error', 'metadata', any_ds.ann_file, str(e)))
        return result
    accepted = any_ds.accepted_values()
    seen: Counter = Counter()
    listed = set()  # clip ids of the rows some split reads (their folders are not orphans)
    short_v2 = 0
    for row in rows:
        where = f'line {row["#line"]}'
        bad = [(c, row[c]) for c, values in accepted.items() if row[c] not in values]
        if bad:
            column, value = bad[0]
            result.problems.append(Problem(
                'error', 'metadata', any_ds.ann_file,
                f'{where}: unknown {column} value {value!r}; accepted values are {accepted[column]} '
                '(compared exactly: case matters); the row is not read by any split'))
            continue
        split = row['split']
        ds = datasets[split]
        result.rows_per_split[split] += 1
        listed.add(row.get('uid', row['#0']))
        try:
            info = ds.parse_row(row)
        except (FileNotFoundError, ValueError) as e:
            result.problems.append(Problem('error', 'clip_files', any_ds.ann_file, f'{where}: {e}', split,
                                           row.get('uid', row['#0'])))
            continue
        vid = info['vid']
        seen[vid] += 1
        if seen[vid] > 1:
            result.problems.append(Problem('error', 'duplicate', any_ds.ann_file,
                                           f'{where}: clip "{vid}" is listed more than once', split, vid))
            continue
        num_classes = len(ds.metainfo['classes']) if subset == 'avss' else 1
        task = _task(subset, split, info, num_classes)
        if subset == 'avss':
            problem = _avss_frame_count_problem(any_ds.ann_file, row, split, len(task.frames))
            if problem is not None:
                result.problems.append(problem)
            short_v2 += row['label'] == 'v2' and len(task.frames) < 10
        result.tasks.append(task)
    if short_v2:
        result.notes.append(
            f'{short_v2} v2 training clip(s) have fewer than 10 frames: AVSSDataset flags their padded frames '
            'off (no loss); the official loader trains them as real frames with an all-background mask, '
            "which AVSSDataset(short_v2_train='legacy') reproduces")
    result.problems.extend(_orphans(subset, root, listed))
    return result


def _clip_folders(subset: str, root: str) -> Dict[str, str]:
    """Clip id -> folder, of every clip folder on disk (frames for S4 / MS3, clip folders for AVSS)."""
    folders: Dict[str, str] = {}
    if subset == 's4':
        base = osp.join(root, 's4_data', 'visual_frames')
        for split in SPLITS:
            for category in _subdirs(osp.join(base, split)):
                for vid in _subdirs(osp.join(base, split, category)):
                    folders[vid] = osp.join(base, split, category, vid)
    elif subset == 'ms3':
        base = osp.join(root, 'ms3_data', 'visual_frames')
        folders = {vid: osp.join(base, vid) for vid in _subdirs(base)}
    else:
        for label in ('v1s', 'v1m', 'v2'):
            folders.update({uid: osp.join(root, label, uid) for uid in _subdirs(osp.join(root, label))})
    return folders


def _subdirs(folder: str) -> List[str]:
    if not osp.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if osp.isdir(osp.join(folder, n)))


def _orphans(subset: str, root: str, listed: set) -> List[Problem]:
    """Clip folders on disk that no metadata row lists (they are never read)."""
    return [
        Problem('warning', 'not_in_metadata', path, f'clip folder of "{vid}" is not listed in the metadata csv '
                '(no split reads it)', clip=vid)
        for vid, path in sorted(_clip_folders(subset, root).items()) if vid not in listed
    ]
