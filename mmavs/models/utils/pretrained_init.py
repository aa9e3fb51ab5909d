"""The ``Pretrained`` initializer of the mmavs scope: official checkpoints, converted in memory, loaded strictly.

:func:`load_pretrained` reads the file safely (:mod:`.checkpoint_file`), detects the family and converts the
keys (:mod:`.checkpoint_keys`), then copies the tensors with a coverage report (:func:`load_state_dict_strict`):
official keys that are deliberately unused (classifier heads, the CLIP image tower) are listed as *dropped*;
keys left over after conversion (*unexpected*) and module entries the checkpoint does not provide
(*missing*, except the module's own additions such as ``AudioBackbone.proj``, :data:`ALLOWED_MISSING`)
raise a ``ValueError`` in strict mode (default) and are logged as warnings otherwise; a shape mismatch
always raises a ``ValueError`` naming the key.

Which modules take official checkpoints is declared by the modules, not looked up by importing them (the
backbones import this module, so it must not import them back):

* ``pretrained_kind`` (class attribute, a key of :data:`~.checkpoint_keys.TARGET_FAMILIES`): ``'pvt_v2'``
  on ``PVTv2``, ``'vggish'`` on ``AudioBackbone``, ``'clip_text'`` on ``CLIPCaptionEncoder``;
* ``pretrained_body`` (class attribute, a child's name): ``'body'`` on ``VisualBackbone``, whose encoder
  takes the checkpoint.

mmseg's ``ResNet`` (the ``VisualBackbone`` body for ``resnet*`` archs) and ``MixVisionTransformer`` are
third-party classes that cannot carry the attribute; they are recognised by class, imported from mmseg
(upstream of mmavs, so no cycle), as before the split.

With ``default_scope='mmavs'`` (or the ``_scope_='mmavs'`` that :func:`pretrained_init_cfg` adds), the
config ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` builds :class:`AVSPretrainedInit`, which does
the above for those modules and falls back to MMEngine's ``PretrainedInit`` for any other module. The name
``Pretrained`` is kept so that MMEngine still applies it after the children's own initialisation.
"""
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch import nn

from mmavs.registry import WEIGHT_INITIALIZERS, with_mmavs_scope

from .checkpoint_file import load_state_dict_file, missing_file_message
from .checkpoint_keys import (
    MODEL_ZOO_DOC,
    CheckpointMatch,
    StateDict,
    convert_checkpoint,
    match_state_dicts,
    short_list,
    strip_prefix,
)

#: Module entries that official checkpoints do not provide and that may stay initialised, per target kind
#: (regular expressions matched against the module's state-dict keys).
ALLOWED_MISSING: Dict[str, Tuple[str, ...]] = {
    'pvt_v2': (),
    'resnet': (r'(^|\.)num_batches_tracked$', ),
    'vggish': (r'^proj\.', r'^embed_norm\.'),
    'clip_text': (),
}


@dataclass
class LoadReport:
    """Coverage of one checkpoint load.

    Attributes:
        loaded (list[str]): Module keys set from the checkpoint.
        missing (list[str]): Module keys the checkpoint lacks (an error in strict mode).
        allowed_missing (list[str]): Module keys the checkpoint lacks that may stay initialised.
        unexpected (list[str]): Checkpoint keys (after conversion) the module lacks.
        dropped (list[str]): Official keys deliberately unused (set by :func:`load_pretrained`).
    """
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    allowed_missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)


