"""How much a trained model relies on sound: the robustness conditions and running a model through them.

A :class:`Condition` is one evaluation of the test split: the clean data, or one test-time perturbation of
:mod:`mmavs.datasets.perturbations`. :func:`build_conditions` lists them per suite (always ``clean``
first, the config as it is; with a noise suite then ``clean_wav``, the clean audio read from the wav files as
the noisy conditions read it):

- ``snr``: white Gaussian noise at each SNR level (``AddAudioNoise(kind='gaussian', snr_db=...)``);
- ``r2bench``: R2-Bench background noise from another clip at each severity 1-5
  (``AddAudioNoise(kind='clip', severity=...)`` + ``PerturbedAVSDataset(noise_source='other_clip')``);
- ``negative``: AVSBench-Robust negative audio, ``silence`` and ``noise`` (``ReplaceAudio``) and
  ``offscreen`` (``PerturbedAVSDataset(offscreen_audio=True)``), scored with ``NegativeAudioMetric``
  (FPR; G-mIoU / G-F from the same model's clean ``J_legacy`` / ``F_legacy``);
- ``framemix``: frame mixing, variants ``own_gt`` and ``empty_gt``, each scored on the mixed clips
  (prefix ``mixed``) and on all clips (prefix ``all``).

:func:`condition_dataset_cfg` / :func:`condition_metric_cfgs` turn a condition into the test dataset config
and the metric configs: a waveform transform goes right before ``LoadClipAudio``, whose ``source`` becomes
``'wav'`` (so a config reading the ``.pkl`` log-mels works as long as the wav files exist). Every random
choice comes from the condition's ``seed``, so two models evaluated with the same seed see the same perturbed
data. :func:`prepare_conditions` builds (and checks) every dataset before any model runs;
:func:`run_conditions` runs a model over them with ``predict_samples`` and an MMEngine ``Evaluator``.
"""
import copy
import logging
import math
import os.path as osp
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from torch import nn

from mmavs.datasets.perturbations import DEFAULT_SNR_LEVELS, FRAME_MIX_VARIANTS, check_severity, check_snr_db
from mmavs.registry import DATASETS, METRICS
from mmavs.utils import register_all_modules

from .inference import AUDIO_LOADER
from .split_data import predict_samples, split_dataset_cfg

#: The suites of conditions, in the order they are run.
SUITES: Tuple[str, ...] = ('snr', 'r2bench', 'negative', 'framemix')
#: Suites whose conditions replace or modify the waveform (they need every clip's wav file).
WAVEFORM_SUITES: Tuple[str, ...] = ('snr', 'r2bench', 'negative')
#: Negative-audio kinds, in the order they are run.
NEGATIVE_KINDS: Tuple[str, ...] = ('silence', 'noise', 'offscreen')
#: R2-Bench severities.
SEVERITIES: Tuple[int, ...] = (1, 2, 3, 4, 5)
#: Metric prefixes of the frame-mixing conditions: scored on the mixed clips and on all clips.
FRAME_MIX_SCOPES: Tuple[Tuple[str, str], ...] = (('mixed', 'frame_mixed'), ('all', 'all'))

Level = Union[None, float, int, str]


@dataclass(frozen=True)
class Condition:
    """One evaluation of the split.

    Attributes:
        name (str): Unique name: ``clean``, ``clean_wav``, ``snr_<dB>dB``, ``r2bench_s<severity>``,
            ``silence`` / ``noise`` / ``offscreen``, ``framemix_own_gt`` / ``framemix_empty_gt``.
        suite (str): ``'clean'`` or one of :data:`SUITES`.
        level (float | int | str | None): SNR in dB (``snr``), severity (``r2bench``), negative kind
            (``negative``), frame-mix variant (``framemix``); for ``clean``: None (the config's audio loader)
            or ``'wav'`` (``clean_wav``: the clean audio read from the wav files, the front-end of the noisy
            conditions).
        seed (int): Seed of every random choice of the perturbation.
        frame_mix_fraction (float): Share of frame-mixed clips (``framemix`` only).
    """

    name: str
    suite: str
    level: Level = None
    seed: int = 0
    frame_mix_fraction: float = 0.25

    @property
    def needs_wav(self) -> bool:
        """Whether the condition reads or replaces waveforms (every clip needs its wav file).

        ``offscreen`` only exchanges the clips' audio files, which the config's loader reads as it is.
        """
        return self.suite in ('snr', 'r2bench') or (self.suite == 'negative' and self.level != 'offscreen') or (
            self.suite == 'clean' and self.level == 'wav')


