"""Pretrained checkpoints: safe loading, family detection, conversion and strict, reported loading.

Supported official checkpoints (see ``docs/model_zoo.md`` for where to get them):

=======================  =====================================================  ==========================
family                   signature keys                                         target module
=======================  =====================================================  ==========================
``pvt_v2``               ``patch_embed1.proj.weight``, ``block1.0.attn.q.weight``  ``PVTv2`` (VisualBackbone)
``mmseg_mit``            ``layers.0.0.projection.weight`` (converted PVT-v2)    ``PVTv2``
``torchvision_resnet``   ``conv1.weight``, ``bn1.running_mean``, ``layer1.0.*``  mmseg ``ResNet``
``torchvggish``          ``features.0.weight``, ``embeddings.0.weight``          ``AudioBackbone``
``openai_clip``          ``token_embedding.weight``, ``transformer.resblocks.*``  ``CLIPCaptionEncoder``
``open_clip_text``       ``text.token_embedding.weight`` (open_clip CustomTextCLIP)  ``CLIPCaptionEncoder``
=======================  =====================================================  ==========================

Loading (:func:`load_pretrained`) reads the file with ``torch.load(weights_only=True)``, unwraps
``state_dict`` / ``model`` containers and a ``module.`` prefix, detects the family from the keys, converts in
memory to the mmavs module's key layout, then copies the tensors with a coverage report: official keys that
are deliberately unused (classifier heads, the CLIP image tower) are listed as *dropped*; keys left over
after conversion (*unexpected*) and module entries the checkpoint does not provide (*missing*, except the
module's own additions such as ``AudioBackbone.proj``) raise a ``ValueError`` in strict mode (default) and
are logged as warnings otherwise; a shape mismatch always raises a ``ValueError`` naming the key.

With ``default_scope='mmavs'`` (or the ``_scope_='mmavs'`` that :func:`pretrained_init_cfg` adds), the
config ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` builds :class:`AVSPretrainedInit`, which does
the above for the four mmavs target modules and falls back to MMEngine's ``PretrainedInit`` for any other
module. The name ``Pretrained`` is kept so that MMEngine still applies it after the children's own
initialisation.
"""
import hashlib
import os
import os.path as osp
import re
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from torch import Tensor, nn

from mmavs.registry import WEIGHT_INITIALIZERS
from mmavs.utils.safe_load import safe_torch_load
from .torchscript_archive import read_torchscript_state_dict

StateDict = Dict[str, Tensor]

#: Where users are told to look for download links and file placement.
MODEL_ZOO_DOC = 'docs/model_zoo.md'

#: Signature keys of each source family (all must be present).
FAMILY_SIGNATURES: Dict[str, Tuple[str, ...]] = {
    'pvt_v2': ('patch_embed1.proj.weight', 'block1.0.attn.q.weight', 'block1.0.mlp.dwconv.dwconv.weight'),
    'mmseg_mit': ('layers.0.0.projection.weight', 'layers.0.1.0.attn.attn.in_proj_weight'),
    'torchvision_resnet': ('conv1.weight', 'bn1.running_mean', 'layer1.0.conv1.weight'),
    'torchvggish': ('features.0.weight', 'embeddings.0.weight'),
    'openai_clip': ('token_embedding.weight', 'transformer.resblocks.0.attn.in_proj_weight'),
    'open_clip_text': ('text.token_embedding.weight', 'text.transformer.resblocks.0.attn.in_proj_weight'),
}
#: Target module kind -> source families it accepts.
TARGET_FAMILIES: Dict[str, Tuple[str, ...]] = {
    'pvt_v2': ('pvt_v2', 'mmseg_mit'),
    'resnet': ('torchvision_resnet', ),
    'vggish': ('torchvggish', ),
    'clip_text': ('openai_clip', 'open_clip_text'),
}
_FAMILY_NAMES = {
    'pvt_v2': 'official PVT-v2 (whai362/PVT)',
    'mmseg_mit': 'PVT-v2 converted to the mmseg MiT / mmavs layout',
    'torchvision_resnet': 'torchvision ResNet',
    'torchvggish': 'torchvggish VGGish',
    'openai_clip': 'OpenAI CLIP (or open_clip CLIP)',
    'open_clip_text': 'open_clip CustomTextCLIP',
}
#: Module entries that official checkpoints do not provide and that are allowed to stay initialised
#: (regular expressions matched against the module's state-dict keys).
_ALLOWED_MISSING: Dict[str, Tuple[str, ...]] = {
    'pvt_v2': (),
    'resnet': (r'(^|\.)num_batches_tracked$', ),
    'vggish': (r'^proj\.', r'^embed_norm\.'),
    'clip_text': (),
}


