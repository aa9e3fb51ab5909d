"""Common base of the AVSBench datasets (S4, MS3, AVSS).

A sample is one clip. :meth:`AVSBaseDataset.load_data_list` reads the metadata csv of the official
layout, keeps the rows of the requested split, turns each into a ``data_info`` dict and checks at load
time that the files of every clip exist, so that a broken copy of the data fails at start-up with the clip and
the file named instead of in the middle of an epoch. The audio check follows what the pipeline reads (see
:func:`pipeline_audio_readers`): with ``LoadClipAudio(source='pkl')`` every clip's ``.pkl`` must exist,
whether or not its ``.wav`` does. The checks use ``os.path`` on the local file system; for the full S4 split
(3452 clips, about 20k files) they take well under a second. They can be turned off with ``check_files=False``
(AVSS still lists each clip's folders, because it counts the frames there).

A ``data_info`` holds: ``vid`` (clip id), ``subset`` (``'s4'`` / ``'ms3'`` / ``'avss'``), ``split``,
``num_frames`` ``T``, ``frame_paths`` / ``mask_paths`` (``T`` paths, None for padded frames or frames
without ground truth), ``frame_flags`` / ``gt_flags`` (``T`` bools: real frame, has ground truth),
``audio_wav_path`` / ``audio_pkl_path`` (None when absent), ``audio_source`` (the ``vid`` whose audio is
used: the clip's own unless audio is shuffled), ``num_classes``, and ``category`` (S4) or ``label_type``
(AVSS); with ``with_text`` also ``captions``.
"""
import copy
import csv
import logging
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmavs.registry import TRANSFORMS, build_from_mmavs

from .caption_file import clip_caption_info, load_caption_file, num_real_frames, resolve_caption_path
from .caption_windows import default_segment_window
from .palette import voc_palette  # noqa: F401  (re-exported: the palette's old home)

SPLITS: Tuple[str, ...] = ('train', 'val', 'test')

#: ``data_info`` keys that hold a clip's audio file paths (None when the layout has no such file).
AUDIO_PATH_KEYS: Tuple[str, ...] = ('audio_wav_path', 'audio_pkl_path')

#: Colours of the binary subsets: background black, sounding object white.
BINARY_CLASSES: Tuple[str, ...] = ('background', 'sounding object')
BINARY_PALETTE: List[List[int]] = [[0, 0, 0], [255, 255, 255]]

_PREPARE_HINT = (
    'Prepare AVSBench as described in docs/dataset_prepare.md, or write a small synthetic copy in the '
    'official layout with `python tools/dataset_converters/generate_synthetic_avs.py --subset all '
    '--out data/synthetic`.')


def object_data_prefix(folder: str) -> Dict[str, str]:
    """Default ``data_prefix`` of an AVSBench-object subset whose files live under ``folder``.

    Args:
        folder (str): ``'s4_data'`` or ``'ms3_data'``.

    Returns:
        dict[str, str]: ``frame``, ``mask``, ``audio_wav``, ``audio_pkl`` -> ``{folder}/visual_frames``,
        ``{folder}/gt_masks``, ``{folder}/audio_wav``, ``{folder}/audio_log_mel``.
    """
    return dict(frame=f'{folder}/visual_frames', mask=f'{folder}/gt_masks', audio_wav=f'{folder}/audio_wav',
                audio_pkl=f'{folder}/audio_log_mel')


def seeded_derangement(num: int, seed: int) -> np.ndarray:
    """A permutation of ``range(num)`` without fixed points, drawn uniformly for a given seed.

    Rejection sampling of uniform permutations: a permutation is a derangement with probability about
    1/e, so a few draws suffice.

    Args:
        num (int): Number of elements; at least 2.
        seed (int): Seed of the numpy generator; the same seed gives the same derangement.

    Returns:
        np.ndarray: int64 ``[num]``, ``perm[i] != i`` for every ``i``.
    """
    if num < 2:
        raise ValueError(f'audio shuffling needs at least 2 clips to exchange audio, got {num}')
    rng = np.random.default_rng(seed)
    identity = np.arange(num)
    while True:
        perm = rng.permutation(num)
        if not np.any(perm == identity):
            return perm


