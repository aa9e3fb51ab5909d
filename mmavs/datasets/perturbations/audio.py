"""Waveform perturbations of a clip's audio, applied before the VGGish front-end.

Both transforms put a mono 16 kHz waveform in ``results['audio_waveform']`` (float32 ``[N]``) which
``LoadClipAudio(source='wav')`` then turns into log-mel examples instead of reading the file; they must come
before it in the pipeline. With ``LoadClipAudio(source='pkl')`` the perturbed waveform would be ignored, so
that combination is an error (raised by ``LoadClipAudio``). What was done is recorded in
``results['perturbation']`` (copied to the data sample's metainfo by ``PackAVSInputs``).

Random numbers come from :func:`clip_rng` with ``(seed, results['sample_idx'])``: reproducible, and
independent of the order in which workers load clips.
"""
import copy
from typing import Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmavs.audio import VGGISH_SAMPLE_RATE, read_wav, to_mono_16k
from mmavs.registry import TRANSFORMS

from .seeding import clip_rng
from .snr import R2BENCH_SNR_RANGES, check_severity, check_snr_db, fit_noise_length, mix_at_snr

NOISE_KINDS: Tuple[str, ...] = ('gaussian', 'clip')
REPLACE_KINDS: Tuple[str, ...] = ('silence', 'noise')


def _clip_name(results: dict) -> str:
    return str(results.get('vid', '<unknown clip>'))


def _clip_index(results: dict, owner: str) -> int:
    if 'sample_idx' not in results:
        raise KeyError(f'{owner}: results of clip {_clip_name(results)} lack "sample_idx" (set by the dataset\'s '
                       'get_data_info); it seeds the per-clip random numbers')
    return int(results['sample_idx'])


def clip_waveform(results: dict, owner: str) -> np.ndarray:
    """The clip's current mono 16 kHz waveform: ``results['audio_waveform']`` or its wav file.

    Returns:
        np.ndarray: float32 ``[N]``.

    Raises:
        ValueError: The clip has no wav file (e.g. a pkl-only layout): the message names its ``.pkl``.
    """
    if results.get('audio_waveform') is not None:
        return np.asarray(results['audio_waveform'], dtype=np.float32)
    path = results.get('audio_wav_path')
    if path is None:
        raise ValueError(
            f'{owner}: clip {_clip_name(results)} has no waveform (audio_wav_path is None), only the log-mel '
            f'file {results.get("audio_pkl_path")!r}; waveform perturbations need the wav files (the official '
            "S4 / MS3 / AVSS distributions ship them) and a pipeline reading LoadClipAudio(source='wav').")
    wav, sample_rate = read_wav(path)
    return to_mono_16k(wav, sample_rate)


def _record(results: dict, key: str, value: object) -> None:
    record = copy.deepcopy(results.get('perturbation') or {})
    record[key] = value
    results['perturbation'] = record