def check_suites(suites: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """Parse ``'snr,negative'`` or a sequence of names; return them in :data:`SUITES` order.

    Raises:
        ValueError: An unknown or empty suite name (the valid ones are listed), or no suite at all.
    """
    names = [s.strip() for s in suites.split(',')] if isinstance(suites, str) else [str(s) for s in suites]
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise ValueError(f'unknown robustness suite(s) {unknown}; choose among {", ".join(SUITES)}')
    if not names:
        raise ValueError(f'no robustness suite given; choose among {", ".join(SUITES)}')
    return tuple(s for s in SUITES if s in names)


def _check_fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f'frame_mix_fraction must be a number in (0, 1], got {value!r}')
    return float(value)


def build_conditions(suites: Union[str, Sequence[str]] = SUITES,
                     snr_levels: Sequence[float] = DEFAULT_SNR_LEVELS,
                     severities: Sequence[int] = SEVERITIES,
                     seed: int = 0,
                     frame_mix_fraction: float = 0.25) -> List[Condition]:
    """The conditions of the requested suites, ``clean`` first (see the module docstring).

    With ``snr`` or ``r2bench``, ``clean_wav`` follows: the clean audio read from the wav files like the noisy
    conditions (``LoadClipAudio(source='wav')``), their reference when the config reads the ``.pkl`` log-mels
    (the two front-ends need not give identical examples).

    Args:
        suites (str | Sequence[str]): Names among :data:`SUITES` (``'snr,negative'`` or a list).
        snr_levels (Sequence[float]): SNR levels (dB) of the ``snr`` suite, in the given order.
        severities (Sequence[int]): R2-Bench severities (1-5) of the ``r2bench`` suite.
        seed (int): Seed of all perturbations (a non-negative int).
        frame_mix_fraction (float): Share of frame-mixed clips, in (0, 1].

    Returns:
        list[Condition]: Unique names, in suite order.

    Raises:
        ValueError / TypeError: An unknown suite, an SNR that is not a finite number, a severity outside
            1-5, a negative seed, a fraction outside (0, 1], or a level given twice.
    """
    suites = check_suites(suites)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    fraction = _check_fraction(frame_mix_fraction)
    conditions = [Condition('clean', 'clean', None, seed, fraction)]
    if 'snr' in suites or 'r2bench' in suites:  # the noisy audio's own front-end, without noise
        conditions.append(Condition('clean_wav', 'clean', 'wav', seed, fraction))
    for suite in suites:
        if suite == 'snr':
            levels = [check_snr_db(v, 'snr_levels') for v in snr_levels]
            conditions += [Condition(f'snr_{v:g}dB', 'snr', v, seed, fraction) for v in levels]
        elif suite == 'r2bench':
            levels = [check_severity(v, 'severities') for v in severities]
            conditions += [Condition(f'r2bench_s{v}', 'r2bench', v, seed, fraction) for v in levels]
        elif suite == 'negative':
            conditions += [Condition(kind, 'negative', kind, seed, fraction) for kind in NEGATIVE_KINDS]
        else:
            conditions += [
                Condition(f'framemix_{v}', 'framemix', v, seed, fraction) for v in FRAME_MIX_VARIANTS
            ]
    names = [c.name for c in conditions]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'conditions {repeated} are asked for twice (repeated SNR levels or severities?)')
    return conditions


# ---------------------------------------------------------------------------------------------- configs
def _type_name(cfg: dict) -> str:
    return str(cfg.get('type', '')).split('.')[-1]


