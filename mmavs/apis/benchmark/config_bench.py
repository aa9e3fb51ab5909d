"""Benchmark one config: its datasets on real or generated data, its model with random weights, all figures.

:func:`benchmark_config` is what ``tools/analysis_tools/benchmark.py`` runs in one child process per config.
The model is built as the inferencer builds it (every ``init_cfg`` dropped: random weights, no pretrained
file needed) and fed with batches of the config's own train / test datasets and pipelines, so each config
runs at its own input size. Without a data root a small seeded set of the config's subset is generated in
the official layout (:func:`mmavs.datasets.synthetic.generate_avsbench`, frames ``frame_size`` high, with
captions for MIT models) in a temporary folder.
"""
import copy
import os.path as osp
import tempfile
from typing import Dict, Optional

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmavs.engine import amp_optim_wrapper
from mmavs.registry import DATASETS, MODELS
from mmavs.utils import register_all_modules

from ..inference import drop_init_cfgs, lazy_dataset
from .data import pipeline_throughput
from .model import AMP_DTYPES, count_parameters, flops_per_clip, make_batches, time_inference, time_train_step
from .rates import dense_peak_gflops, inference_rates


def _innermost(dataset_cfg: dict) -> dict:
    """The dataset config holding the pipeline (inside dataset wrappers)."""
    while 'pipeline' not in dataset_cfg and 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def dataset_cfg_of(cfg: Config, loader: str, data_root: Optional[str]) -> dict:
    """A copy of ``cfg[loader].dataset`` with ``data_root`` set on the dataset that holds the pipeline."""
    dataset_cfg = copy.deepcopy(dict(cfg[loader]['dataset']))
    if data_root is not None:
        _innermost(dataset_cfg)['data_root'] = data_root
    return dataset_cfg


def generated_data_root(cfg: Config, folder: str, frame_size: int, num_clips: int) -> str:
    """Generate ``num_clips`` train and test clips of the config's subset under ``folder``; return the data root."""
    from mmavs.datasets.synthetic import MS3_DIRNAME, S4_DIRNAME, generate_avsbench
    subset = lazy_dataset(cfg).SUBSET
    generate_avsbench(folder, subset=subset, num_train=num_clips, num_val=1, num_test=num_clips, size=frame_size)
    return dict(s4=osp.join(folder, S4_DIRNAME), ms3=osp.join(folder, MS3_DIRNAME)).get(subset, folder)


def benchmark_config(cfg: Config,
                     device: str = 'cpu',
                     data_root: Optional[str] = None,
                     frame_size: int = 224,
                     clips: int = 5,
                     steps: int = 10,
                     warmup: int = 2,
                     batch_size: int = 1,
                     train_batch_size: Optional[int] = None,
                     amp: Optional[str] = None,
                     train: bool = True,
                     flops: bool = True,
                     data_clips: int = 0) -> Dict[str, object]:
    """Every figure of one config (see :mod:`mmavs.apis.benchmark`).

    Args:
        cfg (Config): The config (``cfg_options`` already merged).
        device (str): Torch device. Defaults to 'cpu'.
        data_root (str, optional): An official-layout data root for the config's datasets; None generates one.
        frame_size (int): Frame height of the generated data (S4 / MS3 ship 224 x 224). Defaults to 224.
        clips (int): Timed inference batches. Defaults to 5.
        steps (int): Timed training steps. Defaults to 10.
        warmup (int): Untimed batches / steps first. Defaults to 2.
        batch_size (int): Clips per inference batch. Defaults to 1 (per-clip latency).
        train_batch_size (int, optional): Clips per training step; defaults to ``train_dataloader.batch_size``.
        amp (str, optional): 'fp16' / 'bf16': inference under ``torch.autocast``, training with MMEngine's
            ``AmpOptimWrapper`` (CUDA only; on the CPU the training figures are fp32 and ``train_amp`` says why).
        train (bool): Time training steps. Defaults to True.
        flops (bool): Count FLOPs, and with them the parts' compute rates against the device's dense-arithmetic
            ceiling (``inference['rates']``, :mod:`mmavs.apis.benchmark.rates`). Defaults to True.
        data_clips (int): Clips for the pipeline throughput of the train and test datasets (0: not measured).

    Returns:
        dict: ``device``, ``params`` (M), ``input`` (frames shape of a test clip), ``inference``, ``train``,
        ``flops``, ``data`` (per dataset), ``train_amp``.
    """
    register_all_modules()
    device_t = torch.device(device)
    train_batch_size = train_batch_size or int(cfg.train_dataloader.get('batch_size', 1))
    with tempfile.TemporaryDirectory(prefix='mmavs_benchmark_') as folder:
        if data_root is None:
            data_root = generated_data_root(cfg, folder, frame_size, max(batch_size, train_batch_size))
        test_set = DATASETS.build(dataset_cfg_of(cfg, 'test_dataloader', data_root))
        train_set = DATASETS.build(dataset_cfg_of(cfg, 'train_dataloader', data_root)) if train else None
        result: Dict[str, object] = dict(device=device, data_root=data_root, amp=amp)
        if data_clips:
            result['data'] = {name: pipeline_throughput(dataset, data_clips)
                              for name, dataset in (('train', train_set), ('test', test_set)) if dataset is not None}
        model_cfg = drop_init_cfgs(copy.deepcopy(cfg.model))
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
        model.init_weights()
        model.to(device_t)
        result['params'] = count_parameters(model)
        test_batches = make_batches(test_set, batch_size, warmup + clips)
        result['input'] = list(test_batches[0]['inputs']['frames'][0].shape)
        if flops:
            result['flops'] = flops_per_clip(model, test_batches[0])
        result['inference'] = time_inference(model, test_batches, warmup, device_t, amp)
        if flops:
            dtype = AMP_DTYPES[amp] if amp is not None else torch.float32
            result['inference']['rates'] = inference_rates(result['flops']['parts'], result['inference']['parts'],
                                                           dense_peak_gflops(device_t, dtype))
        if train:
            wrapper_cfg = dict(cfg.optim_wrapper)
            result['train_amp'] = None
            if amp is not None and device_t.type == 'cuda':
                wrapper_cfg = amp_optim_wrapper(cfg.optim_wrapper, amp)
                result['train_amp'] = amp
            elif amp is not None:
                result['train_amp'] = ('not measured: MMEngine\'s AmpOptimWrapper needs CUDA; the training figures '
                                       'are fp32')
            optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
            train_batches = make_batches(train_set, train_batch_size, warmup + steps)
            result['train'] = dict(time_train_step(model, optim_wrapper, train_batches, warmup, device_t),
                                   batch_size=train_batch_size)
    return result