@TRANSFORMS.register_module()
class AddAudioNoise(BaseTransform):
    """Mix noise into the clip's waveform at an SNR (definition: :mod:`mmavs.datasets.perturbations.snr`).

    Kinds:

    - ``'gaussian'``: white Gaussian noise (i.i.d. N(0, 1) samples, scaled) at the fixed ``snr_db``; the
      protocol runs one evaluation per level of :data:`DEFAULT_SNR_LEVELS` (20, 10, 0, -10 dB).
    - ``'clip'``: background noise taken from another clip's audio, the R2-Bench ``background_noise``
      perturbation (Li et al., ECCV 2024; code github.com/lxa9867/r2bench, commit 49cda7f:
      ``perturbation_toolbox/audio_perturbation.py`` and ``create_noisy_data.py``). What is followed: the
      noise is the mono wav of a clip drawn at random from the evaluated split (``get_aud_path``; the donor is
      chosen by :class:`PerturbedAVSDataset` and passed as ``noise_wav_path``); the SNR is drawn uniformly in
      the severity's range (severity 1-5: 25-30, 20-25, 15-20, 10-15, 5-10 dB, the ``snr_values`` table) and
      the noise's polarity is inverted (``noise_transform=PolarityInversion()``); the noise is tiled or
      cropped to the clip's length and scaled by RMS, as audiomentations' ``AddBackgroundNoise``
      (github.com/iver56/audiomentations, ``augmentations/add_background_noise.py``). Small differences from
      that implementation: it measures the RMS of the noise *before* repeating a short noise (here: of exactly
      the samples added, so the SNR is exact) and draws the crop offset in ``[0, M - N - 1]`` (here
      ``[0, M - N]``); it returns a silent clip, or a clip with a silent noise, unchanged (here
      ``on_silent``).
      Differences, on purpose: R2-Bench perturbs only a random ~40 % of the clips with a random one of 9 audio
      perturbations (and frames too); here every clip gets this one perturbation, so its effect is measured
      alone. R2-Bench may draw the clip itself as its noise; the dataset wrapper excludes it. Not verified:
      the audiomentations version R2-Bench ran (tiling / crop details may differ) and the severities used for
      the AVS tables of the paper (the README lists datasets at severities 1, 3, 5).
      A fixed ``snr_db`` may be given instead of a severity.

    Required keys: ``sample_idx``; ``audio_wav_path`` (or a previous ``audio_waveform``); for ``'clip'`` also
    ``noise_wav_path`` (and optionally ``noise_source``, the donor's vid), set by
    :class:`PerturbedAVSDataset` with ``noise_source='other_clip'``.
    Added keys: ``audio_waveform`` (float32 ``[N]``, 16 kHz mono), ``audio_sample_rate`` (16000),
    ``perturbation['audio_noise']`` = ``dict(kind, snr_db, severity, noise_source)`` (``snr_db``: the SNR
    applied, drawn or fixed).

    Args:
        kind (str): ``'gaussian'`` or ``'clip'``.
        snr_db (float, optional): Fixed SNR in dB. Required for ``'gaussian'``.
        severity (int, optional): R2-Bench severity 1-5 (``'clip'`` only; exclusive with ``snr_db``).
        seed (int): Seed of the per-clip generators. Defaults to 0.
        invert_noise_polarity (bool): Multiply the noise clip by -1, as R2-Bench. Only for ``'clip'``.
            Defaults to True.
        on_silent (str): A silent clip (power 0, no SNR defined) or a silent noise source: ``'error'``
            (default, a ValueError naming the clip) or ``'keep'`` (the clip's audio is left unchanged, as
            audiomentations does, and the record has ``snr_db=None`` and ``skipped='silent signal'`` /
            ``'silent noise'``).
    """

    audio_path_keys = ('audio_wav_path', )

    def __init__(self,
                 kind: str = 'gaussian',
                 snr_db: Optional[float] = None,
                 severity: Optional[int] = None,
                 seed: int = 0,
                 invert_noise_polarity: bool = True,
                 on_silent: str = 'error') -> None:
        if on_silent not in ('error', 'keep'):
            raise ValueError(f"AddAudioNoise: on_silent must be 'error' or 'keep', got {on_silent!r}")
        self.on_silent = on_silent
        if kind not in NOISE_KINDS:
            raise ValueError(f'AddAudioNoise: unknown kind {kind!r}; choose one of {NOISE_KINDS}')
        if snr_db is not None and severity is not None:
            raise ValueError('AddAudioNoise: give snr_db or severity, not both')
        if kind == 'gaussian':
            if severity is not None:
                raise ValueError('AddAudioNoise: severity is the R2-Bench clip-noise protocol (kind="clip"); '
                                 'white noise takes a fixed snr_db')
            if snr_db is None:
                raise ValueError('AddAudioNoise(kind="gaussian") needs snr_db (e.g. 20, 10, 0 or -10)')
        if kind == 'clip' and snr_db is None and severity is None:
            raise ValueError('AddAudioNoise(kind="clip") needs a severity (1-5) or a fixed snr_db')
        self.kind = kind
        self.snr_db = None if snr_db is None else check_snr_db(snr_db, 'AddAudioNoise')
        self.severity = None if severity is None else check_severity(severity, 'AddAudioNoise')
        clip_rng(seed, 0, 'audio_noise')  # validates the seed
        self.seed = int(seed)
        self.invert_noise_polarity = bool(invert_noise_polarity)

    def transform(self, results: Dict) -> Dict:
        """Mix the noise; see the class docstring for the keys."""
        owner = type(self).__name__
        rng = clip_rng(self.seed, _clip_index(results, owner), 'audio_noise')
        signal = clip_waveform(results, owner)
        name = f'{owner}: clip {_clip_name(results)}'
        if self.severity is not None:
            low, high = R2BENCH_SNR_RANGES[self.severity]
            snr = float(rng.uniform(low, high))
        else:
            snr = float(self.snr_db)
        if self.kind == 'gaussian':
            noise = rng.standard_normal(signal.shape[0])
            source = None
        else:
            path = results.get('noise_wav_path')
            if path is None:
                raise KeyError(
                    f'{name}: no noise source clip (results lack "noise_wav_path"); wrap the dataset in '
                    "PerturbedAVSDataset(noise_source='other_clip') to draw one per clip")
            wav, sample_rate = read_wav(path)
            noise = fit_noise_length(to_mono_16k(wav, sample_rate), signal.shape[0], rng)
            if self.invert_noise_polarity:
                noise = -noise
            source = results.get('noise_source', path)
        record = dict(kind=self.kind, snr_db=snr, severity=self.severity, noise_source=source)
        silent = 'silent signal' if not np.any(signal) else 'silent noise' if not np.any(noise) else None
        if silent is not None and self.on_silent == 'keep':
            record.update(snr_db=None, skipped=silent)
            mixed = signal
        else:
            mixed = mix_at_snr(signal, noise, snr, name)
        results['audio_waveform'] = mixed
        results['audio_sample_rate'] = VGGISH_SAMPLE_RATE
        _record(results, 'audio_noise', record)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(kind={self.kind!r}, snr_db={self.snr_db}, severity={self.severity}, '
                f'seed={self.seed})')