def insert_before_audio_loader(pipeline: Sequence[dict], transform: Optional[dict]) -> List[dict]:
    """A copy of ``pipeline`` with ``transform`` right before ``LoadClipAudio``, which reads ``source='wav'``.

    Args:
        pipeline (Sequence[dict]): Transform configs.
        transform (dict, optional): The waveform transform config (``AddAudioNoise`` / ``ReplaceAudio``);
            None: only the loader's source changes.

    Raises:
        ValueError: The pipeline has no ``LoadClipAudio``.
    """
    pipeline = [copy.deepcopy(dict(t)) for t in pipeline]
    index = next((i for i, t in enumerate(pipeline) if _type_name(t) == AUDIO_LOADER), None)
    if index is None:
        what = 'reading the wav files' if transform is None else f'a waveform perturbation ({transform["type"]})'
        raise ValueError(f'the test pipeline {[_type_name(t) for t in pipeline]} has no {AUDIO_LOADER}: '
                         f'{what} needs it')
    pipeline[index]['source'] = 'wav'
    if transform is not None:
        pipeline.insert(index, copy.deepcopy(transform))
    return pipeline


def condition_dataset_cfg(dataset_cfg: dict, condition: Condition) -> dict:
    """The test dataset config of ``condition`` from the clean one (not modified).

    Args:
        dataset_cfg (dict): The clean test dataset config with its ``pipeline``
            (:func:`mmavs.apis.split_dataset_cfg`).
        condition (Condition): The condition.

    Returns:
        dict: A config for the mmavs ``DATASETS`` registry: the dataset itself (waveform transforms in its
        pipeline) or a ``PerturbedAVSDataset`` wrapping it.
    """
    if 'pipeline' not in dataset_cfg:
        raise ValueError(f'the test dataset config ({dataset_cfg.get("type")}) has no pipeline: give the '
                         'dataset, not a wrapper')
    cfg = copy.deepcopy(dict(dataset_cfg))
    suite, level, seed = condition.suite, condition.level, condition.seed
    if suite == 'clean':
        if level == 'wav':
            cfg['pipeline'] = insert_before_audio_loader(cfg['pipeline'], None)
        return cfg
    if suite == 'snr':
        noise = dict(type='AddAudioNoise', kind='gaussian', snr_db=float(level), seed=seed, on_silent='keep')
        return dict(cfg, pipeline=insert_before_audio_loader(cfg['pipeline'], noise))
    if suite == 'r2bench':
        noise = dict(type='AddAudioNoise', kind='clip', severity=int(level), seed=seed, on_silent='keep')
        cfg['pipeline'] = insert_before_audio_loader(cfg['pipeline'], noise)
        return dict(type='PerturbedAVSDataset', dataset=cfg, seed=seed, noise_source='other_clip')
    if suite == 'negative':
        if level == 'offscreen':
            return dict(type='PerturbedAVSDataset', dataset=cfg, seed=seed, offscreen_audio=True)
        replace = dict(type='ReplaceAudio', kind=str(level), seed=seed)
        return dict(cfg, pipeline=insert_before_audio_loader(cfg['pipeline'], replace))
    if suite == 'framemix':
        return dict(type='PerturbedAVSDataset', dataset=cfg, seed=seed,
                    frame_mix=dict(fraction=condition.frame_mix_fraction, variant=str(level)))
    raise ValueError(f'unknown condition suite {suite!r} of condition {condition.name!r}')


def avs_metric_cfg(evaluator_cfg: Union[dict, Sequence[dict]]) -> dict:
    """The ``AVSMetric`` config of a config's ``test_evaluator`` (a dict or a list of dicts), copied."""
    metrics = [evaluator_cfg] if isinstance(evaluator_cfg, dict) else list(evaluator_cfg or [])
    for metric in metrics:
        if isinstance(metric, dict) and _type_name(metric) == 'AVSMetric':
            return copy.deepcopy(dict(metric))
    raise ValueError(f'test_evaluator {evaluator_cfg!r} has no AVSMetric: the robustness conditions score with it')