def load_state_dict_strict(module: nn.Module,
                           state_dict: StateDict,
                           allowed_missing: Sequence[str] = (),
                           strict: bool = True,
                           source: str = 'checkpoint') -> LoadReport:
    """Copy ``state_dict`` into ``module`` with a full coverage report.

    Hand-written rather than MMEngine's ``mmengine.runner.checkpoint.load_state_dict``: that one reports
    as a single text (a ``RuntimeError`` when strict), forgives only ``num_batches_tracked``, and in
    non-strict mode skips a mis-shaped tensor with a warning. Here a shape mismatch is always an error,
    each module declares what it may lack (``allowed_missing``), nothing is copied when a strict load fails,
    and the caller gets the lists (:class:`LoadReport`).

    Args:
        module (nn.Module): Target module.
        state_dict (dict[str, Tensor]): Tensors keyed like ``module.state_dict()``.
        allowed_missing (Sequence[str]): Regular expressions of module keys that may stay initialised.
        strict (bool): Raise on unexpected keys or (not allowed) missing keys; else log warnings.
        source (str): Name for messages.

    Returns:
        LoadReport: What was loaded, missing and unexpected.

    Raises:
        ValueError: A shape mismatch (always; the message names the key and both shapes), or in strict mode
            unexpected / missing keys.
    """
    own = module.state_dict()
    match = match_state_dicts(own, state_dict)
    if match.mismatched:
        key, got, want = match.mismatched[0]
        raise ValueError(f'{source}: shape mismatch for {key!r}: checkpoint {got}, {type(module).__name__} '
                         f'expects {want} (wrong architecture variant?).')
    report = LoadReport(loaded=match.loaded, unexpected=match.unexpected)
    patterns = [re.compile(p) for p in allowed_missing]
    for key in match.missing:
        (report.allowed_missing if any(p.search(key) for p in patterns) else report.missing).append(key)
    problems = CheckpointMatch(missing=report.missing, unexpected=report.unexpected).problems(
        type(module).__name__)
    if problems and strict:
        raise ValueError(f'{source}: does not match {type(module).__name__}: ' + '; '.join(problems) +
                         f'. Wrong architecture variant? See {MODEL_ZOO_DOC}.')
    for problem in problems:
        print_log(f'{source}: {problem}', logger='current', level=30)
    with torch.no_grad():
        for key in report.loaded:
            own[key].copy_(state_dict[key])  # state_dict() tensors share storage with the module
    print_log(f'{source}: loaded {len(report.loaded)} / {len(own)} entries of {type(module).__name__}'
              + (f'; kept initialised (mmavs additions): {short_list(report.allowed_missing, 8)}'
                 if report.allowed_missing else ''), logger='current', level=20)
    return report


def _upstream_kind(module: nn.Module) -> Optional[str]:
    """Kind of the mmseg encoders, which cannot declare ``pretrained_kind`` themselves."""
    from mmseg.models.backbones import MixVisionTransformer, ResNet
    if isinstance(module, MixVisionTransformer):
        return 'pvt_v2'
    if isinstance(module, ResNet):
        return 'resnet'
    return None


def target_kind(module: nn.Module) -> Optional[str]:
    """Kind of a module that takes an official checkpoint, or None for any other module.

    Args:
        module (nn.Module): A module with a ``pretrained_kind`` attribute (``PVTv2`` -> ``'pvt_v2'``,
            ``AudioBackbone`` -> ``'vggish'``, ``CLIPCaptionEncoder`` -> ``'clip_text'``), or mmseg's
            ``MixVisionTransformer`` -> ``'pvt_v2'`` / ``ResNet`` -> ``'resnet'``.

    Returns:
        str | None: A key of :data:`~.checkpoint_keys.TARGET_FAMILIES`, or None.
    """
    kind = getattr(module, 'pretrained_kind', None)
    return kind if kind is not None else _upstream_kind(module)


