"""A config's test dataset on any split, and a trained model run over it (the analysis tools' common part).

:func:`split_dataset_cfg` / :func:`build_split_dataset` give the dataset of ``test_dataloader`` (else
``val_dataloader``) with its test pipeline on another split or data root, in test mode, every clip heard with
its own audio unless an ``audio_shuffle_seed`` is given (a config dumped by ``tools/test.py --shuffle-audio``
carries one; the analysis tools decide themselves). :func:`predict_samples` runs ``model.test_step`` over it in
batches, Runner-free: the tools that need per-sample outputs (frame statistics, qualitative figures)
without an evaluator loop; :func:`collated_batches` gives the batches themselves to tools that call other
parts of the model (decoder features).
"""
from typing import Iterator, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch import nn

from mmavs.registry import DATASETS
from mmavs.utils import register_all_modules

from .inference import test_dataset_cfg


def split_dataset_cfg(cfg: Config,
                      split: Optional[str] = None,
                      data_root: Optional[str] = None,
                      audio_shuffle_seed: Optional[int] = None) -> dict:
    """The config's test dataset config on ``split`` (default: the config's), test mode, own audio.

    Args:
        cfg (Config): A training / test config.
        split (str, optional): ``'train'`` / ``'val'`` / ``'test'``; None keeps the config's.
        data_root (str, optional): Replaces the dataset's ``data_root``.
        audio_shuffle_seed (int, optional): Replaces the config's (None: every clip with its own audio).

    Returns:
        dict: A deep copy, ready for the mmavs ``DATASETS`` registry.

    Raises:
        ValueError: The config has no test / val dataset, or it is a wrapper without a pipeline.
    """
    dataset_cfg = test_dataset_cfg(cfg)
    dataset_cfg.update(test_mode=True, audio_shuffle_seed=audio_shuffle_seed)
    if split is not None:
        dataset_cfg['split'] = split
    if data_root:
        dataset_cfg['data_root'] = data_root
    return dataset_cfg


def build_split_dataset(cfg: Config,
                        split: Optional[str] = None,
                        data_root: Optional[str] = None,
                        audio_shuffle_seed: Optional[int] = None):
    """Build :func:`split_dataset_cfg` with the mmavs registry (files are checked at build time)."""
    register_all_modules(init_default_scope=False)
    return DATASETS.build(split_dataset_cfg(cfg, split, data_root, audio_shuffle_seed))


def collated_batches(dataset, batch_size: int = 4, indices: Optional[Sequence[int]] = None) -> Iterator[dict]:
    """Yield ``pseudo_collate`` batches of the clips ``indices`` (default: all), in order.

    Args:
        dataset: Any dataset whose items are ``dict(inputs=..., data_samples=...)``.
        batch_size (int): Clips per batch (>= 1).
        indices (Sequence[int], optional): Clip indices.

    Yields:
        dict: ``inputs`` (lists of per-clip tensors) and ``data_samples`` (list), ready for
        ``model.data_preprocessor(batch, False)``.
    """
    if batch_size < 1:
        raise ValueError(f'collated_batches: batch_size must be >= 1, got {batch_size}')
    order = list(range(len(dataset))) if indices is None else list(indices)
    for start in range(0, len(order), batch_size):
        yield pseudo_collate([dataset[i] for i in order[start:start + batch_size]])


def predict_samples(model: nn.Module,
                    dataset,
                    batch_size: int = 4,
                    indices: Optional[Sequence[int]] = None) -> Iterator:
    """Yield ``model.test_step`` data samples for the clips ``indices`` (default: all), in order.

    Args:
        model (nn.Module): A segmentor (put in eval mode here).
        dataset: Any dataset whose items are ``dict(inputs=..., data_samples=...)`` (a built AVS dataset,
            or a wrapper such as ``PerturbedAVSDataset``).
        batch_size (int): Clips per ``test_step`` call (>= 1).
        indices (Sequence[int], optional): Clip indices.

    Yields:
        AVSDataSample: One per clip, with ``pred_logits`` ``[T, C, H, W]`` / ``pred_masks`` ``[T, H, W]`` and
        the clip's ground truth and metainfo.
    """
    if batch_size < 1:
        raise ValueError(f'predict_samples: batch_size must be >= 1, got {batch_size}')
    model.eval()
    with torch.no_grad():
        for batch in collated_batches(dataset, batch_size, indices):
            yield from model.test_step(batch)