def condition_metric_cfgs(metric_cfg: dict, condition: Condition,
                          clean_scores: Optional[Dict[str, float]] = None) -> List[dict]:
    """The metric configs of ``condition``.

    Args:
        metric_cfg (dict): The config's ``AVSMetric`` config (:func:`avs_metric_cfg`).
        condition (Condition): The condition.
        clean_scores (dict, optional): The same model's flat ``clean`` results (percent); negative-audio
            conditions need ``J_legacy`` and ``F_legacy`` for G-mIoU / G-F.

    Returns:
        list[dict]: ``AVSMetric`` (prefix ``avs``) for clean and noisy audio; ``NegativeAudioMetric``
        (prefix ``negative``) for negative audio; two ``AVSMetric`` (prefixes ``mixed``, ``all``) for frame
        mixing.
    """
    base = copy.deepcopy(dict(metric_cfg))
    base.pop('prefix', None)
    base.pop('clips', None)
    if condition.suite == 'negative':
        if not clean_scores or 'J_legacy' not in clean_scores or 'F_legacy' not in clean_scores:
            raise ValueError(f'condition {condition.name}: G-mIoU / G-F need the clean J_legacy and F_legacy of '
                             'the same model; run the clean condition first')
        positive = dict(mIoU=clean_scores['J_legacy'] / 100, F=clean_scores['F_legacy'] / 100)
        return [dict(type='NegativeAudioMetric', legacy_batch_size=base.get('legacy_batch_size', 4),
                     positive_scores=positive, prefix='negative')]
    if condition.suite == 'framemix':
        return [dict(base, clips=clips, prefix=prefix) for prefix, clips in FRAME_MIX_SCOPES]
    return [dict(base, prefix='avs')]


def flat_metric_key(key: str) -> str:
    """``'avs/J_legacy'`` -> ``'J_legacy'``, ``'negative/FPR'`` -> ``'FPR'``; ``'mixed/J_legacy'`` is kept."""
    prefix, sep, name = key.partition('/')
    return name if sep and prefix in ('avs', 'negative') else key


# ---------------------------------------------------------------------------------------------- datasets
@dataclass
class PreparedCondition:
    """A condition with its built test dataset (checked; nothing run yet)."""

    condition: Condition
    dataset: object


def check_wav_files(dataset, conditions: Sequence[Condition]) -> None:
    """Check that every clip of the clean ``dataset`` has its wav file, if a condition reads waveforms.

    Checked on the clean dataset (built with the config's loader, so a layout with only ``.pkl`` log-mels
    has ``audio_wav_path`` None), before any perturbed dataset is built or any model runs: the clip's own
    wav for the waveform transforms, every clip's as a noise donor.

    Raises:
        ValueError: Naming the first clip without a wav file, its ``.pkl`` and the conditions needing it.
    """
    needing = [c.name for c in conditions if c.needs_wav]
    if not needing:
        return
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get('audio_wav_path')
        if path is None or not osp.isfile(path):
            raise ValueError(
                f'clip {info["vid"]} has no wav file ({path or "none in the layout"}; its audio: '
                f'{info.get("audio_pkl_path")!r}): the conditions {needing} perturb waveforms, so the wav file of '
                'every clip is needed (the official S4 / MS3 / AVSS distributions ship them)')