def read_csv_rows(csv_path: str,
                  required_columns: Sequence[str] = (),
                  min_columns: int = 0) -> List[Dict[str, str]]:
    """Read a metadata csv with a header row into a list of dicts.

    Values are stripped of surrounding white space. Column positions stay available under the keys
    ``'#0'``, ``'#1'``, ... (the S4 / MS3 csvs are read partly by position, as the official code does),
    and ``'#line'`` holds the row's line number in the file as a string (1-based, the header is
    line 1), for error messages.

    Args:
        csv_path (str): Path of the csv file.
        required_columns (Sequence[str]): Header names that must be present.
        min_columns (int): Minimum number of columns every row must have.

    Returns:
        list[dict[str, str]]: One dict per data row.
    """
    if not osp.isfile(csv_path):
        raise FileNotFoundError(f'metadata csv "{csv_path}" does not exist. {_PREPARE_HINT}')
    with open(csv_path, newline='', encoding='utf-8') as f:
        reader = csv.reader(f)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise ValueError(f'metadata csv "{csv_path}" is empty') from None
        missing = [c for c in required_columns if c not in header]
        if missing:
            raise ValueError(
                f'metadata csv "{csv_path}" lacks the column(s) {missing}; its header is {header}')
        if len(header) < min_columns:
            raise ValueError(
                f'metadata csv "{csv_path}" has {len(header)} columns, expected at least '
                f'{min_columns}; its header is {header}')
        rows = []
        for values in reader:
            line_no = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue  # blank line
            if len(values) != len(header):
                raise ValueError(
                    f'metadata csv "{csv_path}" line {line_no} has {len(values)} values, the header '
                    f'has {len(header)}')
            values = [v.strip() for v in values]
            row = dict(zip(header, values))
            row.update({f'#{i}': v for i, v in enumerate(values)})
            row['#line'] = str(line_no)
            rows.append(row)
    return rows


def check_column_values(csv_path: str, rows: Sequence[Dict[str, str]], column: str,
                        accepted: Sequence[str]) -> None:
    """Raise on the first row whose ``column`` holds a value outside ``accepted``.

    Values are compared exactly (case-sensitive; surrounding white space was stripped by
    :func:`read_csv_rows`), as the official loaders do (``df[df['split'] == split]``). A column used to
    select rows must be checked with this first, so that a misspelt value (``'Test'``, ``'testing'``)
    is an error instead of a row that is dropped without a word.

    Args:
        csv_path (str): Path of the csv (for the message).
        rows (Sequence[dict]): Rows of :func:`read_csv_rows` (with ``'#line'``).
        column (str): Header name of the column to check.
        accepted (Sequence[str]): The accepted values.

    Raises:
        ValueError: Naming the file, the line, the column, the value and the accepted values.
    """
    for row in rows:
        value = row[column]
        if value not in accepted:
            raise ValueError(
                f'metadata csv "{csv_path}" line {row.get("#line", "?")}: unknown {column} value '
                f'{value!r}; accepted values are {tuple(accepted)} (compared exactly: case matters)')


def pipeline_audio_readers(pipeline: Any) -> Optional[Dict[str, List[str]]]:
    """Which audio path keys of ``data_info`` the transforms of a pipeline read.

    A transform declares the keys it reads audio files from with an attribute ``audio_path_keys``
    (a tuple of :data:`AUDIO_PATH_KEYS` names; ``()`` for "reads none"), as
    :class:`mmavs.datasets.transforms.LoadClipAudio` does (``('audio_pkl_path',)`` for
    ``source='pkl'``, ``('audio_wav_path',)`` for ``source='wav'``). A custom audio transform declares
    the same attribute to have its files checked at start-up. Wrappers that keep sub-transforms in a
    ``transforms`` attribute (mmengine / mmcv ``Compose``, ``RandomChoice``, ``RandomApply``, ...) are
    searched recursively; every branch counts, so a key read by any branch is required.

    Args:
        pipeline: A transform, a ``Compose`` or a sequence of transforms.

    Returns:
        dict[str, list[str]] | None: Each key read, with the ``repr`` of the transforms reading it
        (``{}`` if transforms declare that they read none); None if no transform declares anything
        (e.g. no ``LoadClipAudio`` in the pipeline, or a custom transform without ``audio_path_keys``).

    Raises:
        ValueError: If a transform declares a key that is not in :data:`AUDIO_PATH_KEYS`.
    """
    readers: Dict[str, List[str]] = {}
    declared = False
    stack: List[Any] = [pipeline]
    seen = set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            stack.extend(reversed(obj))
            continue
        keys = getattr(obj, 'audio_path_keys', None)
        if keys is not None:
            declared = True
            for key in keys:
                if key not in AUDIO_PATH_KEYS:
                    raise ValueError(
                        f'{obj!r} declares audio_path_keys {tuple(keys)}; every key must be one of '
                        f'{AUDIO_PATH_KEYS}')
                readers.setdefault(key, []).append(repr(obj))
        children = getattr(obj, 'transforms', None)  # a list, or a Compose-like object
        if children is not None:
            stack.append(children)
    return readers if declared else None