def _missing_file_message(path: str) -> str:
    return (f'Pretrained checkpoint not found: {path!r}. See {MODEL_ZOO_DOC} for where to download each '
            f'checkpoint, its file name and where to put it (pretrained/).')


def _is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript zip archive (has ``code/`` and ``constants.pkl`` entries)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    return any(n.endswith('constants.pkl') for n in names) and any('/code/' in n for n in names)


def _unwrap(obj: object, path: str) -> StateDict:
    """Extract a flat ``{name: Tensor}`` dict from a loaded checkpoint object."""
    if isinstance(obj, dict):
        for container in ('state_dict', 'model', 'module'):
            if container in obj and isinstance(obj[container], dict):
                obj = obj[container]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f'Checkpoint {path!r} holds no state dict (got {type(obj).__name__}).')
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise ValueError(f'Checkpoint {path!r}: entries that are not tensors: {bad[:10]}.')
    if all(k.startswith('module.') for k in obj):
        obj = {k[len('module.'):]: v for k, v in obj.items()}
    return dict(obj)


def load_state_dict_file(path: str, map_location: str = 'cpu', allow_torchscript: bool = False) -> StateDict:
    """Read a checkpoint safely and return its flat state dict.

    Args:
        path (str): Checkpoint file (``.pth`` / ``.pt`` / ``.bin``).
        map_location (str): Device for the tensors. Defaults to ``'cpu'``.
        allow_torchscript (bool): Accept a TorchScript archive (OpenAI's ``ViT-B-16.pt``). Its tensors are
            read as data by :func:`read_torchscript_state_dict`; the archive's code is never compiled or
            run (``torch.jit.load`` would run it). Off by default: only the CLIP converter enables it.

    Returns:
        dict[str, Tensor]: The state dict (``state_dict`` / ``model`` containers and ``module.`` unwrapped).

    Raises:
        FileNotFoundError: The file does not exist (the message points to ``docs/model_zoo.md``).
        ValueError: The file is not a weights-only checkpoint or holds no tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(_missing_file_message(path))
    if _is_torchscript_archive(path):
        if not allow_torchscript:
            raise ValueError(f'{path!r} is a TorchScript archive (e.g. OpenAI CLIP ViT-B-16.pt). Convert it '
                             f'first: python tools/model_converters/clip.py {path} pretrained/<name>.pth '
                             f'(see {MODEL_ZOO_DOC}).')
        state = read_torchscript_state_dict(path)
        return _unwrap({k: v.to(map_location) for k, v in state.items()}, path)
    return _unwrap(safe_torch_load(path, map_location=map_location), path)


def detect_family(state_dict: StateDict, source: str = 'checkpoint') -> str:
    """Detect the checkpoint family from its keys.

    Args:
        state_dict (dict[str, Tensor]): Flat state dict.
        source (str): Name used in error messages (e.g. the file path).

    Returns:
        str: One of :data:`FAMILY_SIGNATURES`.

    Raises:
        ValueError: No family matches (the message lists some of the keys found).
    """
    if 'pos_embed1' in state_dict:
        raise ValueError(f'{source}: looks like a PVT v1 checkpoint (has pos_embed1); mmavs supports PVT-v2 '
                         f'(pvt_v2_b0..b5), see {MODEL_ZOO_DOC}.')
    for family, keys in FAMILY_SIGNATURES.items():
        if all(k in state_dict for k in keys):
            return family
    sample = sorted(state_dict)[:12]
    known = '; '.join(f'{_FAMILY_NAMES[f]}: {", ".join(k)}' for f, k in FAMILY_SIGNATURES.items())
    raise ValueError(f'{source}: unknown checkpoint format ({len(state_dict)} keys, e.g. {sample}). '
                     f'Known formats and their signature keys: {known}. See {MODEL_ZOO_DOC}.')


@dataclass
class ConversionResult:
    """A state dict converted to the mmavs layout.

    Attributes:
        state_dict (dict[str, Tensor]): Converted tensors, keyed like the target module.
        source_family (str): Detected family of the input.
        dropped (list[str]): Input keys deliberately not used (classifier heads, image tower, ...).
    """
    state_dict: StateDict
    source_family: str
    dropped: List[str] = field(default_factory=list)


_PVT_PATCH = re.compile(r'^patch_embed(\d+)\.(proj|norm)\.(weight|bias)$')
_PVT_BLOCK = re.compile(r'^block(\d+)\.(\d+)\.(.+)$')
_PVT_NORM = re.compile(r'^norm(\d+)\.(weight|bias)$')
_PVT_BLOCK_MAP = {
    'norm1': 'norm1', 'norm2': 'norm2', 'attn.proj': 'attn.attn.out_proj', 'attn.sr': 'attn.sr',
    'attn.norm': 'attn.norm', 'mlp.fc1': 'ffn.layers.0', 'mlp.dwconv.dwconv': 'ffn.layers.1',
    'mlp.fc2': 'ffn.layers.4'
}


def _convert_pvt_v2(sd: StateDict) -> Tuple[StateDict, List[str], List[str]]:
    """Official PVT-v2 -> mmseg MiT layout. Returns (converted, dropped, unconverted keys)."""
    out: StateDict = {}
    dropped: List[str] = []
    left: List[str] = []
    for key, value in sd.items():
        if key.startswith('head.'):
            dropped.append(key)
            continue
        m = _PVT_PATCH.match(key)
        if m:
            stage, part, kind = int(m.group(1)) - 1, m.group(2), m.group(3)
            out[f'layers.{stage}.0.{"projection" if part == "proj" else "norm"}.{kind}'] = value
            continue
        m = _PVT_NORM.match(key)
        if m:
            out[f'layers.{int(m.group(1)) - 1}.2.{m.group(2)}'] = value
            continue
        m = _PVT_BLOCK.match(key)
        if not m:
            left.append(key)
            continue
        stage, idx, rest = int(m.group(1)) - 1, int(m.group(2)), m.group(3)
        prefix = f'layers.{stage}.1.{idx}.'
        name, _, kind = rest.rpartition('.')
        if name == 'attn.q':
            kv_key = key.replace('attn.q.', 'attn.kv.')
            if kv_key not in sd:
                raise ValueError(f'PVT-v2 checkpoint: {key!r} has no matching {kv_key!r}.')
            # q rows first, then the kv rows (k then v): the packed in-projection of nn.MultiheadAttention.
            out[f'{prefix}attn.attn.in_proj_{kind}'] = torch.cat([value, sd[kv_key]], dim=0)
        elif name == 'attn.kv':
            if key.replace('attn.kv.', 'attn.q.') not in sd:
                raise ValueError(f'PVT-v2 checkpoint: {key!r} has no matching attn.q entry.')
        elif name in _PVT_BLOCK_MAP:
            if name in ('mlp.fc1', 'mlp.fc2') and kind == 'weight':
                value = value.reshape(*value.shape, 1, 1)  # Linear -> 1x1 conv
            out[f'{prefix}{_PVT_BLOCK_MAP[name]}.{kind}'] = value
        else:
            left.append(key)
    for key in left:  # kept under its own name: reported as unexpected when loading
        out[key] = sd[key]
    return out, dropped, left


def convert_checkpoint(state_dict: StateDict, target: str, source: str = 'checkpoint') -> ConversionResult:
    """Convert an official state dict to the key layout of an mmavs target module.

    Args:
        state_dict (dict[str, Tensor]): Flat state dict of any supported family.
        target (str): ``'pvt_v2'``, ``'resnet'``, ``'vggish'`` or ``'clip_text'``.
        source (str): Name for error messages.

    Returns:
        ConversionResult: converted tensors, detected family and deliberately dropped keys.

    Raises:
        ValueError: Unknown target, unknown format, or a family that does not fit the target.
    """
    if target not in TARGET_FAMILIES:
        raise ValueError(f'Unknown conversion target {target!r}; choose one of {tuple(TARGET_FAMILIES)}.')
    family = detect_family(state_dict, source)
    if family not in TARGET_FAMILIES[target]:
        wanted = ' or '.join(_FAMILY_NAMES[f] for f in TARGET_FAMILIES[target])
        raise ValueError(f'{source} is a {_FAMILY_NAMES[family]} checkpoint, but the {target} module needs '
                         f'{wanted} weights. Check the checkpoint path in init_cfg (see {MODEL_ZOO_DOC}).')
    dropped: List[str] = []
    if family == 'pvt_v2':
        out, dropped, _ = _convert_pvt_v2(state_dict)
    elif family == 'torchvision_resnet':
        dropped = [k for k in state_dict if k.startswith('fc.')]
        out = {k: v for k, v in state_dict.items() if not k.startswith('fc.')}
    elif family in ('openai_clip', 'open_clip_text'):
        sd = state_dict
        if family == 'open_clip_text':
            dropped = [k for k in sd if not k.startswith('text.')]
            sd = {k[len('text.'):]: v for k, v in sd.items() if k.startswith('text.')}
        out = {}
        for k, v in sd.items():
            if k.startswith('visual.') or k in ('logit_scale', 'logit_bias', 'attn_mask', 'input_resolution',
                                                'context_length', 'vocab_size'):
                dropped.append(k)
            elif k == 'text_projection.weight':  # open_clip nn.Linear projection: [embed, width]
                out['text_projection'] = v.t().contiguous()
            else:
                out[k] = v
    else:  # mmseg_mit, torchvggish: already in the mmavs layout
        out = dict(state_dict)
    return ConversionResult(state_dict=out, source_family=family, dropped=sorted(dropped))


@dataclass
class LoadReport:
    """Coverage of one checkpoint load.

    Attributes:
        loaded (list[str]): Module keys set from the checkpoint.
        missing (list[str]): Module keys the checkpoint lacks (not allowed to stay initialised).
        allowed_missing (list[str]): Module keys the checkpoint lacks that are mmavs additions.
        unexpected (list[str]): Converted keys the module does not have.
        dropped (list[str]): Official keys deliberately unused (set by :func:`load_pretrained`).
    """
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    allowed_missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)


def _short(keys: Sequence[str], n: int = 20) -> str:
    keys = list(keys)
    return str(keys[:n]) + (f' ... (+{len(keys) - n} more)' if len(keys) > n else '')


def load_state_dict_strict(module: nn.Module,
                           state_dict: StateDict,
                           allowed_missing: Sequence[str] = (),
                           strict: bool = True,
                           source: str = 'checkpoint') -> LoadReport:
    """Copy ``state_dict`` into ``module`` with a full coverage report.

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
    report = LoadReport()
    for key, value in state_dict.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(own[key].shape) != tuple(value.shape):
            raise ValueError(f'{source}: shape mismatch for {key!r}: checkpoint {tuple(value.shape)}, '
                             f'{type(module).__name__} expects {tuple(own[key].shape)} (wrong architecture '
                             f'variant?).')
        else:
            report.loaded.append(key)
    patterns = [re.compile(p) for p in allowed_missing]
    for key in own:
        if key not in state_dict:
            (report.allowed_missing if any(p.search(key) for p in patterns) else report.missing).append(key)
    problems = []
    if report.unexpected:
        problems.append(f'{len(report.unexpected)} unexpected key(s) (not in {type(module).__name__}): '
                        f'{_short(report.unexpected)}')
    if report.missing:
        problems.append(f'{len(report.missing)} missing key(s) (not in the checkpoint): {_short(report.missing)}')
    if problems and strict:
        raise ValueError(f'{source}: does not match {type(module).__name__}: ' + '; '.join(problems) +
                         f'. Wrong architecture variant? See {MODEL_ZOO_DOC}.')
    for problem in problems:
        print_log(f'{source}: {problem}', logger='current', level=30)
    with torch.no_grad():
        for key in report.loaded:
            own[key].copy_(state_dict[key])  # state_dict() tensors share storage with the module
    print_log(f'{source}: loaded {len(report.loaded)} / {len(own)} entries of {type(module).__name__}'
              + (f'; kept initialised (mmavs additions): {_short(report.allowed_missing, 8)}'
                 if report.allowed_missing else ''), logger='current', level=20)
    return report


