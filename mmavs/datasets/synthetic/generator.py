"""Entry point: write a small seeded dataset in one of the official AVSBench layouts.

See :mod:`mmavs.datasets.synthetic` for what the data looks like and
:mod:`mmavs.datasets.synthetic.layouts` for the exact files.
"""
import contextlib
import os
import os.path as osp
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import threadpoolctl
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar

from .caption_text import CAPTION_MODES, clip_captions
from .categories import AVSS_CLASSES, S4_CATEGORIES, CategoryStyle, avss_styles, s4_styles
from .file_io import write_csv, write_json
from .layouts import MS3_DIRNAME, NUM_FRAMES, S4_DIRNAME, manifest_entry, write_avss_clip, write_ms3_clip, write_s4_clip
from .scenes import random_video_id, sample_scene

SUBSETS = ('s4', 'ms3', 'avss')
SPLITS = ('train', 'val', 'test')
AVSS_LABEL_TYPES = ('v1s', 'v1m', 'v2')
_SUBSET_CODE = {'s4': 4, 'ms3': 3, 'avss': 7}


def _select_styles(styles: List[CategoryStyle], categories: Optional[Sequence[str]],
                   vocabulary: Sequence[str]) -> List[CategoryStyle]:
    """Restrict the vocabulary's styles to ``categories`` (looks and sounds do not change)."""
    if categories is None:
        return styles
    unknown = [c for c in categories if c not in vocabulary]
    if unknown:
        raise ValueError(f'Unknown categories {unknown}; valid names are {list(vocabulary)}.')
    if len(set(categories)) < 3:
        raise ValueError(f'At least 3 distinct categories are needed, got {list(categories)}.')
    return [s for s in styles if s.name in set(categories)]


def _targets(root: str, subset: str) -> List[str]:
    """Top-level paths a subset writes under ``root``."""
    if subset == 's4':
        return [osp.join(root, S4_DIRNAME)]
    if subset == 'ms3':
        return [osp.join(root, MS3_DIRNAME)]
    names = ['metadata.csv', 'label2idx.json', 'captions.json'] + list(AVSS_LABEL_TYPES)
    return [osp.join(root, name) for name in names]


def _clear(targets: Sequence[str], overwrite: bool) -> None:
    """Remove existing outputs when ``overwrite``, else refuse to write over them."""
    existing = [p for p in targets if osp.lexists(p)]
    if existing and not overwrite:
        raise FileExistsError(
            f'Output already exists: {existing}. Pass overwrite=True (CLI: --overwrite) to '
            'replace it.')
    for path in existing:
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def _clip_rng(seed: int, subset: str, split: str, index: int) -> np.random.Generator:
    """The clip's own random stream, independent of the other clips and of the clip counts."""
    return np.random.default_rng([seed, _SUBSET_CODE[subset], SPLITS.index(split), index])


@dataclass(frozen=True)
class _ClipTask:
    """Everything one clip's writer needs (the clip's random stream is rebuilt from its index)."""
    root: str
    subset: str
    seed: int
    split: str
    index: int
    vid: str
    styles: List[CategoryStyle]
    main: CategoryStyle
    label_type: str
    size: int
    silent_prob: float
    caption_mode: str
    aspects: Sequence[float]
    larger_sounds_prob: Optional[float]


def _one_blas_thread() -> None:
    """Pool initializer: one BLAS thread per worker. The workers already use the cores; OpenBLAS threads would
    spin between the small matrix products of the log-mel front-end and halve the pool's throughput."""
    threadpoolctl.threadpool_limits(1)