class AVSBaseDataset(BaseDataset):
    """Base class of the AVSBench clip datasets.

    Subclasses define ``SUBSET``, ``DEFAULT_ANN_FILE``, ``DEFAULT_DATA_PREFIX``,
    ``DEFAULT_CAPTION_FILE`` and implement :meth:`parse_row` (one csv row to one ``data_info``) and
    :meth:`_select_rows`.

    Args:
        data_root (str): Root of the subset's official layout (the folder holding the metadata csv).
        split (str): 'train', 'val' or 'test', matched against the csv's ``split`` column. Every
            row's ``split`` must be one of these three lowercase names, as in the official csvs; the
            comparison is exact (case-sensitive), and any other value (``'Test'``, ``'testing'``, an
            empty cell) in any row raises a ValueError naming the csv, the line and the value.
        ann_file (str, optional): Metadata csv, relative to ``data_root`` unless absolute. Defaults to
            the official name of the subset.
        data_prefix (dict, optional): Sub-folders of the layout, relative to ``data_root`` unless
            absolute; keys are subset-specific (see the subclass). Missing keys take the defaults.
        pipeline (list[dict | callable]): Transforms applied to each clip; dicts are built with the
            mmavs ``TRANSFORMS`` registry (which falls back to MMEngine's root registry).
        metainfo (dict, optional): Overrides of the class-level meta information (classes, palette).
        audio_shuffle_seed (int, optional): When set, every clip gets the audio paths of another clip
            of the same dataset instance, chosen by a seeded derangement (no clip keeps its own audio);
            ``audio_source`` records the donor's ``vid``. Used to test whether a model uses the sound.
            Defaults to None (each clip keeps its own audio).
        check_files (bool): Check at load time that every frame, mask and the audio of every clip exist.
            The audio files required are those of ``audio_keys``. Defaults to True.
        audio_keys (Sequence[str], optional): Audio path keys (``'audio_wav_path'``,
            ``'audio_pkl_path'``) whose file every clip must have. Defaults to None: the keys the
            pipeline reads (:func:`pipeline_audio_readers`; e.g. ``'audio_pkl_path'`` for
            ``LoadClipAudio(source='pkl')``), or, when no transform of the pipeline declares what it
            reads, at least one of the clip's wav / pkl files. ``()`` requires no audio. A required
            key that the layout does not have at all (AVSS has no ``.pkl``) is an error even with
            ``check_files=False``. Every clip is checked before audio shuffling, so donors' files are
            covered too. Paths of files that are not required and do not exist are set to None.
        with_gt (bool): The clips have ground truth. False (unlabeled data, e.g. a test split written by
            ``tools/dataset_converters/videos_to_avsbench.py`` without masks): no mask is read or checked,
            every ``mask_paths`` entry is None and ``gt_flags`` all False. Defaults to True.
        with_text (bool): Load the MIT captions of every clip (format: :mod:`mmavs.datasets.caption_file`,
            ``docs/captions.md``) into ``data_info['captions']`` = ``dict(video=str, segments=[str],
            frames=[str], frame_segment=[int] * T)`` (``frame_segment``: segment index of each frame,
            -1 for padded frames). A missing file, a clip without captions or wrong caption counts raise
            errors naming the file and the clip. Defaults to False (no text; the baseline).
        caption_file (str, optional): Caption JSON, relative to ``data_root`` unless absolute. Defaults
            to the subset's file (``s4_captions.json``, ``ms3_captions.json``, ``captions.json``).
            Only read when ``with_text``.
        segment_window (int, optional): Frames per segment caption. Defaults to ``ceil(T / 2)`` for
            S4 / MS3 and ``ceil(T / 4)`` for AVSS (3 for the official ``T``).
        indices (int | Sequence[int], optional): Keep only these clips (see mmengine ``BaseDataset``).
        serialize_data (bool): Serialize the data list to save memory in workers. Defaults to True.
        test_mode (bool): Test mode (the pipeline must not return None). Defaults to False.
        lazy_init (bool): Defer reading the metadata until :meth:`full_init`. Defaults to False.
        max_refetch (int): See mmengine ``BaseDataset``. Defaults to 1000.
    """

    SUBSET: str = ''
    DEFAULT_ANN_FILE: str = ''
    DEFAULT_DATA_PREFIX: Dict[str, str] = {}
    DEFAULT_CAPTION_FILE: str = ''
    METAINFO: dict = dict(classes=BINARY_CLASSES, palette=copy.deepcopy(BINARY_PALETTE))

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[Dict[str, str]] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 metainfo: Optional[dict] = None,
                 audio_shuffle_seed: Optional[int] = None,
                 check_files: bool = True,
                 audio_keys: Optional[Sequence[str]] = None,
                 with_gt: bool = True,
                 with_text: bool = False,
                 caption_file: Optional[str] = None,
                 segment_window: Optional[int] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        if split not in SPLITS:
            raise ValueError(
                f'{type(self).__name__}: unknown split {split!r}; choose one of {SPLITS}')
        if not data_root:
            raise ValueError(f'{type(self).__name__}: data_root is required')
        self.split = split
        self.audio_shuffle_seed = audio_shuffle_seed
        self.check_files = check_files
        self.with_gt = bool(with_gt)
        if audio_keys is not None:
            if isinstance(audio_keys, str):
                audio_keys = (audio_keys, )
            unknown_keys = [k for k in audio_keys if k not in AUDIO_PATH_KEYS]
            if unknown_keys:
                raise ValueError(
                    f'{type(self).__name__}: unknown audio_keys {unknown_keys}; choose from '
                    f'{AUDIO_PATH_KEYS}')
            audio_keys = tuple(audio_keys)
        self.audio_keys = audio_keys
        self._required_audio: Optional[Dict[str, str]] = None
        if segment_window is not None and (isinstance(segment_window, bool)
                                           or not isinstance(segment_window, int)
                                           or segment_window < 1):
            raise ValueError(
                f'{type(self).__name__}: segment_window must be a positive int or None, got '
                f'{segment_window!r}')
        self.with_text = bool(with_text)
        self.segment_window = segment_window
        self.caption_file = resolve_caption_path(
            data_root, self.DEFAULT_CAPTION_FILE if caption_file is None else caption_file)
        prefix = dict(self.DEFAULT_DATA_PREFIX)
        if data_prefix:
            unknown = set(data_prefix) - set(prefix)
            if unknown:
                raise KeyError(
                    f'{type(self).__name__}: unknown data_prefix key(s) {sorted(unknown)}; known: '
                    f'{sorted(prefix)}')
            prefix.update(data_prefix)
        # mmengine's Compose would build the dicts with the root registry (see build_from_mmavs).
        pipeline = [build_from_mmavs(TRANSFORMS, t) for t in pipeline]
        super().__init__(
            ann_file=self.DEFAULT_ANN_FILE if ann_file is None else ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=prefix,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        """Read the metadata csv and build one ``data_info`` per clip of ``self.split``.

        Returns:
            list[dict]: The clips, in csv order.
        """
        self._check_data_root()
        self._required_audio = self._resolve_required_audio()
        rows = self._read_rows()
        for column, accepted in self._filter_columns().items():
            check_column_values(self.ann_file, rows, column, accepted)
        selected = self._select_rows(rows)
        if not selected:
            raise ValueError(
                f'{type(self).__name__}: no clip of split {self.split!r} in "{self.ann_file}"'
                f'{self._selection_note()}')
        data_list = [self.parse_row(row) for row in selected]
        if self.with_text:
            self._attach_captions(data_list)
        if self.audio_shuffle_seed is not None:
            data_list = self._shuffle_audio(data_list, self.audio_shuffle_seed)
        return data_list

    def _attach_captions(self, data_list: List[dict]) -> None:
        """Add ``captions`` to every ``data_info`` from :attr:`caption_file` (see the class docstring).

        Captions follow the video (``vid``), not the audio: audio shuffling does not move them.
        """
        captions = load_caption_file(self.caption_file)
        for info in data_list:
            vid, total = info['vid'], info['num_frames']
            window = self.segment_window or default_segment_window(self.SUBSET, total)
            try:
                info['captions'] = clip_caption_info(captions, vid, num_real_frames(info['frame_paths'], vid), total,
                                                     window, self.caption_file)
            except KeyError as e:
                raise KeyError(f'{type(self).__name__} (split {self.split!r}): {e.args[0]}') from None
            except ValueError as e:
                raise ValueError(f'{type(self).__name__} (split {self.split!r}): {e}') from None

    def _read_rows(self) -> List[Dict[str, str]]:
        """Read the metadata csv (subclasses say which columns are required)."""
        raise NotImplementedError

    def read_metadata(self) -> List[Dict[str, str]]:
        """Every row of the metadata csv (all splits, unfiltered, each with ``'#line'``).

        For tools that inspect a copy row by row (the dataset checker): values are not checked here;
        :meth:`accepted_values` says what :meth:`load_data_list` accepts, and :meth:`parse_row` turns a row
        of this dataset's split into a ``data_info``.
        """
        self._check_data_root()
        return self._read_rows()

    def accepted_values(self) -> Dict[str, Tuple[str, ...]]:
        """Columns whose values select clips, with the values accepted (see :meth:`_filter_columns`)."""
        return self._filter_columns()

    def _filter_columns(self) -> Dict[str, Tuple[str, ...]]:
        """Columns that :meth:`_select_rows` filters on, with their accepted values.

        Every row is checked against these before selection (:func:`check_column_values`), so no row
        is dropped because of an unknown value. Subclasses that filter on more columns add them.
        """
        return {'split': SPLITS}

    def _select_rows(self, rows: List[Dict[str, str]]) -> List[Dict[str, str]]:
        """Rows of ``self.split`` (subclasses may filter further, on :meth:`_filter_columns` only)."""
        return [row for row in rows if row['split'] == self.split]

    def _selection_note(self) -> str:
        """Extra text for the "no clip" error (e.g. the label-type filter)."""
        return ''

    def parse_row(self, row: Dict[str, str]) -> dict:
        """Turn one csv row into a ``data_info`` dict."""
        raise NotImplementedError

    def _check_data_root(self) -> None:
        root = self.data_root
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'{type(self).__name__}: data root "{root}" does not exist. {_PREPARE_HINT}')
        if self.ann_file and not osp.isfile(self.ann_file):
            hint = ''
            nested = self._nested_root_hint()
            if nested:
                hint = f' Found "{nested}": set data_root to its folder.'
            raise FileNotFoundError(
                f'{type(self).__name__}: metadata csv "{self.ann_file}" does not exist under the data '
                f'root "{root}".{hint} {_PREPARE_HINT}')

    def _nested_root_hint(self) -> Optional[str]:
        """Path of the metadata csv one level down (a common mistake: data_root one level too high)."""
        base = osp.basename(self.ann_file)
        try:
            children = sorted(os.listdir(self.data_root))
        except OSError:
            return None
        for child in children:
            candidate = osp.join(self.data_root, child, base)
            if osp.isfile(candidate):
                return candidate
        return None

    # ------------------------------------------------------------ shared helpers
    def _check_clip_files(self, vid: str, kind: str, paths: Sequence[Optional[str]]) -> None:
        """Raise FileNotFoundError naming the clip and the first missing file of ``paths``."""
        if not self.check_files or (kind == 'mask' and not self.with_gt):
            return
        for path in paths:
            if path is not None and not osp.isfile(path):
                raise FileNotFoundError(
                    f'{type(self).__name__}: clip "{vid}" (split {self.split!r}): {kind} file '
                    f'"{path}" does not exist')

    def _resolve_required_audio(self) -> Optional[Dict[str, str]]:
        """Audio keys every clip must have, each with who reads it; None: any one audio file.

        From ``audio_keys`` if given, else from the pipeline (:func:`pipeline_audio_readers`).
        """
        if self.audio_keys is not None:
            return {key: f'audio_keys={self.audio_keys}' for key in self.audio_keys}
        readers = pipeline_audio_readers(self.pipeline)
        if readers is None:
            if getattr(self.pipeline, 'transforms', None):
                print_log(
                    f'{type(self).__name__}: no transform of the pipeline declares which audio file '
                    'it reads (audio_path_keys, as LoadClipAudio does), so the start-up check only '
                    'requires one of each clip\'s wav / pkl files; set audio_keys to check the files '
                    'your pipeline reads.',
                    logger='current',
                    level=logging.INFO)
            return None
        return {key: ' and '.join(names) for key, names in readers.items()}

    def _prefixed_audio_paths(self, vid: str, rel: str) -> Tuple[Optional[str], Optional[str]]:
        """:meth:`_audio_paths` of the object subsets' layout: ``{audio_wav,audio_pkl}/{rel}/{vid}.{wav,pkl}``.

        Args:
            vid (str): Clip id.
            rel (str): Folder below the ``audio_wav`` / ``audio_pkl`` prefixes (the split, and for S4
                the category).
        """
        return self._audio_paths(vid, osp.join(self.data_prefix['audio_wav'], rel, f'{vid}.wav'),
                                 osp.join(self.data_prefix['audio_pkl'], rel, f'{vid}.pkl'))

    def _audio_paths(self, vid: str, wav_path: Optional[str],
                     pkl_path: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
        """Check the clip's audio files against what the pipeline reads (see ``audio_keys``).

        Args:
            vid (str): Clip id (for messages).
            wav_path (str, optional): The layout's wav path of the clip; None if the layout has none.
            pkl_path (str, optional): The layout's log-mel ``.pkl`` path; None if the layout has none.

        Returns:
            tuple[str | None, str | None]: ``(wav, pkl)``; a path whose file does not exist (and is
            not required) becomes None. With ``check_files=False`` both are kept as given.

        Raises:
            FileNotFoundError: Naming the clip, the key, the missing path and the transform reading
                it; or, without a declared reader, when the clip has no audio file at all.
        """
        given = dict(audio_wav_path=wav_path, audio_pkl_path=pkl_path)
        required = self._required_audio
        where = f'{type(self).__name__}: clip "{vid}" (split {self.split!r})'
        for key, reader in (required or {}).items():
            if given[key] is None:  # a layout mismatch, checked even without check_files
                raise FileNotFoundError(
                    f'{where}: {reader} reads {key}, but the {self.SUBSET} layout has no such file '
                    f'(this clip\'s audio: {[p for p in given.values() if p is not None]}); read the '
                    'audio the layout provides instead (e.g. LoadClipAudio(source=\'wav\'))')
        if not self.check_files:
            return wav_path, pkl_path
        found = {k: p if p is not None and osp.isfile(p) else None for k, p in given.items()}
        if required is None:
            if all(p is None for p in found.values()):
                tried = [p for p in given.values() if p is not None]
                raise FileNotFoundError(f'{where} has no audio: none of {tried} exists')
        else:
            donor_note = (' (with audio_shuffle_seed set, any clip may donate its audio, so every '
                          'clip needs it)' if self.audio_shuffle_seed is not None else '')
            for key, reader in required.items():
                if found[key] is None:
                    raise FileNotFoundError(
                        f'{where}: {key} file "{given[key]}" does not exist; {reader} reads it'
                        f'{donor_note}')
        return found['audio_wav_path'], found['audio_pkl_path']

    @staticmethod
    def _shuffle_audio(data_list: List[dict], seed: int) -> List[dict]:
        """Give every clip the audio of another clip (seeded derangement); record the donor."""
        perm = seeded_derangement(len(data_list), seed)
        donors = [(info['audio_wav_path'], info['audio_pkl_path'], info['vid'])
                  for info in data_list]
        for info, donor_idx in zip(data_list, perm.tolist()):
            wav, pkl, donor_vid = donors[donor_idx]
            info['audio_wav_path'] = wav
            info['audio_pkl_path'] = pkl
            info['audio_source'] = donor_vid
        return data_list

    def _make_info(self, vid: str, frame_paths: List[Optional[str]],
                   mask_paths: List[Optional[str]], wav_path: Optional[str],
                   pkl_path: Optional[str], num_classes: int, **extra) -> dict:
        """Assemble a ``data_info`` dict with the flags derived from the paths."""
        if not self.with_gt:  # unlabeled data: no clip has ground truth
            mask_paths = [None] * len(frame_paths)
        if len(frame_paths) != len(mask_paths):
            raise ValueError(
                f'clip "{vid}": {len(frame_paths)} frame paths but {len(mask_paths)} mask paths')
        info = dict(
            vid=vid,
            subset=self.SUBSET,
            split=self.split,
            num_frames=len(frame_paths),
            frame_paths=list(frame_paths),
            mask_paths=list(mask_paths),
            frame_flags=[p is not None for p in frame_paths],
            gt_flags=[p is not None for p in mask_paths],
            audio_wav_path=wav_path,
            audio_pkl_path=pkl_path,
            audio_source=vid,
            num_classes=num_classes)
        info.update(extra)
        return info