def target_kind(module: nn.Module) -> Optional[str]:
    """Kind of an mmavs module that takes an official checkpoint, or None for any other module.

    Args:
        module (nn.Module): ``PVTv2`` / mmseg ``MixVisionTransformer`` -> ``'pvt_v2'``; mmseg ``ResNet`` ->
            ``'resnet'``; ``AudioBackbone`` -> ``'vggish'``; ``CLIPCaptionEncoder`` -> ``'clip_text'``.
    """
    from mmseg.models.backbones import MixVisionTransformer, ResNet

    from mmavs.models.backbones.audio_backbone import AudioBackbone
    from mmavs.models.text.clip_text_encoder import CLIPCaptionEncoder
    if isinstance(module, MixVisionTransformer):
        return 'pvt_v2'
    if isinstance(module, ResNet):
        return 'resnet'
    if isinstance(module, AudioBackbone):
        return 'vggish'
    if isinstance(module, CLIPCaptionEncoder):
        return 'clip_text'
    return None


def load_pretrained(module: nn.Module,
                    checkpoint: Union[str, StateDict],
                    strict: bool = True,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> LoadReport:
    """Load an official or converted checkpoint into an mmavs backbone / text encoder.

    Args:
        module (nn.Module): A module recognised by :func:`target_kind`, or a ``VisualBackbone`` (its
            ``body`` is loaded).
        checkpoint (str | dict): Path, or an already loaded flat state dict.
        strict (bool): See :func:`load_state_dict_strict`. Defaults to True.
        prefix (str, optional): Only use keys starting with this prefix (stripped), e.g.
            ``'visual_backbone.body.'`` to take a backbone from a full mmavs checkpoint.
        map_location (str): Device for loading. Defaults to ``'cpu'``.

    Returns:
        LoadReport: Coverage, with ``dropped`` filled.
    """
    from mmavs.models.backbones.visual_backbone import VisualBackbone
    if isinstance(module, VisualBackbone):
        module = module.body
    kind = target_kind(module)
    if kind is None:
        raise ValueError(f'load_pretrained: no official checkpoint format for {type(module).__name__}; '
                         f'supported: PVT-v2 / ResNet visual backbones, AudioBackbone, CLIPCaptionEncoder.')
    source = checkpoint if isinstance(checkpoint, str) else 'state dict'
    sd = load_state_dict_file(checkpoint, map_location) if isinstance(checkpoint, str) else dict(checkpoint)
    if prefix:
        sd = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if not sd:
            raise ValueError(f'{source}: no keys start with prefix {prefix!r}.')
    result = convert_checkpoint(sd, kind, source)
    converted, dropped = result.state_dict, list(result.dropped)
    if kind == 'clip_text' and getattr(module, 'text_projection', 0) is None and 'text_projection' in converted:
        converted = {k: v for k, v in converted.items() if k != 'text_projection'}
        dropped.append('text_projection')  # encoder built with embed_dim=None
    if dropped:
        print_log(f'{source}: {result.source_family} keys not used by {type(module).__name__}: '
                  f'{_short(dropped, 10)}', logger='current', level=20)
    report = load_state_dict_strict(module, converted, _ALLOWED_MISSING[kind], strict=strict, source=source)
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
        cfg = dict(cfg)
        if cfg.get('type') == 'Pretrained' and '_scope_' not in cfg:
            cfg['_scope_'] = 'mmavs'
        return cfg

    return _one(init_cfg) if isinstance(init_cfg, dict) else [_one(c) for c in init_cfg]


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class AVSPretrainedInit(PretrainedInit):
    """``Pretrained`` initializer of the mmavs scope: converts official checkpoints and loads strictly.

    For the mmavs backbones / text encoder (:func:`target_kind`) it calls :func:`load_pretrained`; for any
    other module it behaves exactly like MMEngine's ``PretrainedInit``.

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
                raise FileNotFoundError(_missing_file_message(str(self.checkpoint)))
            return super().__call__(module)
        print_log(f'load {type(module).__name__} weights from: {self.checkpoint}', logger='current')
        load_pretrained(module, self.checkpoint, strict=self.strict, prefix=self.prefix,
                        map_location=self.map_location)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: load from {self.checkpoint}'


def check_hash_prefix(path: str) -> Optional[bool]:
    """Check the sha256 prefix that torch-hub style file names carry (``resnet50-19c8e357.pth``).

    Args:
        path (str): Checkpoint file.

    Returns:
        bool | None: None if the name has no ``-<hex>`` suffix of 8+ digits, else whether the file's
        sha256 starts with it.
    """
    m = re.search(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$', osp.basename(path))
    if m is None:
        return None
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest().startswith(m.group(1))


def infer_pvt_v2_arch(state_dict: StateDict) -> Optional[str]:
    """Name of the PVT-v2 variant (``pvt_v2_b0`` ... ``b5``) whose shapes a checkpoint has.

    Args:
        state_dict (dict[str, Tensor]): Official PVT-v2 or converted (mmseg MiT) state dict.

    Returns:
        str | None: The variant, or None if no published setting matches.
    """
    from mmavs.models.backbones.visual_backbone import PVT_V2_ARCH_SETTINGS, PVT_V2_COMMON
    sd = _convert_pvt_v2(state_dict)[0] if 'patch_embed1.proj.weight' in state_dict else state_dict
    if 'layers.0.0.projection.weight' not in sd:
        return None
    embed = int(sd['layers.0.0.projection.weight'].shape[0])
    depths, ratios = [], []
    for i, heads in enumerate(PVT_V2_COMMON['num_heads']):
        idx = {int(m.group(1)) for k in sd for m in [re.match(rf'^layers\.{i}\.1\.(\d+)\.', k)] if m}
        depths.append(len(idx))
        fc1 = sd.get(f'layers.{i}.1.0.ffn.layers.0.weight')
        ratios.append(int(fc1.shape[0]) // (embed * heads) if fc1 is not None else 0)
    for name, setting in PVT_V2_ARCH_SETTINGS.items():
        if (setting['embed_dims'] == embed and list(setting['num_layers']) == depths
                and list(setting['mlp_ratios']) == ratios):
            return name
    return None


def build_target_module(state_dict: StateDict, target: str, source: str = 'checkpoint') -> Tuple[nn.Module, str]:
    """Build the mmavs module whose shapes a converted state dict has (to verify a conversion).

    Args:
        state_dict (dict[str, Tensor]): Converted tensors (output of :func:`convert_checkpoint`).
        target (str): ``'pvt_v2'``, ``'resnet'``, ``'vggish'`` or ``'clip_text'``.
        source (str): Name for error messages.

    Returns:
        tuple[nn.Module, str]: The module (randomly initialised, CPU) and a description of its architecture.

    Raises:
        ValueError: The shapes match no supported architecture.
    """
    if target == 'pvt_v2':
        from mmavs.models.backbones.visual_backbone import VisualBackbone
        arch = infer_pvt_v2_arch(state_dict)
        if arch is None:
            raise ValueError(f'{source}: tensor shapes match no published PVT-v2 variant (b0..b5); variants '
                             f'such as pvt_v2_b2_li are not supported. See {MODEL_ZOO_DOC}.')
        return VisualBackbone(arch, drop_path_rate=0.).body, arch
    if target == 'resnet':
        from mmseg.models.backbones import ResNet
        counts = [len({k.split('.')[1] for k in state_dict if k.startswith(f'layer{i}.')}) for i in (1, 2, 3, 4)]
        bottleneck = 'layer1.0.conv3.weight' in state_dict
        depths = {(True, (3, 4, 6, 3)): 50, (True, (3, 4, 23, 3)): 101, (True, (3, 8, 36, 3)): 152,
                  (False, (2, 2, 2, 2)): 18, (False, (3, 4, 6, 3)): 34}
        depth = depths.get((bottleneck, tuple(counts)))
        if depth is None:
            raise ValueError(f'{source}: blocks per stage {counts} match no ResNet depth. See {MODEL_ZOO_DOC}.')
        return ResNet(depth=depth, style='pytorch'), f'resnet{depth}'
    if target == 'vggish':
        from mmavs.models.backbones.audio_backbone import AudioBackbone
        try:
            channels = [int(state_dict[f'features.{i}.weight'].shape[0]) for i in (0, 3, 6, 8, 11, 13)]
            embed = [int(state_dict[f'embeddings.{i}.weight'].shape[0]) for i in (0, 2, 4)]
        except KeyError as err:
            raise ValueError(f'{source}: VGGish checkpoint lacks {err.args[0]!r}.') from err
        return AudioBackbone(out_channels=None, channels=channels, embed_dims=embed), \
            f'vggish channels={channels} embed_dims={embed}'
    if target == 'clip_text':
        from mmavs.models.text.clip_text_encoder import CLIPCaptionEncoder
        vocab, width = (int(n) for n in state_dict['token_embedding.weight'].shape)
        context = int(state_dict['positional_embedding'].shape[0])
        layers = len({k.split('.')[2] for k in state_dict if k.startswith('transformer.resblocks.')})
        proj = state_dict.get('text_projection')
        embed_dim = int(proj.shape[1]) if proj is not None else None
        # The head count does not change any shape; OpenAI CLIP uses width / 64.
        module = CLIPCaptionEncoder(width=width, layers=layers, heads=max(1, width // 64), vocab_size=vocab,
                                    context_length=context, embed_dim=embed_dim)
        return module, f'clip text width={width} layers={layers} embed_dim={embed_dim}'
    raise ValueError(f'Unknown conversion target {target!r}; choose one of {tuple(TARGET_FAMILIES)}.')


def convert_file(src: str, dst: str, target: str, check_hash: bool = True) -> ConversionResult:
    """Convert an official checkpoint file to an mmavs checkpoint (``{'state_dict', 'meta'}``).

    Args:
        src (str): Official checkpoint (TorchScript archives accepted for CLIP).
        dst (str): Output ``.pth`` path (parent directories are created).
        target (str): ``'pvt_v2'``, ``'resnet'``, ``'vggish'`` or ``'clip_text'``.
        check_hash (bool): Verify the sha256 prefix of torch-hub style names (``name-<hex>.pth``).

    Returns:
        ConversionResult: The converted tensors (as saved), family and dropped keys. The tensors are
        verified to load strictly into the matching mmavs module (:func:`build_target_module`) first.

    Raises:
        FileNotFoundError: ``src`` missing. ValueError: hash mismatch, wrong family, unknown format,
        unsupported architecture, shape mismatch (naming the key).
    """
    if not osp.isfile(src):
        raise FileNotFoundError(_missing_file_message(src))
    if check_hash and check_hash_prefix(src) is False:
        raise ValueError(f'{src}: sha256 does not start with the prefix in its file name (corrupt or renamed '
                         f'download?). Re-download it (see {MODEL_ZOO_DOC}); pass --no-hash-check to the '
                         f'converter (check_hash=False) to convert it anyway.')
    sd = load_state_dict_file(src, allow_torchscript=(target == 'clip_text'))
    result = convert_checkpoint(sd, target, src)
    module, arch = build_target_module(result.state_dict, target, src)
    load_state_dict_strict(module, result.state_dict, _ALLOWED_MISSING[target], strict=True, source=src)
    meta = dict(source=osp.basename(src), source_family=result.source_family, target=target, arch=arch,
                dropped=result.dropped, converter='mmavs.models.utils.convert_file')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=result.state_dict, meta=meta), dst)
    return result