def prepare_conditions(cfg: Config,
                       conditions: Sequence[Condition],
                       split: Optional[str] = 'test',
                       data_root: Optional[str] = None) -> List[PreparedCondition]:
    """Build and check the test dataset of every condition (cheap; no model involved).

    Every clip's ``data_info`` of each perturbed dataset is read once, so a missing donor (a noise source
    without wav, no frame of the same size to mix) fails here, not in the middle of a run. Frame mixing or
    donors on a split of fewer than 2 clips fail here too (raised by ``PerturbedAVSDataset``).

    Args:
        cfg (Config): The model's config (its test dataset and test pipeline).
        conditions (Sequence[Condition]): From :func:`build_conditions`; the first must be ``clean``.
        split (str, optional): The split evaluated (None: the config's).
        data_root (str, optional): Replaces the dataset's ``data_root``.

    Returns:
        list[PreparedCondition]: In the order of ``conditions``.
    """
    if not conditions or conditions[0].name != 'clean':
        raise ValueError('the first robustness condition must be "clean" (the negative conditions use its scores)')
    register_all_modules(init_default_scope=False)
    clean_cfg = split_dataset_cfg(cfg, split, data_root)
    clean = DATASETS.build(clean_cfg)
    check_wav_files(clean, conditions)
    prepared = [PreparedCondition(conditions[0], clean)]
    for condition in conditions[1:]:
        try:
            dataset = DATASETS.build(condition_dataset_cfg(clean_cfg, condition))
            for i in range(len(dataset)):
                dataset.get_data_info(i)
        except (ValueError, KeyError, FileNotFoundError) as err:
            raise type(err)(f'robustness condition {condition.name}: {err}') from err
        prepared.append(PreparedCondition(condition, dataset))
    return prepared


# ---------------------------------------------------------------------------------------------- running
def evaluate_condition(model: nn.Module, prepared: PreparedCondition, metric_cfg: dict,
                       clean_scores: Optional[Dict[str, float]] = None, batch_size: int = 4) -> Dict[str, float]:
    """Run ``model`` over one prepared condition and return its flat metrics (percent).

    Returns:
        dict[str, float]: :func:`flat_metric_key` names; waveform-noise conditions add
        ``silent_clips_kept`` (clips whose audio is all zeros, hence no SNR: left unchanged, as
        audiomentations does).
    """
    condition, dataset = prepared.condition, prepared.dataset
    metrics = [METRICS.build(c) for c in condition_metric_cfgs(metric_cfg, condition, clean_scores)]
    evaluator = Evaluator(metrics)
    evaluator.dataset_meta = dataset.metainfo
    silent_kept = 0
    for sample in predict_samples(model, dataset, batch_size):
        noise = (sample.metainfo.get('perturbation') or {}).get('audio_noise') or {}
        silent_kept += int(noise.get('skipped') is not None)
        evaluator.process([sample])
    values = {flat_metric_key(k): float(v) for k, v in evaluator.evaluate(len(dataset)).items()}
    if condition.suite in ('snr', 'r2bench'):
        values['silent_clips_kept'] = float(silent_kept)
    return values


ProgressCallback = Callable[[Condition, int, int], None]


def run_conditions(model: nn.Module,
                   prepared: Sequence[PreparedCondition],
                   metric_cfg: dict,
                   batch_size: int = 4,
                   on_condition: Optional[ProgressCallback] = None) -> Dict[str, Dict[str, float]]:
    """Evaluate ``model`` on every prepared condition (``clean`` first).

    Args:
        model (nn.Module): A segmentor (e.g. from :func:`mmavs.apis.init_model`).
        prepared (Sequence[PreparedCondition]): From :func:`prepare_conditions`.
        metric_cfg (dict): The config's ``AVSMetric`` config (:func:`avs_metric_cfg`).
        batch_size (int): Clips per ``test_step``.
        on_condition (callable, optional): Called as ``(condition, index, total)`` before each condition
            (progress bars).

    Returns:
        dict[str, dict[str, float]]: Per condition name, its flat metrics (percent).
    """
    results: Dict[str, Dict[str, float]] = {}
    for index, item in enumerate(prepared):
        if on_condition is not None:
            on_condition(item.condition, index, len(prepared))
        print_log(f'robustness: condition {item.condition.name} ({index + 1}/{len(prepared)}, '
                  f'{len(item.dataset)} clips)', logger='current', level=logging.DEBUG)
        values = evaluate_condition(model, item, metric_cfg, results.get('clean'), batch_size)
        nan = [k for k, v in values.items() if isinstance(v, float) and math.isnan(v)]
        if nan:
            print_log(f'robustness: condition {item.condition.name} gives nan for {nan}', logger='current',
                      level=logging.WARNING)
        results[item.condition.name] = values
    return results
