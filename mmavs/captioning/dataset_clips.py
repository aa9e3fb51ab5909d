"""The clips of a dataset to caption, listed through the mmavs dataset classes (files checked)."""
from typing import Dict, Iterable, List, Mapping, Optional

from mmavs.datasets import AVSSDataset, MS3Dataset, S4Dataset
from mmavs.datasets.caption_file import num_real_frames
from mmavs.datasets.caption_windows import default_segment_window

from .base import ClipToCaption


def list_clips(subset: str,
               data_root: str,
               splits: Iterable[str] = ('train', 'val', 'test'),
               segment_window: Optional[int] = None,
               dataset_kwargs: Optional[Mapping] = None) -> List[ClipToCaption]:
    """The clips of a dataset, read with the mmavs dataset class of the subset (files checked).

    Captions describe frames only, so the datasets are read with ``with_gt=False``: an unlabeled copy
    (``videos_to_avsbench.py`` without masks) is captioned like a labeled one, and mask files are not opened.

    Args:
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        data_root (str): The dataset's data root (as for the dataset classes).
        splits (Iterable[str]): Splits to list. Defaults to all three.
        segment_window (int, optional): Window; defaults to the subset's
            (:func:`mmavs.datasets.caption_windows.default_segment_window`).
        dataset_kwargs (Mapping, optional): Extra dataset arguments (e.g. ``max_frames`` for AVSS).

    Returns:
        list[ClipToCaption]: In split order, then csv order; a clip listed in several splits once.
    """
    classes = dict(s4=S4Dataset, ms3=MS3Dataset, avss=AVSSDataset)
    if subset not in classes:
        raise ValueError(f'unknown subset {subset!r}; expected one of {sorted(classes)}')
    clips: Dict[str, ClipToCaption] = {}
    for split in splits:
        kwargs = dict(dict(with_gt=False), **dict(dataset_kwargs or {}))
        dataset = classes[subset](data_root=data_root, split=split, lazy_init=True, **kwargs)
        for info in dataset.load_data_list():
            vid = info['vid']
            count = num_real_frames(info['frame_paths'], vid)
            window = segment_window or default_segment_window(subset, info['num_frames'])
            clips.setdefault(vid, ClipToCaption(vid, list(info['frame_paths'][:count]), window))
    return list(clips.values())
