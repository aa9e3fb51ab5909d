"""Clips per second of a dataset's pipeline in one process (= one dataloader worker), by transform.

A dataloader worker runs ``dataset[i]``: ``get_data_info`` and the pipeline's transforms in turn. This runs the
same steps on the first clips of the dataset, timing each transform, so the figure is what one worker
delivers (with ``W`` workers a loader delivers at most ``W`` times as much while cores are free), and the
split says which transform to make faster.
"""
import time
from collections import defaultdict
from typing import Dict

from mmengine.dataset import BaseDataset


def _transform_name(transform: object) -> str:
    return type(transform).__name__


def pipeline_throughput(dataset: BaseDataset, num_clips: int, warmup: int = 1) -> Dict[str, object]:
    """Run the pipeline of ``dataset`` on ``warmup + num_clips`` clips (cycling) and time it.

    Args:
        dataset (BaseDataset): A built dataset (``full_init`` is run if needed) with a ``pipeline``.
        num_clips (int): Timed clips (>= 1).
        warmup (int): Untimed clips run first (file caches, lazy imports).

    Returns:
        dict: ``clips_per_s`` (timed clips / seconds), ``ms_per_clip``, ``transforms`` (``get_data_info``, then each
        transform's class name -> ms per clip, in pipeline order; a class used twice is summed), ``clips``.
    """
    if num_clips < 1:
        raise ValueError(f'num_clips must be >= 1, got {num_clips}')
    dataset.full_init()
    if len(dataset) == 0:
        raise ValueError(f'{type(dataset).__name__} has no clip to run the pipeline on')
    transforms = list(dataset.pipeline.transforms)
    seconds: Dict[str, float] = defaultdict(float)
    for n in range(warmup + num_clips):
        start = time.perf_counter()
        results = dataset.get_data_info(n % len(dataset))
        if n >= warmup:
            seconds['get_data_info'] += time.perf_counter() - start
        for transform in transforms:
            start = time.perf_counter()
            results = transform(results)
            if n >= warmup:
                seconds[_transform_name(transform)] += time.perf_counter() - start
            if results is None:
                raise ValueError(f'{_transform_name(transform)} dropped clip {n % len(dataset)} (returned None)')
    total = sum(seconds.values())
    return dict(clips_per_s=num_clips / total if total > 0 else float('inf'), ms_per_clip=1e3 * total / num_clips,
                transforms={name: 1e3 * value / num_clips for name, value in seconds.items()}, clips=num_clips)