def load_pretrained(module: nn.Module,
                    checkpoint: Union[str, StateDict],
                    strict: bool = True,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> LoadReport:
    """Load an official or converted checkpoint into an mmavs backbone / text encoder.

    Args:
        module (nn.Module): A module recognised by :func:`target_kind`, or one naming such a child in
            ``pretrained_body`` (a ``VisualBackbone``: its ``body`` is loaded).
        checkpoint (str | dict): Path, or an already loaded flat state dict.
        strict (bool): See :func:`load_state_dict_strict`. Defaults to True.
        prefix (str, optional): Only use keys starting with this prefix (stripped), e.g.
            ``'visual_backbone.body.'`` to take a backbone from a full mmavs checkpoint.
        map_location (str): Device for loading. Defaults to ``'cpu'``.

    Returns:
        LoadReport: Coverage, with ``dropped`` filled.

    Raises:
        ValueError: ``module`` takes no official checkpoint, no key has ``prefix``, or see
            :func:`~.checkpoint_keys.convert_checkpoint` and :func:`load_state_dict_strict`.
    """
    body = getattr(module, 'pretrained_body', None)
    if body is not None:
        module = getattr(module, body)
    kind = target_kind(module)
    if kind is None:
        raise ValueError(f'load_pretrained: no official checkpoint format for {type(module).__name__}; '
                         f'supported: PVT-v2 / ResNet visual backbones, AudioBackbone, CLIPCaptionEncoder.')
    source = checkpoint if isinstance(checkpoint, str) else 'state dict'
    sd = load_state_dict_file(checkpoint, map_location) if isinstance(checkpoint, str) else dict(checkpoint)
    if prefix:
        sd = strip_prefix(sd, prefix)
        if not sd:
            raise ValueError(f'{source}: no keys start with prefix {prefix!r}.')
    result = convert_checkpoint(sd, kind, source)
    converted, dropped = result.state_dict, list(result.dropped)
    if kind == 'clip_text' and getattr(module, 'text_projection', 0) is None and 'text_projection' in converted:
        converted = {k: v for k, v in converted.items() if k != 'text_projection'}
        dropped.append('text_projection')  # encoder built with embed_dim=None
    if dropped:
        print_log(f'{source}: {result.source_family} keys not used by {type(module).__name__}: '
                  f'{short_list(dropped, 10)}', logger='current', level=20)
    report = load_state_dict_strict(module, converted, ALLOWED_MISSING[kind], strict=strict, source=source)
    report.dropped = sorted(dropped)
    return report


def pretrained_init_cfg(init_cfg: Optional[Union[dict, List[dict]]]) -> Optional[Union[dict, List[dict]]]:
    """Make ``type='Pretrained'`` entries of an init config resolve to :class:`AVSPretrainedInit`.

    Adds ``_scope_='mmavs'`` to every ``Pretrained`` entry (MMEngine pops it when building the
    initializer), so the mmavs initializer is used even without ``default_scope='mmavs'``.

    Args:
        init_cfg (dict | list[dict], optional): Init config of a backbone.

    Returns:
        dict | list[dict] | None: A copy with the scope set (None stays None).
    """
    if init_cfg is None:
        return None

    def _one(cfg: dict) -> dict:
        return with_mmavs_scope(cfg) if cfg.get('type') == 'Pretrained' else dict(cfg)

    return _one(init_cfg) if isinstance(init_cfg, dict) else [_one(c) for c in init_cfg]


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class AVSPretrainedInit(PretrainedInit):
    """``Pretrained`` initializer of the mmavs scope: converts official checkpoints and loads strictly.

    For the modules of :func:`target_kind` it calls :func:`load_pretrained`; for any other module it
    behaves exactly like MMEngine's ``PretrainedInit`` (its key revision and non-strict load included).

    Args:
        checkpoint (str): Official or converted checkpoint path (see ``docs/model_zoo.md``).
        prefix (str, optional): Only keys with this prefix (stripped). Defaults to None.
        map_location (str): Defaults to ``'cpu'``.
        strict (bool): Unexpected / missing keys are errors (else warnings). Defaults to True.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 strict: bool = True) -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module: nn.Module) -> None:
        """Load the checkpoint into ``module``."""
        if target_kind(module) is None:
            if not osp.isfile(str(self.checkpoint)) and '://' not in str(self.checkpoint):
                raise FileNotFoundError(missing_file_message(str(self.checkpoint)))
            return super().__call__(module)
        print_log(f'load {type(module).__name__} weights from: {self.checkpoint}', logger='current')
        load_pretrained(module, self.checkpoint, strict=self.strict, prefix=self.prefix,
                        map_location=self.map_location)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: load from {self.checkpoint}'