@TRANSFORMS.register_module()
class ReplaceAudio(BaseTransform):
    """Replace the clip's audio by a negative audio of AVSBench-Robust: silence or noise.

    AVSBench-Robust (Li et al., "Do Audio-Visual Segmentation Models Truly Segment Sounding Objects?", arXiv
    2502.00358; code github.com/jiali-home/AVSBench-Robust, commit 03e925d,
    ``dataset_generation/audio_processing.py``) pairs every test video with negative audios:

    - ``'silence'``: all-zero samples (``generate_silent_audio``: pydub ``AudioSegment.silent``, 5 s);
    - ``'noise'``: white noise, samples uniform in [-1, 1] (``generate_noise_audio``:
      ``np.random.uniform(-1, 1, ...)``), here scaled by ``amplitude``. Their script writes the float64 bytes
      as 16-bit PCM, so their file is effectively loud broadband noise of 4x the length; the stated intent
      (uniform white noise) is what is implemented here.
    - off-screen sound (another clip's audio) is not a waveform operation: see
      :class:`PerturbedAVSDataset` (``offscreen_audio=True``).

    Their log-mel features of these files come from librosa (not the VGGish front-end); here the waveform goes
    through ``LoadClipAudio(source='wav')`` like every other clip, so only the audio content differs.

    Length: ``duration`` seconds at 16 kHz, or (``duration=None``, default) the length of the clip's own wav
    (5 s for S4 / MS3, as AVSBench-Robust; AVSS clips keep their length).

    Required keys: ``sample_idx`` and, with ``duration=None``, ``audio_wav_path``.
    Added keys: ``audio_waveform`` (float32 ``[N]``), ``audio_sample_rate``, ``perturbation['negative_audio']``
    (the kind).

    Args:
        kind (str): ``'silence'`` or ``'noise'``.
        seed (int): Seed of the per-clip generators (noise). Defaults to 0.
        amplitude (float): Peak of the uniform noise, in (0, 1]. Defaults to 1.0 (AVSBench-Robust).
        duration (float, optional): Length in seconds; None: the clip's own length.
    """

    def __init__(self, kind: str = 'silence', seed: int = 0, amplitude: float = 1.0,
                 duration: Optional[float] = None) -> None:
        if kind not in REPLACE_KINDS:
            raise ValueError(f'ReplaceAudio: unknown kind {kind!r}; choose one of {REPLACE_KINDS}')
        if isinstance(amplitude, bool) or not isinstance(amplitude, (int, float)) or not 0 < amplitude <= 1:
            raise ValueError(f'ReplaceAudio: amplitude must be a number in (0, 1], got {amplitude!r}')
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))
                                     or duration <= 0):
            raise ValueError(f'ReplaceAudio: duration must be a positive number of seconds, got {duration!r}')
        clip_rng(seed, 0, 'replace_audio')
        self.kind = kind
        self.seed = int(seed)
        self.amplitude = float(amplitude)
        self.duration = duration

    @property
    def audio_path_keys(self) -> Tuple[str, ...]:
        """``('audio_wav_path',)`` when the clip's length is read from its wav, else ``()``."""
        return ('audio_wav_path', ) if self.duration is None else ()

    def transform(self, results: Dict) -> Dict:
        """Replace the waveform; see the class docstring for the keys."""
        owner = type(self).__name__
        rng = clip_rng(self.seed, _clip_index(results, owner), 'replace_audio')
        if self.duration is None:
            num_samples = clip_waveform(results, owner).shape[0]
        else:
            num_samples = int(round(self.duration * VGGISH_SAMPLE_RATE))
        if self.kind == 'silence':
            wave = np.zeros(num_samples, dtype=np.float32)
        else:
            wave = rng.uniform(-self.amplitude, self.amplitude, num_samples).astype(np.float32)
        results['audio_waveform'] = wave
        results['audio_sample_rate'] = VGGISH_SAMPLE_RATE
        _record(results, 'negative_audio', self.kind)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(kind={self.kind!r}, seed={self.seed}, amplitude={self.amplitude}, '
                f'duration={self.duration})')
