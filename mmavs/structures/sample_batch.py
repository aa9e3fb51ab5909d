"""Stacking the per-clip fields of a batch of :class:`AVSDataSample` (one place for the segmentors and losses).

A batch is a list of ``B`` data samples of ``T`` frames each, in clip order; the model works on
``N = B*T`` frames, frames of a clip consecutive.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


def stack_sample_field(data_samples: Optional[Sequence], name: str,
                       owner: str = 'AVSDataSample batch') -> Optional[Tensor]:
    """Stack one per-clip field of all samples into ``[B, T, ...]``.

    Args:
        data_samples (Sequence[AVSDataSample], optional): One per clip.
        name (str): Data field, e.g. ``'gt_masks'`` ``[T, H, W]`` or ``'frame_flags'`` ``[T]``.
        owner (str): Name used in the error message.

    Returns:
        Tensor, optional: ``[B, T, ...]``; None when there are no samples or any sample lacks the field.

    Raises:
        ValueError: The samples hold the field with different shapes.
    """
    values = [sample.get(name, None) for sample in data_samples or ()]
    if not values or any(v is None for v in values):
        return None
    shapes = {tuple(v.shape) for v in values}
    if len(shapes) != 1:
        raise ValueError(f'{owner}: data samples have {name!r} of different shapes {sorted(shapes)}')
    return torch.stack(values)


def stack_frame_field(data_samples: Optional[Sequence], name: str,
                      owner: str = 'AVSDataSample batch') -> Optional[Tensor]:
    """:func:`stack_sample_field` with clips and frames flattened: ``[N, ...]`` (``N = B*T``) or None."""
    stacked = stack_sample_field(data_samples, name, owner)
    return None if stacked is None else stacked.flatten(0, 1)


def frame_ground_truth(owner: str, data_samples: Optional[Sequence], num_frames_total: int,
                       device: torch.device, ignore_index: int = 255) -> Tuple[Tensor, Tensor]:
    """Frame-level masks of a batch and which frames have ground truth.

    Args:
        owner (str): Name used in error messages.
        data_samples (Sequence[AVSDataSample]): With ``gt_masks`` ``[T, H, W]`` and optionally
            ``gt_flags`` ``[T]``.
        num_frames_total (int): Expected ``N = B*T`` (the number of predicted frames).
        device (torch.device): Output device.
        ignore_index (int): Value of pixels without ground truth. Defaults to 255.

    Returns:
        tuple[Tensor, Tensor]: ``gt_masks`` Long ``[N, H, W]`` and ``gt_valid`` Bool ``[N]`` (the
        ``gt_flags``; without them, frames whose mask is not all ``ignore_index``).

    Raises:
        ValueError: A sample lacks ``gt_masks``, or they give another number of frames than
            ``num_frames_total``.
    """
    gt_masks = stack_frame_field(data_samples, 'gt_masks', owner)
    if gt_masks is None:
        raise ValueError(f'{owner}: every data sample needs gt_masks [T, H, W]')
    if gt_masks.shape[0] != num_frames_total:
        raise ValueError(f'{owner}: {gt_masks.shape[0]} ground-truth frames for {num_frames_total} '
                         'predicted frames')
    gt_masks = gt_masks.to(device).long()
    gt_flags = stack_frame_field(data_samples, 'gt_flags', owner)
    if gt_flags is None:
        gt_valid = (gt_masks != ignore_index).flatten(1).any(1)
    else:
        gt_valid = gt_flags.to(device=device, dtype=torch.bool).reshape(-1)
    return gt_masks, gt_valid
