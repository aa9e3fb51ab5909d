"""A dataset wrapper giving each clip what perturbations need from *other* clips of the split."""
import copy
import math
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image

from mmavs.registry import DATASETS

from .offscreen import offscreen_donor
from .seeding import STREAMS, clip_rng

FRAME_MIX_VARIANTS = ('own_gt', 'empty_gt')
NOISE_SOURCES = ('other_clip', )


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def _other_index(rng: np.random.Generator, candidates: Sequence[int]) -> int:
    return int(candidates[int(rng.integers(0, len(candidates)))])


@DATASETS.register_module()
class PerturbedAVSDataset:
    """Wrap an AVS dataset to perturb each clip with material from other clips, reproducibly.

    Every random choice for clip ``i`` comes from :func:`clip_rng` ``(seed, i, stream)`` (the set of mixed
    clips from ``seed`` and the dataset length only), so a run is reproducible, independent of worker order,
    and two models evaluated with the same ``seed`` see the same perturbed data. The wrapped dataset's
    pipeline runs as usual on the modified ``data_info``; waveform transforms (:class:`AddAudioNoise`,
    :class:`ReplaceAudio`) belong in that pipeline. What was done is recorded in
    ``data_info['perturbation']`` (a dict, copied to the data sample's metainfo by ``PackAVSInputs``).

    Perturbations (any combination):

    - ``noise_source='other_clip'``: a donor clip ``j != i`` drawn uniformly; adds ``noise_wav_path`` and
      ``noise_source`` (its vid) for ``AddAudioNoise(kind='clip')`` (R2-Bench background noise). A donor
      without a wav file is an error naming it.
    - ``offscreen_audio=True``: AVSBench-Robust's off-screen sound, the negative audio "another clip's
      audio": the clip gets the audio paths of a donor chosen by :func:`offscreen_donor` (S4: a clip of a
      contrasting coarse class, AVSBench-Robust's rule; MS3 / AVSS: any other clip; details in
      :mod:`mmavs.datasets.perturbations.offscreen`). Records ``perturbation['negative_audio'] =
      'offscreen'`` and ``audio_source`` (the donor).
    - ``frame_mix=dict(fraction=0.25, variant='own_gt', frame_ratio=0.5)``: ``round(fraction * N)`` clips
      (rounded half up; at least 1 when ``fraction > 0``) are chosen uniformly without replacement; in each,
      ``max(1, round(frame_ratio * K))`` (half up) of the ``K``
      frames that are real in both clips are replaced by the same-index frames of one donor clip. Variants:
      ``'own_gt'`` (temporal perturbation: the swapped frames bring their own ground truth, i.e. the donor's
      mask path and GT flag) and ``'empty_gt'`` (strict reading: the swapped frames' sound is not heard, so
      their GT is all background; the packed ``gt_masks`` of those frames are set to 0 and they are scored).
      Records ``perturbation['frame_mix'] = dict(variant, mixed, donor, mixed_frames=[bool] * T)`` on every
      clip (``mixed`` False, all frames False, for the others) so that a metric can split mixed and unmixed
      clips. The donor is drawn among the other clips whose first real frame has the clip's size (read from
      the image header; all S4 / MS3 frames share one size, AVSS frames differ in width); a clip without such
      a donor is an error naming it.

    The waveform transforms have their own ``seed`` argument; give them the wrapper's for one seed per run.

    Args:
        dataset (dict | AVSBaseDataset): The dataset, or its config (built with the mmavs ``DATASETS``).
        seed (int): Seed of all choices. Defaults to 0.
        noise_source (str, optional): ``'other_clip'`` or None. Defaults to None.
        offscreen_audio (bool): Give every clip another clip's audio. Defaults to False.
        frame_mix (dict, optional): ``fraction`` (default 0.25), ``variant`` (``'own_gt'`` / ``'empty_gt'``,
            default ``'own_gt'``), ``frame_ratio`` (default 0.5). None: no mixing.
    """

    def __init__(self,
                 dataset: Union[dict, Any],
                 seed: int = 0,
                 noise_source: Optional[str] = None,
                 offscreen_audio: bool = False,
                 frame_mix: Optional[dict] = None) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        clip_rng(seed, 0, 'noise_donor')  # validates the seed
        self.seed = int(seed)
        if noise_source is not None and noise_source not in NOISE_SOURCES:
            raise ValueError(f'PerturbedAVSDataset: unknown noise_source {noise_source!r}; choose one of '
                             f'{NOISE_SOURCES} or None')
        self.noise_source = noise_source
        self.offscreen_audio = bool(offscreen_audio)
        self.frame_mix = self._check_frame_mix(frame_mix)
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        self._num = len(self.dataset)
        needs_others = noise_source is not None or self.offscreen_audio or self.frame_mix is not None
        if needs_others and self._num < 2:
            raise ValueError(f'PerturbedAVSDataset: perturbations from other clips need at least 2 clips, the '
                             f'dataset has {self._num}')
        self._categories = [self.dataset.get_data_info(i).get('category') for i in range(self._num)]
        self._mixed = self._choose_mixed_clips()
        self._frame_sizes = self._read_frame_sizes() if self._mixed else None

    def full_init(self) -> None:
        """Nothing to do: the wrapped dataset is fully initialised in ``__init__``."""

    def _read_frame_sizes(self) -> List[Optional[tuple]]:
        """``(W, H)`` of each clip's first real frame, from the image header (None: no real frame)."""
        sizes: List[Optional[tuple]] = []
        for i in range(self._num):
            path = next((p for p in self.dataset.get_data_info(i)['frame_paths'] if p is not None), None)
            if path is None:
                sizes.append(None)
                continue
            with Image.open(path) as img:
                sizes.append(tuple(img.size))
        return sizes

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _check_frame_mix(frame_mix: Optional[dict]) -> Optional[dict]:
        if frame_mix is None:
            return None
        if not isinstance(frame_mix, dict):
            raise TypeError(f'PerturbedAVSDataset: frame_mix must be a dict or None, got {frame_mix!r}')
        unknown = set(frame_mix) - {'fraction', 'variant', 'frame_ratio'}
        if unknown:
            raise KeyError(f'PerturbedAVSDataset: unknown frame_mix keys {sorted(unknown)}')
        cfg = dict(fraction=0.25, variant='own_gt', frame_ratio=0.5)
        cfg.update(frame_mix)
        if cfg['variant'] not in FRAME_MIX_VARIANTS:
            raise ValueError(f'PerturbedAVSDataset: unknown frame_mix variant {cfg["variant"]!r}; choose one of '
                             f'{FRAME_MIX_VARIANTS}')
        for key, low_open in (('fraction', False), ('frame_ratio', True)):
            value = cfg[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    (0 < value <= 1) if low_open else (0 <= value <= 1)):
                raise ValueError(f'PerturbedAVSDataset: frame_mix {key} must be a number in '
                                 f'{"(0, 1]" if low_open else "[0, 1]"}, got {value!r}')
        return cfg

    def _choose_mixed_clips(self) -> frozenset:
        if self.frame_mix is None or self.frame_mix['fraction'] == 0:
            return frozenset()
        count = max(1, _round_half_up(self.frame_mix['fraction'] * self._num))
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, STREAMS['frame_mix']]))
        return frozenset(int(i) for i in rng.choice(self._num, size=count, replace=False))

    # ------------------------------------------------------------------ access
    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information."""
        return copy.deepcopy(self.dataset.metainfo)

    @property
    def mixed_clips(self) -> List[int]:
        """Indices of the frame-mixed clips, sorted."""
        return sorted(self._mixed)

    def __len__(self) -> int:
        return self._num

    def _others(self, idx: int) -> List[int]:
        return [j for j in range(self._num) if j != idx]

    def get_data_info(self, idx: int) -> dict:
        """The wrapped ``data_info`` of clip ``idx`` with the perturbations' keys (see the class docstring)."""
        info = self.dataset.get_data_info(idx)
        record = dict(info.get('perturbation') or {}, seed=self.seed)
        if self.noise_source is not None:
            donor = self.dataset.get_data_info(_other_index(clip_rng(self.seed, idx, 'noise_donor'),
                                                            self._others(idx)))
            if donor.get('audio_wav_path') is None:
                raise ValueError(
                    f'PerturbedAVSDataset: noise source clip {donor["vid"]} (drawn for clip {info["vid"]}) has no '
                    f'wav file (its audio: {donor.get("audio_pkl_path")!r}); clip noise needs every clip\'s wav')
            info['noise_wav_path'] = donor['audio_wav_path']
            info['noise_source'] = donor['vid']
        if self.offscreen_audio:
            donor = self.dataset.get_data_info(
                offscreen_donor(clip_rng(self.seed, idx, 'offscreen_donor'), idx, self._categories))
            for key in ('audio_wav_path', 'audio_pkl_path'):
                info[key] = donor.get(key)
            info['audio_source'] = donor['vid']
            record['negative_audio'] = 'offscreen'
        if self.frame_mix is not None:
            record['frame_mix'] = self._mix_frames(idx, info)
        info['perturbation'] = record
        return info

    def _mix_frames(self, idx: int, info: dict) -> dict:
        """Replace frames of a chosen clip in ``info`` (in place); return the record."""
        num_frames = info['num_frames']
        variant = self.frame_mix['variant']
        record = dict(variant=variant, mixed=False, donor=None, mixed_frames=[False] * num_frames)
        if idx not in self._mixed:
            return record
        rng = clip_rng(self.seed, idx, 'frame_mix')
        same_size = [j for j in self._others(idx) if self._frame_sizes[j] == self._frame_sizes[idx]]
        if not same_size:
            raise ValueError(f'PerturbedAVSDataset: no other clip has frames of the size of clip {info["vid"]} '
                             f'({self._frame_sizes[idx]}, W x H) to mix frames with')
        donor = self.dataset.get_data_info(_other_index(rng, same_size))
        limit = min(num_frames, donor['num_frames'])
        candidates = [t for t in range(limit) if info['frame_flags'][t] and donor['frame_flags'][t]]
        if not candidates:
            raise ValueError(f'PerturbedAVSDataset: clips {info["vid"]} and {donor["vid"]} share no real frame '
                             'index to mix')
        count = max(1, _round_half_up(self.frame_mix['frame_ratio'] * len(candidates)))
        chosen = sorted(int(t) for t in rng.choice(candidates, size=count, replace=False))
        any_mask = next((p for p in info['mask_paths'] if p is not None), None)
        for t in chosen:
            info['frame_paths'][t] = donor['frame_paths'][t]
            if variant == 'own_gt':
                info['mask_paths'][t] = donor['mask_paths'][t]
            else:  # a mask file only gives the size; the packed GT of the frame is set to 0
                path = donor['mask_paths'][t] or info['mask_paths'][t] or any_mask
                if path is None:
                    raise ValueError(f'PerturbedAVSDataset: clip {info["vid"]} has no mask to size the empty GT')
                info['mask_paths'][t] = path
            record['mixed_frames'][t] = True
        info['gt_flags'] = [p is not None for p in info['mask_paths']]
        record.update(mixed=True, donor=donor['vid'])
        return record

    def __getitem__(self, idx: int) -> Any:
        """Run the wrapped pipeline on the perturbed ``data_info`` (empties the GT of ``'empty_gt'`` frames)."""
        info = self.get_data_info(idx)
        data = self.dataset.pipeline(info)
        if data is None:
            raise RuntimeError(f'PerturbedAVSDataset: the pipeline returned None for clip {info["vid"]}')
        mix = info['perturbation'].get('frame_mix')
        if mix is not None and mix['mixed'] and mix['variant'] == 'empty_gt':
            frames = torch.tensor(mix['mixed_frames'], dtype=torch.bool)
            sample = data.get('data_samples') if isinstance(data, dict) else None
            if sample is not None and 'gt_masks' in sample:
                sample.gt_masks[frames] = 0
            elif isinstance(data, dict) and data.get('gt_masks') is not None:
                data['gt_masks'][frames.numpy()] = 0
        return data

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(seed={self.seed}, noise_source={self.noise_source!r}, '
                f'offscreen_audio={self.offscreen_audio}, frame_mix={self.frame_mix}, dataset={self.dataset!r})')


