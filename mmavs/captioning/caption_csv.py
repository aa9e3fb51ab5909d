"""Captions written elsewhere as CSV: ``clip_id,level,index,caption``, one row per caption.

``level`` is ``video``, ``segment`` or ``frame``; ``index`` is the 0-based segment / frame index
(ignored, may be empty, for ``video``). Every clip needs one video caption and contiguous indices
``0..K-1`` per level. :func:`read_caption_csv` turns the rows into caption-file entries
(:mod:`mmavs.datasets.caption_file`).
"""
import csv
from typing import Dict, Tuple

from mmavs.datasets.caption_file import check_entry_structure

#: Header of the CSV form.
CSV_COLUMNS: Tuple[str, ...] = ('clip_id', 'level', 'index', 'caption')
#: Values of the ``level`` column.
LEVELS: Tuple[str, ...] = ('video', 'segment', 'frame')


def read_caption_csv(path: str) -> Dict[str, dict]:
    """Parse the CSV form into caption-file entries (see the module docstring).

    Args:
        path (str): The CSV file.

    Returns:
        dict[str, dict]: ``{clip_id: {"video": str, "segments": [str], "frames": [str]}}``.

    Raises:
        ValueError: Malformed file (the file, line and clip are named).
    """
    rows: Dict[str, Dict[str, Dict[int, str]]] = {}
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise ValueError(
                f'caption csv "{path}" lacks the column(s) {missing}; its header is {header}')
        reader.fieldnames = header
        for line_no, row in enumerate(reader, start=2):
            clip_id, level = (row['clip_id'] or '').strip(), (row['level'] or '').strip()
            where = f'caption csv "{path}" line {line_no}'
            if not clip_id:
                raise ValueError(f'{where}: empty clip_id')
            if level not in LEVELS:
                raise ValueError(
                    f'{where} (clip "{clip_id}"): level {level!r}, expected one of {LEVELS}')
            raw_index = (row['index'] or '').strip()
            if level == 'video':
                index = 0
            else:
                try:
                    index = int(raw_index)
                except ValueError:
                    raise ValueError(f'{where} (clip "{clip_id}"): {level} index {raw_index!r} '
                                     'is not an integer') from None
                if index < 0:
                    raise ValueError(f'{where} (clip "{clip_id}"): negative {level} index')
            per_level = rows.setdefault(clip_id, {lv: {} for lv in LEVELS})[level]
            if index in per_level:
                raise ValueError(
                    f'{where} (clip "{clip_id}"): second {level} caption with index {index}')
            per_level[index] = row['caption'] if row['caption'] is not None else ''
    captions = {}
    for clip_id, levels in rows.items():
        if 0 not in levels['video']:
            raise ValueError(f'caption csv "{path}": clip "{clip_id}" has no video caption')
        entry = dict(video=levels['video'][0])
        for level, key in (('segment', 'segments'), ('frame', 'frames')):
            indices = sorted(levels[level])
            if indices != list(range(len(indices))):
                raise ValueError(
                    f'caption csv "{path}": clip "{clip_id}" has {level} indices {indices}; '
                    f'expected 0..{len(indices) - 1} without gaps')
            entry[key] = [levels[level][i] for i in indices]
        check_entry_structure(entry, clip_id, path)
        captions[clip_id] = entry
    return captions