def _write_clip(task: _ClipTask) -> Tuple[tuple, dict, dict]:
    """Write one clip of any subset (in this process or a worker); return its row, manifest entry, captions."""
    rng = _clip_rng(task.seed, task.subset, task.split, task.index)
    if task.subset == 's4':
        return _s4_clip(task.root, rng, task.vid, task.split, task.styles, task.main, task.size, task.silent_prob,
                        task.caption_mode)
    if task.subset == 'ms3':
        return _ms3_clip(task.root, rng, task.vid, task.split, task.styles, task.size, task.silent_prob,
                         task.caption_mode, task.larger_sounds_prob)
    return _avss_clip(task.root, rng, task.vid, task.split, task.styles, task.main, task.label_type, task.size,
                      task.aspects, task.silent_prob, task.caption_mode)


def _s4_clip(root: str, rng: np.random.Generator, vid: str, split: str, styles: List[CategoryStyle],
             main: CategoryStyle, size: int, silent_prob: float,
             caption_mode: str = 'visual') -> Tuple[tuple, dict, dict]:
    """Write one S4 clip; return its csv row, manifest entry and captions."""
    scene = sample_scene(rng, vid, split, styles, NUM_FRAMES['s4'], height=size, width=size,
                         mode='single', main_style=main, silent_prob=silent_prob)
    paths = write_s4_clip(root, scene, main.name, rng)
    row = (vid, int(rng.integers(0, 6)), main.name, split)
    entry = manifest_entry(scene, 's4', paths, category=main.name)
    return row, entry, clip_captions(scene, 's4', NUM_FRAMES['s4'], caption_mode)


def _ms3_clip(root: str, rng: np.random.Generator, vid: str, split: str, styles: List[CategoryStyle],
              size: int, silent_prob: float, caption_mode: str = 'visual',
              larger_sounds_prob: Optional[float] = None) -> Tuple[tuple, dict, dict]:
    """Write one MS3 clip; return its csv row, manifest entry and captions."""
    scene = sample_scene(rng, vid, split, styles, NUM_FRAMES['ms3'], height=size, width=size,
                         mode='multi', silent_prob=silent_prob, larger_sounds_prob=larger_sounds_prob)
    paths = write_ms3_clip(root, scene, rng)
    extra = {} if larger_sounds_prob is None else {'larger_sounds_prob': larger_sounds_prob}
    entry = manifest_entry(scene, 'ms3', paths, **extra)
    return (vid, split), entry, clip_captions(scene, 'ms3', NUM_FRAMES['ms3'], caption_mode)


