"""Build a trained AVS model for inference, Runner-free: config -> model -> strict checkpoint load.

:func:`init_model` is mmseg's ``init_model`` for mmavs: it builds ``cfg.model`` with the mmavs registry,
drops every ``init_cfg`` of the model config (inference takes all weights from the checkpoint, so no
pretrained file under ``pretrained/`` is read and ``init_weights`` is never called), loads the checkpoint
strictly (:func:`mmavs.engine.load_checkpoint_into_model`: a checkpoint of another architecture stops with
the missing / unexpected / mis-shaped keys), and attaches ``model.cfg`` and ``model.dataset_meta``
(``classes``, ``palette``) for drawing and naming the predictions.
"""
import copy
import logging
import os.path as osp
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from mmavs.datasets.base_dataset import BINARY_CLASSES, BINARY_PALETTE, AVSBaseDataset
from mmavs.datasets.palette import voc_palette
from mmavs.engine import load_checkpoint_into_model
from mmavs.registry import DATASETS, MODELS
from mmavs.utils import register_all_modules

from .sampling import ClipSpec

ConfigLike = Union[str, Path, Config]

#: Names of the transforms that load a clip from files: inference replaces or drops them.
FRAME_LOADER = 'LoadClipFrames'
MASK_LOADER = 'LoadClipMasks'
AUDIO_LOADER = 'LoadClipAudio'


def load_inference_config(config: ConfigLike, cfg_options: Optional[dict] = None) -> Config:
    """Read a config (a path or a ``Config``, copied) and merge ``cfg_options`` into it."""
    if isinstance(config, (str, Path)):
        if not osp.isfile(str(config)):
            raise FileNotFoundError(f'config file "{config}" does not exist')
        cfg = Config.fromfile(str(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file name or a mmengine Config, got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'config {getattr(cfg, "filename", config)!r} has no "model"')
    return cfg


def drop_init_cfgs(model_cfg: Any) -> Any:
    """Set every ``init_cfg`` in a (nested) model config to None, in place; returns it."""
    if isinstance(model_cfg, dict):
        if 'init_cfg' in model_cfg:
            model_cfg['init_cfg'] = None
        for value in model_cfg.values():
            drop_init_cfgs(value)
    elif isinstance(model_cfg, (list, tuple)):
        for value in model_cfg:
            drop_init_cfgs(value)
    return model_cfg


def model_needs_captions(cfg: Config) -> bool:
    """Whether the config's model reads MIT captions (an ``ICFSegmentor`` with a ``text_encoder``)."""
    return cfg.model.get('text_encoder', None) is not None


def test_dataset_cfg(cfg: Config) -> dict:
    """The dataset config of ``test_dataloader`` (else ``val_dataloader``); its pipeline is the test pipeline."""
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key, None)
        if loader and loader.get('dataset', None):
            dataset = loader['dataset']
            if 'pipeline' not in dataset:
                raise ValueError(f'{key}.dataset is a wrapper ({dataset.get("type")}): the inferencer needs the '
                                 'dataset config with its pipeline')
            return copy.deepcopy(dict(dataset))
    raise ValueError('the config has no test_dataloader / val_dataloader dataset: the inferencer takes the test '
                     'pipeline, the clip length and the class names from it')


def lazy_dataset(cfg: Config) -> AVSBaseDataset:
    """The config's test dataset, built without reading its files (``lazy_init``; metainfo, clip length).

    AVSS reads ``label2idx.json`` for the class names when it exists under ``data_root``.
    """
    register_all_modules(init_default_scope=False)
    dataset = DATASETS.build(dict(test_dataset_cfg(cfg), pipeline=[], lazy_init=True))
    if not isinstance(dataset, AVSBaseDataset):
        raise TypeError(f'the config\'s test dataset is a {type(dataset).__name__}, not an AVS dataset')
    return dataset


def find_transform(pipeline: Sequence[dict], name: str) -> Optional[dict]:
    """The first transform config of type ``name`` (also ``mmavs.<name>``), or None."""
    for transform in pipeline:
        if str(transform.get('type', '')).split('.')[-1] == name:
            return transform
    return None


def clip_spec(cfg: Config, dataset: AVSBaseDataset) -> ClipSpec:
    """The clips the config's model was trained on (see :mod:`mmavs.apis.sampling`).

    ``T`` is the dataset's ``max_frames`` (AVSS: flagged padding) or ``NUM_FRAMES`` (S4 / MS3: repeated
    frames); the audio padding is the test pipeline's ``LoadClipAudio.pad_mode``.
    """
    audio = find_transform(test_dataset_cfg(cfg)['pipeline'], AUDIO_LOADER) or {}
    pad_mode = audio.get('pad_mode', 'repeat_last')
    if hasattr(dataset, 'max_frames'):
        return ClipSpec(num_frames=int(dataset.max_frames), padding='flag', pad_mode=pad_mode,
                        subset=dataset.SUBSET)
    num_frames = getattr(dataset, 'NUM_FRAMES', None)
    if not num_frames:
        raise ValueError(f'{type(dataset).__name__} declares neither max_frames nor NUM_FRAMES: the clip length '
                         'of the model is unknown')
    return ClipSpec(num_frames=int(num_frames), padding='repeat', pad_mode=pad_mode, subset=dataset.SUBSET)


