"""Pack a loaded clip into model inputs and an :class:`AVSDataSample`."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmavs.registry import TRANSFORMS
from mmavs.structures import AVSDataSample

DEFAULT_META_KEYS = ('vid', 'subset', 'split', 'num_frames', 'ori_shape', 'img_shape', 'category',
                     'label_type', 'flip', 'audio_source', 'num_classes', 'perturbation')

_PRODUCERS = dict(
    frames='LoadClipFrames',
    audio='LoadClipAudio',
    frame_flags='the dataset (AVS datasets set it in data_info)',
    gt_flags='the dataset (AVS datasets set it in data_info)')


def _require(results: dict, key: str) -> object:
    if key not in results or results[key] is None:
        raise KeyError(
            f'PackAVSInputs: results lack "{key}", which {_PRODUCERS[key]} produces; add it to the '
            f'pipeline before PackAVSInputs (clip "{results.get("vid")}")')
    return results[key]


@TRANSFORMS.register_module()
class PackAVSInputs(BaseTransform):
    """Pack frames, audio, masks and flags of one clip for the model.

    Output: ``dict(inputs=dict(frames=..., audio=...), data_samples=AVSDataSample)`` with

    - ``inputs['frames']``: torch.uint8 ``[T, 3, H, W]`` (RGB) from ``frames`` ``[T, H, W, 3]``;
    - ``inputs['audio']``: torch.float32 ``[T, 1, 96, 64]`` from ``audio``;
    - ``data_samples.gt_masks``: LongTensor ``[T, H, W]`` from ``gt_masks`` (omitted if absent, e.g. for
      inference without ground truth);
    - ``data_samples.frame_flags`` / ``gt_flags``: BoolTensor ``[T]``; ``blank_flags`` too when ``results``
      has it (padding trained as a real frame, ``AVSSDataset(short_v2_train='legacy')``);
    - ``data_samples.metainfo``: the ``meta_keys`` present in ``results``; ``flip`` is False when no
      flip transform ran; ``captions`` (MIT text, ``dict(video=str, segments=[str], frames=[str],
      frame_segment=[int] * T)``, see :mod:`mmavs.datasets.caption_file`) whenever ``results`` holds
      ``captions`` (datasets with ``with_text=True``), whatever ``meta_keys`` says.

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo. Defaults to ``DEFAULT_META_KEYS``
            (vid, subset, split, num_frames, ori_shape, img_shape, category, label_type, flip,
            audio_source, num_classes, and ``perturbation``: the record of test-time perturbations,
            :mod:`mmavs.datasets.perturbations`, present only when one was applied).
        allow_missing_audio (bool): Pack clips without ``audio`` (``inputs`` then has no ``audio``
            key) instead of raising KeyError. For visual-only models. Defaults to False.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS,
                 allow_missing_audio: bool = False) -> None:
        self.meta_keys = tuple(meta_keys)
        self.allow_missing_audio = allow_missing_audio

    def transform(self, results: dict) -> dict:
        """Pack the clip.

        Args:
            results (dict): With ``frames`` np.uint8 ``[T, H, W, 3]``, ``audio`` ``[T, 1, 96, 64]``,
                ``frame_flags``, ``gt_flags`` (length ``T``) and optionally ``gt_masks``
                ``[T, H, W]``.

        Returns:
            dict: ``inputs`` and ``data_samples``.
        """
        vid = results.get('vid')
        frames = np.asarray(_require(results, 'frames'))
        if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
            raise ValueError(f'PackAVSInputs: clip "{vid}": frames must be uint8 [T, H, W, 3], got '
                             f'{frames.dtype} {list(frames.shape)}')
        num_frames = frames.shape[0]
        if results.get('num_frames', num_frames) != num_frames:
            raise ValueError(
                f'PackAVSInputs: clip "{vid}": num_frames={results["num_frames"]} but frames hold '
                f'{num_frames}')
        inputs = dict(frames=torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))))

        if 'audio' in results and results['audio'] is not None:
            audio = results['audio']
            audio = audio.detach().cpu() if isinstance(audio, torch.Tensor) else torch.from_numpy(
                np.ascontiguousarray(audio))
            audio = audio.to(torch.float32)
            if tuple(audio.shape) != (num_frames, 1, 96, 64):
                raise ValueError(
                    f'PackAVSInputs: clip "{vid}": audio must be [{num_frames}, 1, 96, 64] (one VGGish '
                    f'example per frame), got {list(audio.shape)}')
            inputs['audio'] = audio
        elif not self.allow_missing_audio:
            _require(results, 'audio')

        data_sample = AVSDataSample()
        for key in ('frame_flags', 'gt_flags'):
            flags = torch.as_tensor(np.asarray(_require(results, key), dtype=bool))
            if flags.shape != (num_frames, ):
                raise ValueError(
                    f'PackAVSInputs: clip "{vid}": {key} has shape {list(flags.shape)}, expected '
                    f'[{num_frames}]')
            data_sample.set_data({key: flags})
        if results.get('blank_flags') is not None:
            blank = torch.as_tensor(np.asarray(results['blank_flags'], dtype=bool))
            if blank.shape != (num_frames, ):
                raise ValueError(f'PackAVSInputs: clip "{vid}": blank_flags has shape {list(blank.shape)}, '
                                 f'expected [{num_frames}]')
            data_sample.blank_flags = blank
        if results.get('gt_masks') is not None:
            masks = np.asarray(results['gt_masks'])
            if masks.shape != (num_frames, *frames.shape[1:3]):
                raise ValueError(
                    f'PackAVSInputs: clip "{vid}": gt_masks {list(masks.shape)} do not match frames '
                    f'{list(frames.shape[:3])}')
            data_sample.gt_masks = torch.from_numpy(masks.astype(np.int64))

        meta = {key: results[key] for key in self.meta_keys if key in results}
        if 'flip' in self.meta_keys:
            meta.setdefault('flip', False)
        if results.get('captions') is not None:
            meta['captions'] = self._check_captions(results['captions'], num_frames, vid)
        data_sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=data_sample)

    @staticmethod
    def _check_captions(captions: dict, num_frames: int, vid: object) -> dict:
        """Check the ``captions`` of a clip against its length ``T``; return a copy."""
        keys = ('video', 'segments', 'frames', 'frame_segment')
        if not isinstance(captions, dict) or any(k not in captions for k in keys):
            raise ValueError(f'PackAVSInputs: clip "{vid}": captions must be a dict with keys {keys}, '
                             f'got {captions!r:.200}')
        frame_segment = [int(i) for i in captions['frame_segment']]
        if len(frame_segment) != num_frames:
            raise ValueError(
                f'PackAVSInputs: clip "{vid}": captions["frame_segment"] has {len(frame_segment)} '
                f'entries, the clip has {num_frames} frames')
        return dict(
            video=captions['video'],
            segments=list(captions['segments']),
            frames=list(captions['frames']),
            frame_segment=frame_segment)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'allow_missing_audio={self.allow_missing_audio})')