def _avss_clip(root: str, rng: np.random.Generator, vid: str, split: str, styles: List[CategoryStyle],
               main: CategoryStyle, label_type: str, size: int, aspects: Sequence[float],
               silent_prob: float, caption_mode: str = 'visual') -> Tuple[tuple, dict, dict]:
    """Write one AVSS clip; return its csv row, manifest entry and captions."""
    uid = f'{vid}_{int(rng.integers(0, 10))}'
    width = int(round(size * aspects[int(rng.integers(len(aspects)))]))
    mode = 'single' if label_type == 'v1s' else 'multi'
    scene = sample_scene(rng, uid, split, styles, NUM_FRAMES[label_type], height=size, width=width,
                         mode=mode, main_style=main if mode == 'single' else None,
                         silent_prob=silent_prob)
    paths = write_avss_clip(root, scene, label_type, rng)
    heard = [obj.style.name for k, obj in enumerate(scene.objects) if scene.sounding[:, k].any()]
    start = int(rng.integers(0, 600))
    row = (vid, uid, start // 60, start % 60, '_'.join(heard), split, label_type)
    entry = manifest_entry(scene, 'avss', paths, label_type=label_type, uid=uid, video_id=vid)
    return row, entry, clip_captions(scene, 'avss', NUM_FRAMES['v2'], caption_mode)


def generate_avsbench(root: str,
                      subset: str = 's4',
                      num_train: int = 4,
                      num_val: int = 2,
                      num_test: int = 2,
                      size: int = 224,
                      seed: int = 0,
                      categories: Optional[Sequence[str]] = None,
                      silent_prob: float = 0.15,
                      avss_label_types: Sequence[str] = AVSS_LABEL_TYPES,
                      avss_aspects: Sequence[float] = (4 / 3, 16 / 9),
                      overwrite: bool = False,
                      progress: bool = False,
                      caption_mode: str = 'visual',
                      larger_sounds_prob: Optional[Dict[str, float]] = None,
                      splits: Sequence[str] = SPLITS,
                      workers: int = 1) -> List[Dict[str, object]]:
    """Write a seeded synthetic dataset in the official layout of one AVSBench subset.

    S4 goes to ``root/Single-source``, MS3 to ``root/Multi-sources``, AVSS directly under ``root``
    (``root/metadata.csv``, ``root/v1s/...``). Identical arguments give byte-identical files, whatever
    ``workers`` is: each clip has its own random stream, and the ids are drawn before the clips are written.

    Args:
        root (str): Output directory.
        subset (str): ``'s4'``, ``'ms3'`` or ``'avss'``.
        num_train (int): Clips in the train split.
        num_val (int): Clips in the val split.
        num_test (int): Clips in the test split.
        size (int): Frame side (S4 / MS3 frames are ``size x size``; AVSS frames are ``size`` high and
            ``round(size * aspect)`` wide). At least 16.
        seed (int): Random seed.
        categories (Sequence[str], optional): Use only these categories of the subset's vocabulary (S4 /
            MS3: the 23 S4 categories; AVSS: the 70 classes). All when None.
        silent_prob (float): Probability that a frame has no sounding object.
        avss_label_types (Sequence[str]): AVSS label types, assigned to a split's clips in turn.
        avss_aspects (Sequence[float]): AVSS frame aspect ratios (width / height), one drawn per clip.
        overwrite (bool): Replace existing output of this subset under ``root`` instead of raising.
        progress (bool): Show a progress bar.
        caption_mode (str): ``'visual'`` (default, what an image captioner sees) or ``'audio-visual'``
            (captions also say what is heard; see :func:`~mmavs.datasets.synthetic.caption_text.clip_captions`).
        larger_sounds_prob (dict, optional): MS3 only: the visual-bias probe's shortcut strength per split
            (``{'train': 0.9, 'val': 0.9, 'test': 1.0}``; see :mod:`mmavs.datasets.synthetic.scenes`); a split
            left out gets the usual scenes. Use :func:`~mmavs.datasets.synthetic.visual_bias.generate_visual_bias_probe`
            for the whole probe.
        splits (Sequence[str]): Splits to write (default all). The clip ids of the others are still drawn, so a
            clip's id and content do not depend on which splits are written.
        workers (int): Processes writing clips (the sounds are synthesised in numpy, one core each).
            Defaults to 1 (this process).

    Returns:
        list[dict]: One manifest entry per clip (see
        :func:`~mmavs.datasets.synthetic.layouts.manifest_entry`): what is drawn where, who sounds when,
        and the written paths.

    Raises:
        ValueError: For an unknown subset / category / label type, negative counts, no clips at all, a too
            small size or ``silent_prob`` outside [0, 1).
        FileExistsError: If the subset's output exists and ``overwrite`` is False.
    """
    if subset not in SUBSETS:
        raise ValueError(f'generate_avsbench: subset must be one of {SUBSETS}, got {subset!r}.')
    counts = {'train': num_train, 'val': num_val, 'test': num_test}
    if any(int(n) != n or n < 0 for n in counts.values()) or sum(counts.values()) == 0:
        raise ValueError(
            f'generate_avsbench: clip counts must be non-negative integers, not all zero; got {counts}.')
    if size < 16:
        raise ValueError(f'generate_avsbench: size must be at least 16 pixels, got {size}.')
    if not 0.0 <= silent_prob < 1.0:
        raise ValueError(f'generate_avsbench: silent_prob must be in [0, 1), got {silent_prob}.')
    if caption_mode not in CAPTION_MODES:
        raise ValueError(f'generate_avsbench: caption_mode must be one of {CAPTION_MODES}, got {caption_mode!r}.')
    if larger_sounds_prob is not None:
        if subset != 'ms3':
            raise ValueError(f'generate_avsbench: larger_sounds_prob (the visual-bias probe) is for subset "ms3", '
                             f'got {subset!r}.')
        unknown = set(larger_sounds_prob) - set(SPLITS)
        if unknown:
            raise ValueError(f'generate_avsbench: larger_sounds_prob has unknown splits {sorted(unknown)}; '
                             f'splits are {SPLITS}.')
    if not splits or set(splits) - set(SPLITS):
        raise ValueError(f'generate_avsbench: splits must be a non-empty subset of {SPLITS}, got {list(splits)}.')
    bad_types = [t for t in avss_label_types if t not in AVSS_LABEL_TYPES]
    if subset == 'avss' and (bad_types or not avss_label_types):
        raise ValueError(
            f'generate_avsbench: avss_label_types must be a non-empty subset of {AVSS_LABEL_TYPES}, '
            f'got {list(avss_label_types)}.')
    if subset == 'avss':
        styles = _select_styles(avss_styles(), categories, AVSS_CLASSES[1:])
    else:
        styles = _select_styles(s4_styles(), categories, S4_CATEGORIES)

    _clear(_targets(root, subset), overwrite)
    id_rng = np.random.default_rng([seed, _SUBSET_CODE[subset]])
    taken: set = set()
    if workers < 1:
        raise ValueError(f'generate_avsbench: workers must be >= 1, got {workers}.')
    tasks: List[_ClipTask] = []
    for split in SPLITS:
        order = np.random.default_rng([seed, _SUBSET_CODE[subset], SPLITS.index(split), 1 << 20])
        main_cycle = [styles[i] for i in order.permutation(len(styles))]
        for index in range(counts[split]):
            vid = random_video_id(id_rng, taken)
            if split not in splits:
                continue
            tasks.append(_ClipTask(root, subset, seed, split, index, vid, styles, main_cycle[index % len(main_cycle)],
                                   avss_label_types[index % len(avss_label_types)], size, silent_prob, caption_mode,
                                   tuple(avss_aspects), (larger_sounds_prob or {}).get(split)))
    bar = ProgressBar(len(tasks)) if progress else None
    manifest: List[Dict[str, object]] = []
    rows: List[Tuple] = []
    captions: Dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        if workers > 1 and len(tasks) > 1:
            pool = stack.enter_context(ProcessPoolExecutor(min(workers, len(tasks)), initializer=_one_blas_thread))
            written = pool.map(_write_clip, tasks, chunksize=max(1, len(tasks) // (8 * workers)))
        else:
            written = map(_write_clip, tasks)
        for task, (row, entry, caption) in zip(tasks, written):  # in task order
            rows.append(row)
            manifest.append(entry)
            captions[entry.get('uid', task.vid)] = caption
            if bar is not None:
                bar.update()
    if subset == 's4':
        write_csv(
            osp.join(root, S4_DIRNAME, 's4_meta_data.csv'), ('name', 'start', 'category', 'split'), rows)
        write_json(osp.join(root, S4_DIRNAME, 's4_captions.json'), captions)
    elif subset == 'ms3':
        write_csv(osp.join(root, MS3_DIRNAME, 'ms3_meta_data.csv'), ('video_id', 'split'), rows)
        write_json(osp.join(root, MS3_DIRNAME, 'ms3_captions.json'), captions)
    else:
        write_csv(
            osp.join(root, 'metadata.csv'), ('vid', 'uid', 's_min', 's_sec', 'a_obj', 'split', 'label'),
            rows)
        write_json(osp.join(root, 'label2idx.json'), {name: i + 1 for i, name in enumerate(AVSS_CLASSES)})
        write_json(osp.join(root, 'captions.json'), captions)
    if bar is not None:
        bar.file.write('\n')
    MMLogger.get_current_instance().info(
        f'Generated {len(manifest)} synthetic {subset.upper()} clips ({ {s: counts[s] for s in splits} }) under {root}')
    return manifest
