"""Measure configs: inference and training time, their split by the segmentor's parts, peak memory, parameters,
FLOPs, the parts' compute rates and the data pipelines' throughput (``tools/analysis_tools/benchmark.py``,
``docs/benchmark.md``)."""
from .config_bench import benchmark_config, dataset_cfg_of, generated_data_root
from .data import pipeline_throughput
from .model import (
                    AMP_DTYPES,
                    autocast,
                    count_parameters,
                    flops_per_clip,
                    make_batches,
                    peak_memory_mb,
                    time_inference,
                    time_train_step,
)
from .parts import PART_GROUPS, PartTimer, device_synchronizer
from .rates import dense_peak_gflops, inference_rates, part_flops

__all__ = [
    'AMP_DTYPES', 'PART_GROUPS', 'PartTimer', 'autocast', 'benchmark_config', 'count_parameters', 'dataset_cfg_of',
    'dense_peak_gflops', 'device_synchronizer', 'flops_per_clip', 'generated_data_root', 'inference_rates',
    'make_batches', 'part_flops', 'peak_memory_mb', 'pipeline_throughput', 'time_inference', 'time_train_step'
]
