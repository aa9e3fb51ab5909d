"""Data preprocessor: stack clips, normalise frames, move everything to the model's device."""
from typing import Any, Dict, List, Mapping, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from mmavs.registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class AVSDataPreprocessor(BaseDataPreprocessor):
    """Batch clips for :class:`~mmavs.models.AVSSegmentor`.

    Accepts the output of ``pseudo_collate`` on :class:`~mmavs.datasets.transforms.PackAVSInputs` results
    (``inputs`` a dict of per-clip lists), a list of per-clip input dicts, or already-stacked tensors, and
    returns ``dict(inputs=dict(frames, audio, ...), data_samples)``:

    - ``frames``: float ``[B, T, 3, H, W]``, ``(x - mean) / std`` per RGB channel;
    - ``audio``: float ``[B, T, 1, 96, 64]``;
    - any other ``inputs`` key is moved to the device unchanged (lists stay lists);
    - data samples are moved to the device.

    Clips of a batch must share ``T`` and ``H, W`` (the pipeline resizes / crops / pads them).

    Args:
        mean (Sequence[float]): Per-channel mean of RGB frames in 0..255. Defaults to ImageNet.
        std (Sequence[float]): Per-channel std. Defaults to ImageNet.
        non_blocking (bool): Non-blocking device copies. Defaults to False.
    """

    def __init__(self,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'AVSDataPreprocessor: mean and std need 3 (RGB) values, got {mean} and {std}')
        if any(s <= 0 for s in std):
            raise ValueError(f'AVSDataPreprocessor: std must be positive, got {std}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 1, 3, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Stack, normalise and move a batch.

        Args:
            data (dict): ``dict(inputs=..., data_samples=...)`` from the dataloader.
            training (bool): Unused (no batch augmentation).

        Returns:
            dict: ``dict(inputs=dict(frames=[B, T, 3, H, W], audio=[B, T, 1, 96, 64], ...),
            data_samples=list | None)`` on the model's device.
        """
        if not isinstance(data, Mapping) or 'inputs' not in data:
            raise ValueError('AVSDataPreprocessor: data must be a dict with an "inputs" key, got '
                             f'{type(data).__name__}')
        inputs = self._as_dict_of_batches(data['inputs'])
        for key in ('frames', 'audio'):
            if key not in inputs:
                raise KeyError(f'AVSDataPreprocessor: inputs lack "{key}" (got keys {sorted(inputs)})')
        frames = self._stack('frames', inputs['frames'], trailing_dims=3)
        audio = self._stack('audio', inputs['audio'], trailing_dims=3)
        if frames.shape[2] != 3:
            raise ValueError(f'AVSDataPreprocessor: frames must be [T, 3, H, W] RGB, got {tuple(frames.shape)}')
        if audio.shape[:2] != frames.shape[:2]:
            raise ValueError(f'AVSDataPreprocessor: audio {tuple(audio.shape)} and frames {tuple(frames.shape)} '
                             'disagree on batch size or number of frames T')
        frames = frames.to(self.device, non_blocking=self._non_blocking).float()
        frames = (frames - self.mean) / self.std
        audio = audio.to(self.device, non_blocking=self._non_blocking).float()
        out_inputs = {k: self.cast_data(v) for k, v in inputs.items() if k not in ('frames', 'audio')}
        out_inputs.update(frames=frames, audio=audio)
        data_samples = data.get('data_samples', None)
        if data_samples is not None:
            data_samples = self.cast_data(data_samples)
            frames = self._zero_padded_frames(frames, data_samples)
            out_inputs['frames'] = frames
        return dict(inputs=out_inputs, data_samples=data_samples)

    @staticmethod
    def _zero_padded_frames(frames: Tensor, data_samples: Sequence) -> Tensor:
        """Set frames without an image to 0 *after* normalisation, as the official AVSS code.

        Those are the padded frames (``frame_flags`` False) and the blank ones (``blank_flags`` True:
        padding trained as a real frame, ``AVSSDataset(short_v2_train='legacy')``); the official loader
        pads with ``torch.zeros_like`` of the normalised frame in both cases.

        Args:
            frames (Tensor): ``[B, T, 3, H, W]`` normalised frames.
            data_samples (Sequence[AVSDataSample]): One per clip; samples without ``frame_flags`` /
                ``blank_flags`` keep all their frames.

        Returns:
            Tensor: ``frames`` with the frames without an image zeroed.
        """
        num_frames, device = frames.shape[1], frames.device
        keep = []
        for sample in data_samples:
            flags = sample.get('frame_flags', None)
            blank = sample.get('blank_flags', None)
            has_image = torch.ones(num_frames, dtype=torch.bool, device=device)
            if flags is not None:
                has_image &= flags.to(device).bool()
            if blank is not None:
                has_image &= ~blank.to(device).bool()
            keep.append(has_image)
        keep = torch.stack(keep)
        if bool(keep.all()):
            return frames
        return frames * keep.view(*keep.shape, 1, 1, 1).to(frames.dtype)

    @staticmethod
    def _as_dict_of_batches(inputs: Union[Mapping, Sequence[Mapping]]) -> Dict[str, Any]:
        """Turn a list of per-clip dicts into a dict of per-key lists; pass a dict through."""
        if isinstance(inputs, Mapping):
            return dict(inputs)
        if isinstance(inputs, Sequence) and len(inputs) > 0 and all(isinstance(x, Mapping) for x in inputs):
            keys = set(inputs[0])
            for i, item in enumerate(inputs):
                if set(item) != keys:
                    raise ValueError(f'AVSDataPreprocessor: clip {i} has input keys {sorted(item)}, clip 0 has '
                                     f'{sorted(keys)}')
            return {k: [item[k] for item in inputs] for k in inputs[0]}
        raise ValueError('AVSDataPreprocessor: inputs must be a dict (collated) or a non-empty list of dicts, '
                         f'got {type(inputs).__name__}')

    @staticmethod
    def _stack(name: str, value: Union[Tensor, List[Tensor]], trailing_dims: int) -> Tensor:
        """Stack per-clip ``[T, ...]`` tensors into ``[B, T, ...]`` (or check an already stacked batch)."""
        if isinstance(value, Tensor):
            if value.dim() != trailing_dims + 2:
                raise ValueError(f'AVSDataPreprocessor: stacked "{name}" must have {trailing_dims + 2} dims '
                                 f'[B, T, ...], got shape {tuple(value.shape)}')
            return value
        if not isinstance(value, Sequence) or len(value) == 0 or not all(isinstance(v, Tensor) for v in value):
            raise ValueError(f'AVSDataPreprocessor: "{name}" must be a tensor or a non-empty list of tensors')
        shapes = [tuple(v.shape) for v in value]
        if any(len(s) != trailing_dims + 1 for s in shapes):
            raise ValueError(f'AVSDataPreprocessor: each clip\'s "{name}" must have {trailing_dims + 1} dims '
                             f'[T, ...], got shapes {shapes}')
        if len(set(shapes)) != 1:
            raise ValueError(f'AVSDataPreprocessor: clips in a batch must share T and spatial size; "{name}" '
                             f'shapes differ: {shapes}. Resize/crop clips to one size and pad to one T.')
        return torch.stack(list(value), dim=0)