def resolve_dataset_meta(cfg: Config, num_classes: int, checkpoint_meta: Optional[dict] = None,
                         dataset: Optional[AVSBaseDataset] = None) -> Dict[str, list]:
    """Class names and palette of the predictions.

    From the checkpoint's ``meta.dataset_meta`` (MMEngine's Runner stores the training dataset's metainfo)
    when it has one name per class, else from the config's dataset (S4 / MS3: 'background', 'sounding
    object'; AVSS: ``label2idx.json`` under ``data_root`` when it is there), else generic names ``class
    <i>`` with a warning.

    Args:
        cfg (Config): The config.
        num_classes (int): The model's ``num_classes`` (1 for binary masks: two names).
        checkpoint_meta (dict, optional): ``meta`` of the checkpoint.
        dataset (AVSBaseDataset, optional): :func:`lazy_dataset` of ``cfg`` (built when None).

    Returns:
        dict: ``classes`` (tuple of str) and ``palette`` (list of ``[r, g, b]``), one per mask value.
    """
    expected = 2 if num_classes == 1 else num_classes
    candidates = []
    if checkpoint_meta and isinstance(checkpoint_meta.get('dataset_meta', None), dict):
        candidates.append(('the checkpoint', checkpoint_meta['dataset_meta']))
    dataset = dataset if dataset is not None else lazy_dataset(cfg)
    candidates.append((f'the config\'s {type(dataset).__name__}', dataset.metainfo))
    for _, meta in candidates:
        classes = meta.get('classes', None)
        if classes is not None and len(classes) == expected:
            palette = meta.get('palette', None)
            if palette is None or len(palette) != expected:
                palette = BINARY_PALETTE if expected == 2 else voc_palette(expected)
            return dict(classes=tuple(str(c) for c in classes), palette=[list(map(int, c)) for c in palette])
    if expected == 2:
        return dict(classes=BINARY_CLASSES, palette=copy.deepcopy(BINARY_PALETTE))
    print_log(f'class names of the {expected} classes not found (neither in the checkpoint nor in the '
              f'dataset\'s label file, e.g. label2idx.json under data_root); using "class <i>"',
              logger='current', level=logging.WARNING)
    classes = ('background', ) + tuple(f'class {i}' for i in range(1, expected))
    return dict(classes=classes, palette=voc_palette(expected))


def build_inference_model(cfg: Config, checkpoint: Optional[str] = None, device: str = 'cpu',
                          allow_partial: bool = False) -> nn.Module:
    """Build ``cfg.model`` (in place on ``cfg``: its ``init_cfg`` are dropped) and load ``checkpoint``.

    See :func:`init_model`.
    """
    register_all_modules(init_default_scope=False)
    drop_init_cfgs(cfg.model)
    cfg.model.pop('train_cfg', None)
    model = MODELS.build(cfg.model)
    meta = None
    if checkpoint is not None:
        loaded = _load_checkpoint(str(checkpoint), map_location='cpu', logger='current')
        load_checkpoint_into_model(model, loaded, str(checkpoint), allow_partial=allow_partial)
        meta = loaded.get('meta', None) if isinstance(loaded, dict) else None
    else:
        print_log('init_model: no checkpoint given, the model keeps its random initial weights',
                  logger='current', level=logging.WARNING)
    model.cfg = cfg
    model.dataset_meta = resolve_dataset_meta(cfg, int(getattr(model, 'num_classes', 1)), meta)
    model.to(torch.device(device) if isinstance(device, str) else device)
    model.eval()
    return model


def init_model(config: ConfigLike, checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None, allow_partial: bool = False) -> nn.Module:
    """Build a segmentor from a config and load a trained checkpoint strictly.

    Args:
        config (str | Path | Config): Config file or object (a ``Config`` is copied).
        checkpoint (str, optional): Checkpoint file (read weights-only). None: random weights (a warning
            says so), e.g. for timing (``tools/analysis_tools/benchmark_inference.py``).
        device (str): Torch device, e.g. ``'cpu'``, ``'cuda'``, ``'cuda:1'``. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config (``--cfg-options``).
        allow_partial (bool): Load what fits of a checkpoint of another architecture (with a loud warning)
            instead of raising. Defaults to False.

    Returns:
        nn.Module: The model in eval mode on ``device``, with ``model.cfg`` and ``model.dataset_meta``
        (``classes``: one name per mask value, i.e. ('background', 'sounding object') for binary models;
        ``palette``: one ``[r, g, b]`` per class).

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        ValueError: The checkpoint does not fit the model (keys listed), unless ``allow_partial``.
    """
    cfg = load_inference_config(config, cfg_options)
    if checkpoint is not None and '://' not in str(checkpoint) and not osp.isfile(str(checkpoint)):
        raise FileNotFoundError(f'checkpoint file "{checkpoint}" does not exist')
    return build_inference_model(cfg, checkpoint, device, allow_partial)


def segment_window_of(dataset_cfg: dict, spec: ClipSpec) -> int:
    """Segment window of the MIT captions: the dataset config's ``segment_window`` or the subset default."""
    from mmavs.datasets.caption_windows import default_segment_window
    window = dataset_cfg.get('segment_window', None)
    return int(window) if window else default_segment_window(spec.subset, spec.num_frames)


def pipeline_without(pipeline: Sequence[dict], names: Sequence[str]) -> List[dict]:
    """Copies of the transform configs of ``pipeline`` whose type is not one of ``names``."""
    return [copy.deepcopy(dict(t)) for t in pipeline if str(t.get('type', '')).split('.')[-1] not in names]


def transform_names(pipeline: Sequence[dict]) -> Tuple[str, ...]:
    """Type names of the transforms of a pipeline config."""
    return tuple(str(t.get('type', '')).split('.')[-1] for t in pipeline)
