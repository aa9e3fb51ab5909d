"""Load a clip's audio as VGGish log-mel examples, one per frame."""
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmavs.audio import load_log_mel, read_wav, waveform_to_examples
from mmavs.registry import TRANSFORMS

_PATH_KEYS = {'pkl': 'audio_pkl_path', 'wav': 'audio_wav_path'}
_PAD_MODES = ('repeat_last', 'zeros')


def fit_examples_to_frames(examples: np.ndarray, num_frames: int, pad_mode: str, source: str) -> np.ndarray:
    """Truncate or pad ``E`` log-mel examples to a clip's ``T`` frames (see :class:`LoadClipAudio`).

    Args:
        examples (np.ndarray): float32 ``[E, 1, 96, 64]``.
        num_frames (int): ``T``.
        pad_mode (str): ``'repeat_last'`` (copies of the last example) or ``'zeros'``.
        source (str): Where the audio comes from (for the error message).

    Returns:
        np.ndarray: ``[T, 1, 96, 64]``: the first ``T`` examples, padded when ``E < T``.

    Raises:
        ValueError: ``E = 0`` with ``pad_mode='repeat_last'`` (nothing to repeat), or an unknown
            ``pad_mode``.
    """
    if pad_mode not in _PAD_MODES:
        raise ValueError(f'pad_mode must be one of {list(_PAD_MODES)}, got {pad_mode!r}.')
    num_examples = examples.shape[0]
    if num_examples >= num_frames:
        return np.ascontiguousarray(examples[:num_frames])
    if pad_mode == 'zeros':
        pad = np.zeros((num_frames - num_examples, ) + examples.shape[1:], dtype=np.float32)
    elif num_examples == 0:
        raise ValueError(
            f'Audio {source} is too short for one 0.96 s VGGish example, so pad_mode="repeat_last" has '
            'nothing to repeat; use pad_mode="zeros" to pad it with zeros.')
    else:
        pad = np.repeat(examples[-1:], num_frames - num_examples, axis=0)
    return np.concatenate([examples, pad], axis=0)


