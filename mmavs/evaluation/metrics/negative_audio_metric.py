"""False-positive rate on negative-audio clips (AVSBench-Robust), as a registered metric."""
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from mmavs.registry import METRICS

from ..functional import false_positive_rate, frame_foreground_fraction, g_score
from .avs_metric import PREDICTION_FIELDS


@METRICS.register_module()
class NegativeAudioMetric(BaseMetric):
    """FPR of the clips whose audio is negative (silence, noise, off-screen sound), and the G-metrics.

    Definitions and sources: :mod:`mmavs.evaluation.functional.negative_audio` (per-frame FPR exactly as
    AVSBench-Robust's ``calculate_FPR``; the G-metric combination is an assumption stated there). A clip is
    negative when its metainfo ``perturbation['negative_audio']`` is set (by ``ReplaceAudio`` or
    ``PerturbedAVSDataset(offscreen_audio=True)``); other clips are skipped (counted in the log), and no
    negative clip at all is an error. Ground truth is not used (negative audio has no sounding object).
    Padded frames (``frame_flags`` False) are left out.

    Kept apart from :class:`AVSMetric` on purpose: AVSMetric scores predictions against ground truth on
    positive audio, while FPR needs no GT and comes from another run (the same videos with negative audio);
    the G-metrics combine the two, so the positive scores are passed in (``positive_scores``).

    Keys (percentages): ``FPR`` (mean over frames), ``FPR_legacy`` (mean of per-batch means over
    ``legacy_batch_size`` consecutive clips, the official aggregation), ``FPR_<kind>`` for each negative kind
    seen, and with ``positive_scores`` ``G_mIoU`` / ``G_F`` from ``positive_scores['mIoU']`` / ``['F']``.

    Args:
        legacy_batch_size (int): Clips per test batch of ``FPR_legacy``. Defaults to 4.
        positive_scores (dict, optional): Fractions in [0, 1] of the positive-audio run, keys ``'mIoU'`` and/or
            ``'F'`` (e.g. AVSMetric's ``J_legacy`` / ``F_legacy`` divided by 100).
        g_mode (str): ``'geometric'`` (default) or ``'harmonic'``, see :func:`g_score`.
        prediction (str): ``'logits'`` (``pred_logits`` ``[T, C, H, W]``) or ``'masks'`` (``pred_masks``).
        collect_device (str): Defaults to 'cpu'.
        prefix (str, optional): Defaults to ``'negative'``.
    """

    default_prefix: Optional[str] = 'negative'

    def __init__(self,
                 legacy_batch_size: int = 4,
                 positive_scores: Optional[Dict[str, float]] = None,
                 g_mode: str = 'geometric',
                 prediction: str = 'logits',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(legacy_batch_size, int) or isinstance(legacy_batch_size, bool) or legacy_batch_size < 1:
            raise ValueError(
                f'NegativeAudioMetric: legacy_batch_size must be a positive int, got {legacy_batch_size!r}')
        if prediction not in PREDICTION_FIELDS:
            raise ValueError(f'NegativeAudioMetric: prediction must be one of {tuple(PREDICTION_FIELDS)}, got '
                             f'{prediction!r}')
        positive_scores = dict(positive_scores or {})
        unknown = set(positive_scores) - {'mIoU', 'F'}
        if unknown:
            raise KeyError(f'NegativeAudioMetric: positive_scores keys must be mIoU / F, got {sorted(unknown)}')
        for value in positive_scores.values():
            g_score(value, 0.0, g_mode)  # validates the value and the mode
        g_score(0.0, 0.0, g_mode)
        self.legacy_batch_size = legacy_batch_size
        self.positive_scores = positive_scores
        self.g_mode = g_mode
        self.prediction = prediction
        self.skipped = 0

    def process(self, data_batch: Any, data_samples: Sequence[Union[dict, BaseDataElement]]) -> None:
        """Keep each negative clip's per-frame foreground fractions (float64 ``[T_real]``) and its kind."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            kind = (sample.get('perturbation') or {}).get('negative_audio')
            if kind is None:
                self.skipped += 1
                continue
            key = PREDICTION_FIELDS[self.prediction]
            pred = sample.get(key)
            if pred is None:
                raise KeyError(f'NegativeAudioMetric: data sample of clip {sample.get("vid")} lacks {key}')
            fractions = frame_foreground_fraction(pred, from_logits=self.prediction == 'logits').cpu()
            flags = sample.get('frame_flags')
            if flags is not None:
                fractions = fractions[torch.as_tensor(flags, dtype=torch.bool).cpu()]
            self.results.append(dict(kind=kind, fractions=fractions))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """FPR keys and G-metrics, in percent (see the class docstring)."""
        if not results:
            raise ValueError(f'NegativeAudioMetric: no clip with negative audio among the evaluated ones '
                             f'({self.skipped} skipped without perturbation["negative_audio"])')
        fractions = torch.cat([r['fractions'] for r in results])
        batch = torch.cat([torch.full((len(r['fractions']), ), i // self.legacy_batch_size)
                           for i, r in enumerate(results)])
        fpr = false_positive_rate(fractions)
        values = dict(FPR=fpr, FPR_legacy=false_positive_rate(fractions, batch))
        by_kind = defaultdict(list)
        for r in results:
            by_kind[r['kind']].append(r['fractions'])
        for kind, parts in sorted(by_kind.items()):
            values[f'FPR_{kind}'] = false_positive_rate(torch.cat(parts))
        for name, key in (('mIoU', 'G_mIoU'), ('F', 'G_F')):
            if name in self.positive_scores:
                values[key] = g_score(self.positive_scores[name], fpr, self.g_mode)
        counts = {kind: len(parts) for kind, parts in sorted(by_kind.items())}
        print_log(f'NegativeAudioMetric: {len(results)} negative-audio clips {counts}, {len(fractions)} frames, '
                  f'{self.skipped} other clips skipped', logger='current')
        self.skipped = 0
        return {key: 100.0 * value for key, value in values.items()}
