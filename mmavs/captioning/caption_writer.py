"""Write the caption file of a dataset with a captioner, resuming a partial file."""
import os.path as osp
from typing import Callable, Dict, Iterable, Mapping, Optional

from mmengine.utils import ProgressBar

from mmavs.datasets.caption_file import CAPTION_FILES, dump_caption_file, load_caption_file, validate_clip_captions

from .base import BaseCaptioner
from .dataset_clips import list_clips


def generate_caption_file(subset: str,
                          data_root: str,
                          captioner: BaseCaptioner,
                          out_file: Optional[str] = None,
                          splits: Iterable[str] = ('train', 'val', 'test'),
                          segment_window: Optional[int] = None,
                          save_every: int = 20,
                          overwrite: bool = False,
                          dataset_kwargs: Optional[Mapping] = None,
                          progress: bool = True,
                          on_saved: Optional[Callable[[int], None]] = None) -> Dict[str, dict]:
    """Write the caption file of a dataset with a captioner; resume a partial file.

    Clips already in ``out_file`` are kept as they are (after checking their counts) and not captioned
    again, unless ``overwrite``. Each new entry is checked (one caption per real frame, one per window)
    before it is stored; the file is rewritten atomically every ``save_every`` new clips and at the end,
    so an interrupted run loses at most ``save_every - 1`` clips and is resumed by running again.

    Args:
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        data_root (str): The dataset's data root.
        captioner (BaseCaptioner): The backend.
        out_file (str, optional): Output JSON. Defaults to the subset's caption file in ``data_root``.
        splits (Iterable[str]): Splits whose clips are captioned. Defaults to all three.
        segment_window (int, optional): Window; defaults to the subset's.
        save_every (int): Save after this many new clips. Defaults to 20.
        overwrite (bool): Ignore an existing ``out_file``. Defaults to False.
        dataset_kwargs (Mapping, optional): Extra dataset arguments.
        progress (bool): Show an mmengine ProgressBar. Defaults to True.
        on_saved (callable, optional): Called with the number of stored clips after every save.

    Returns:
        dict[str, dict]: The written captions.
    """
    if save_every < 1:
        raise ValueError(f'save_every must be >= 1, got {save_every}')
    if out_file is None:
        out_file = osp.join(data_root, CAPTION_FILES[subset])
    clips = list_clips(subset, data_root, splits, segment_window, dataset_kwargs)
    captions: Dict[str, dict] = {}
    if osp.isfile(out_file) and not overwrite:
        captions = load_caption_file(out_file)
        by_id = {clip.clip_id: clip for clip in clips}
        for clip_id, entry in captions.items():
            if clip_id in by_id:
                clip = by_id[clip_id]
                validate_clip_captions(entry, clip_id, len(clip.frame_paths), clip.window, out_file)
    todo = [clip for clip in clips if clip.clip_id not in captions]
    bar = ProgressBar(len(todo)) if progress and todo else None
    pending = 0
    for clip in todo:
        entry = captioner.caption_clip(clip)
        validate_clip_captions(entry, clip.clip_id, len(clip.frame_paths), clip.window,
                               f'<{type(captioner).__name__} output>')
        captions[clip.clip_id] = entry
        pending += 1
        if pending >= save_every:
            dump_caption_file(out_file, captions)
            pending = 0
            if on_saved is not None:
                on_saved(len(captions))
        if bar is not None:
            bar.update()
    if pending or not osp.isfile(out_file) or overwrite:
        dump_caption_file(out_file, captions)
        if on_saved is not None:
            on_saved(len(captions))
    return captions