@TRANSFORMS.register_module()
class LoadClipAudio(BaseTransform):
    """Load the audio of a clip as ``T`` VGGish log-mel examples.

    Reads either the official pre-computed examples (``source='pkl'``, AVSBench ``audio_log_mel/*.pkl``,
    see :func:`mmavs.audio.load_log_mel`) or the waveform (``source='wav'``, converted with
    :func:`mmavs.audio.waveform_to_examples`), then fits the ``E`` examples to the clip's ``T`` frames:
    the first ``T`` are kept when ``E > T``; when ``E < T`` the missing ones are

    - ``'repeat_last'``: copies of the last example (the S4 / MS3 preprocessing), or
    - ``'zeros'``: all-zero examples (what AVSBench does for AVSS).

    Audio too short for a single 0.96 s example (``E = 0``) can only be zero-padded: with
    ``pad_mode='repeat_last'`` it raises a ValueError naming the file. A wav with zero samples
    (header only) is always an error naming the file (raised by :func:`mmavs.audio.read_wav`);
    recorded silence is valid.

    Required keys: ``num_frames`` (T), ``audio_pkl_path`` or ``audio_wav_path`` (per ``source``;
    :attr:`audio_path_keys` declares it, so the AVS datasets check that file at start-up).
    Optional keys: ``vid`` (used in error messages); ``audio_waveform`` (float ``[N]``, with
    ``audio_sample_rate``, default 16000), a waveform put there by a perturbation transform
    (:mod:`mmavs.datasets.perturbations`): with ``source='wav'`` it is converted instead of the file; with
    ``source='pkl'`` it is an error (the perturbation would be silently ignored).
    Added keys: ``audio`` (np.float32 ``[T, 1, 96, 64]``), ``audio_num_examples`` (int ``E``, before
    fitting to ``T``).

    Args:
        source (str): ``'pkl'`` or ``'wav'``. Defaults to ``'pkl'``.
        pad_mode (str): ``'repeat_last'`` or ``'zeros'``. Defaults to ``'repeat_last'``.
    """

    def __init__(self, source: str = 'pkl', pad_mode: str = 'repeat_last') -> None:
        if source not in _PATH_KEYS:
            raise ValueError(f'LoadClipAudio: source must be one of {sorted(_PATH_KEYS)}, got {source!r}.')
        if pad_mode not in _PAD_MODES:
            raise ValueError(f'LoadClipAudio: pad_mode must be one of {list(_PAD_MODES)}, got {pad_mode!r}.')
        self.source = source
        self.pad_mode = pad_mode

    @property
    def audio_path_keys(self) -> Tuple[str, ...]:
        """The ``data_info`` key read (``('audio_pkl_path',)`` or ``('audio_wav_path',)``).

        The AVS datasets check at start-up that every clip has this file
        (:func:`mmavs.datasets.base_dataset.pipeline_audio_readers`).
        """
        return (_PATH_KEYS[self.source], )

    def _load_examples(self, path: str) -> np.ndarray:
        """Return float32 ``[E, 1, 96, 64]`` examples of the file at ``path``."""
        if self.source == 'pkl':
            return load_log_mel(path)
        wav, sample_rate = read_wav(path)
        try:
            examples = waveform_to_examples(wav, sample_rate)
        except (TypeError, ValueError) as err:
            raise ValueError(f'Cannot compute log-mel examples of {path}: {err}') from err
        return examples[:, None]

    def transform(self, results: Dict) -> Dict:
        """Add ``audio`` (np.float32 ``[T, 1, 96, 64]``) and ``audio_num_examples`` to ``results``.

        Args:
            results (dict): Pipeline results with ``num_frames`` and the audio path key.

        Returns:
            dict: ``results``, updated.
        """
        key = _PATH_KEYS[self.source]
        vid = results.get('vid', '<unknown clip>')
        if results.get('audio_waveform') is not None:
            return self._from_waveform(results, vid)
        for required in ('num_frames', key):
            if required not in results:
                raise KeyError(
                    f'LoadClipAudio(source={self.source!r}): results of clip {vid} lack "{required}".')
        path = results[key]
        if path is None:
            raise ValueError(
                f'LoadClipAudio(source={self.source!r}): clip {vid} has no {key} (None): the dataset '
                'found no such file for it (built with check_files=False or audio_keys excluding it?)')
        num_frames = results['num_frames']
        is_int = isinstance(num_frames, (int, np.integer)) and not isinstance(num_frames, bool)
        if not is_int or num_frames < 1:
            raise ValueError(
                f'LoadClipAudio: clip {vid} has num_frames={num_frames!r}; expected an int >= 1.')
        examples = self._load_examples(path)
        fitted = fit_examples_to_frames(examples, int(num_frames), self.pad_mode, path)
        results['audio'] = fitted.astype(np.float32, copy=False)
        results['audio_num_examples'] = int(examples.shape[0])
        return results

    def _from_waveform(self, results: Dict, vid: str) -> Dict:
        """Convert ``results['audio_waveform']`` (a perturbed waveform) instead of reading a file."""
        if self.source != 'wav':
            raise ValueError(
                f"LoadClipAudio(source='pkl'): clip {vid} carries a perturbed waveform (audio_waveform), which "
                f"the pre-computed log-mel file {results.get('audio_pkl_path')!r} would silently replace; read "
                "the waveform with LoadClipAudio(source='wav') after waveform perturbations.")
        num_frames = results.get('num_frames')
        is_int = isinstance(num_frames, (int, np.integer)) and not isinstance(num_frames, bool)
        if not is_int or num_frames < 1:
            raise ValueError(
                f'LoadClipAudio: clip {vid} has num_frames={num_frames!r}; expected an int >= 1.')
        what = f'perturbed waveform of clip {vid}'
        try:
            examples = waveform_to_examples(
                np.asarray(results['audio_waveform'], dtype=np.float32), int(results.get('audio_sample_rate', 16000)))
        except (TypeError, ValueError) as err:
            raise ValueError(f'Cannot compute log-mel examples of the {what}: {err}') from err
        fitted = fit_examples_to_frames(examples[:, None], int(num_frames), self.pad_mode, what)
        results['audio'] = fitted.astype(np.float32, copy=False)
        results['audio_num_examples'] = int(examples.shape[0])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(source={self.source!r}, pad_mode={self.pad_mode!r})'
