"""Official checkpoint families and their key conversion: state dicts in, state dicts out.

Nothing here reads files or knows a model class: the functions take and return flat ``{name: Tensor}``
dicts, so the backbones, the ``Pretrained`` initializer (:mod:`.pretrained_init`) and the offline converter
(:mod:`.checkpoint_converter`) all depend on this module and it depends on none of them.

=======================  =====================================================  ==========================
family                   signature keys                                         target kind (module)
=======================  =====================================================  ==========================
``pvt_v2``               ``patch_embed1.proj.weight``, ``block1.0.attn.q.weight``  ``pvt_v2`` (``PVTv2``)
``mmseg_mit``            ``layers.0.0.projection.weight`` (converted PVT-v2)    ``pvt_v2``
``torchvision_resnet``   ``conv1.weight``, ``bn1.running_mean``, ``layer1.0.*``  ``resnet`` (mmseg ``ResNet``)
``torchvggish``          ``features.0.weight``, ``embeddings.0.weight``          ``vggish`` (``AudioBackbone``)
``openai_clip``          ``token_embedding.weight``, ``transformer.resblocks.*``  ``clip_text``
``open_clip_text``       ``text.token_embedding.weight`` (open_clip CustomTextCLIP)  ``clip_text``
=======================  =====================================================  ==========================

MMEngine's own key revision (``revise_keys`` of ``mmengine.runner.checkpoint.load_checkpoint``) exists only
inside ``_load_checkpoint_to_model``, which loads the revised dict into a model right away with MMEngine's
non-strict ``load_state_dict``. Here the keys are needed *before* any model is involved (to detect the
family and convert), and ``re.sub`` on every key would also rename a stray ``module.*`` key of a dict that
is not a wrapper's. So :func:`strip_prefix` is the one hand-written key revision; every prefix removal of
mmavs (the ``module.`` of a (Distributed)DataParallel state dict, open_clip's ``text.``, the ``prefix`` of
an init config) goes through it. MMEngine's ``PretrainedInit`` (with its ``revise_keys`` default) still
loads every module that is not an mmavs target (see :class:`~mmavs.models.utils.AVSPretrainedInit`).
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from torch import Tensor

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
#: Target kind (what a module declares as ``pretrained_kind``) -> source families it accepts.
TARGET_FAMILIES: Dict[str, Tuple[str, ...]] = {
    'pvt_v2': ('pvt_v2', 'mmseg_mit'),
    'resnet': ('torchvision_resnet', ),
    'vggish': ('torchvggish', ),
    'clip_text': ('openai_clip', 'open_clip_text'),
}
#: Human-readable family names for messages.
FAMILY_NAMES: Dict[str, str] = {
    'pvt_v2': 'official PVT-v2 (whai362/PVT)',
    'mmseg_mit': 'PVT-v2 converted to the mmseg MiT / mmavs layout',
    'torchvision_resnet': 'torchvision ResNet',
    'torchvggish': 'torchvggish VGGish',
    'openai_clip': 'OpenAI CLIP (or open_clip CLIP)',
    'open_clip_text': 'open_clip CustomTextCLIP',
}
#: The prefix a (Distributed)DataParallel wrapper puts before every key.
WRAPPER_PREFIX = 'module.'


@dataclass
class CheckpointMatch:
    """How a checkpoint's state dict fits a model's.

    Attributes:
        missing (list[str]): Model keys that the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys that the model lacks.
        mismatched (list[tuple[str, tuple, tuple]]): ``(key, checkpoint shape, model shape)`` of keys in
            both with different shapes.
        loaded (list[str]): Keys that fit (name and shape).

    Lists keep the order of the state dicts (``missing``: the model's, the others: the checkpoint's).
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, Tuple[int, ...], Tuple[int, ...]]] = field(default_factory=list)
    loaded: List[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """bool: Every model key is set from a checkpoint tensor of its shape and nothing is left over."""
        return not (self.missing or self.unexpected or self.mismatched)

    def problems(self, model_name: str = 'the model') -> List[str]:
        """One sentence per non-empty list: its count and (up to 20) names.

        Args:
            model_name (str): What the keys are compared against, for the sentences. Defaults to
                ``'the model'``.

        Returns:
            list[str]: Sentences for the missing, unexpected and mis-shaped keys, in that order.
        """
        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} missing key(s) (in {model_name}, not in the checkpoint): '
                         f'{short_list(self.missing)}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected key(s) (in the checkpoint, not in {model_name}): '
                         f'{short_list(self.unexpected)}')
        if self.mismatched:
            parts.append(f'{len(self.mismatched)} shape mismatch(es): ' + short_list(
                [f'{k} checkpoint {list(a)} vs model {list(b)}' for k, a, b in self.mismatched]))
        return parts

    def describe(self) -> str:
        """:meth:`problems` joined into one text."""
        return '; '.join(self.problems())


def match_state_dicts(model_state: StateDict, checkpoint_state: StateDict) -> CheckpointMatch:
    """Compare key names and shapes of a model's and a checkpoint's state dicts.

    Args:
        model_state (dict[str, Tensor]): ``model.state_dict()``.
        checkpoint_state (dict[str, Tensor]): The checkpoint's state dict (prefixes already removed).

    Returns:
        CheckpointMatch: Missing, unexpected, mis-shaped and fitting keys.
    """
    match = CheckpointMatch()
    for key, value in checkpoint_state.items():
        if key not in model_state:
            match.unexpected.append(key)
        elif tuple(model_state[key].shape) != tuple(value.shape):
            match.mismatched.append((key, tuple(value.shape), tuple(model_state[key].shape)))
        else:
            match.loaded.append(key)
    match.missing = [k for k in model_state if k not in checkpoint_state]
    return match


def unknown_target_error(target: str) -> ValueError:
    """The error for a conversion target that is not a key of :data:`TARGET_FAMILIES`."""
    return ValueError(f'Unknown conversion target {target!r}; choose one of {tuple(TARGET_FAMILIES)}.')


def short_list(keys: Sequence[str], n: int = 20) -> str:
    """The first ``n`` of ``keys`` for a message, with the count of the others."""
    keys = list(keys)
    return str(keys[:n]) + (f' ... (+{len(keys) - n} more)' if len(keys) > n else '')


def strip_prefix(state_dict: StateDict, prefix: str) -> StateDict:
    """The entries whose key starts with ``prefix``, with the prefix removed (the others are left out).

    Args:
        state_dict (dict[str, Tensor]): Flat state dict.
        prefix (str): Literal key prefix, e.g. ``'module.'`` or ``'visual_backbone.body.'``.

    Returns:
        dict[str, Tensor]: A new dict; the tensors are shared, not copied.
    """
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def unwrap_state_dict(obj: object, source: str = 'checkpoint') -> StateDict:
    """Extract the flat ``{name: Tensor}`` dict of a loaded checkpoint object.

    A ``state_dict`` / ``model`` / ``module`` container is opened (the first one present), and the
    ``module.`` prefix is removed when *every* key has it (a (Distributed)DataParallel wrapper's dict).

    Args:
        obj (object): What ``torch.load`` returned.
        source (str): Name for error messages (e.g. the file path).

    Returns:
        dict[str, Tensor]: The state dict.

    Raises:
        ValueError: ``obj`` holds no (or an empty) dict, or entries that are not named tensors.
    """
    if isinstance(obj, dict):
        for container in ('state_dict', 'model', 'module'):
            if container in obj and isinstance(obj[container], dict):
                obj = obj[container]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f'Checkpoint {source!r} holds no state dict (got {type(obj).__name__}).')
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, Tensor)]
    if bad:
        raise ValueError(f'Checkpoint {source!r}: entries that are not tensors: {bad[:10]}.')
    if all(k.startswith(WRAPPER_PREFIX) for k in obj):
        return strip_prefix(obj, WRAPPER_PREFIX)
    return dict(obj)


def detect_family(state_dict: StateDict, source: str = 'checkpoint') -> str:
    """Detect the checkpoint family from its keys.

    Args:
        state_dict (dict[str, Tensor]): Flat state dict.
        source (str): Name used in error messages (e.g. the file path).

    Returns:
        str: One of :data:`FAMILY_SIGNATURES`.

    Raises:
        ValueError: No family matches (the message lists some of the keys found), or a PVT v1 checkpoint.
    """
    if 'pos_embed1' in state_dict:
        raise ValueError(f'{source}: looks like a PVT v1 checkpoint (has pos_embed1); mmavs supports PVT-v2 '
                         f'(pvt_v2_b0..b5), see {MODEL_ZOO_DOC}.')
    for family, keys in FAMILY_SIGNATURES.items():
        if all(k in state_dict for k in keys):
            return family
    sample = sorted(state_dict)[:12]
    known = '; '.join(f'{FAMILY_NAMES[f]}: {", ".join(k)}' for f, k in FAMILY_SIGNATURES.items())
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


def convert_pvt_v2_keys(sd: StateDict) -> Tuple[StateDict, List[str]]:
    """Official PVT-v2 keys -> the mmseg MiT layout of ``PVTv2``.

    ``block{i}.{j}.attn.q`` (``[C, C]``) and ``attn.kv`` (``[2C, C]``) are packed into the
    ``nn.MultiheadAttention`` in-projection ``[3C, C]`` (rows q, k, v); the MLP's linear weights
    ``[C_out, C_in]`` become 1x1 conv weights ``[C_out, C_in, 1, 1]``. Keys that fit no rule keep their
    name (a strict load then reports them as unexpected).

    Args:
        sd (dict[str, Tensor]): Official PVT-v2 state dict.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The converted dict and the dropped ``head.*`` keys.

    Raises:
        ValueError: An ``attn.q`` entry without its ``attn.kv`` partner, or the reverse.
    """
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
    return out, dropped


def _convert_resnet(sd: StateDict) -> Tuple[StateDict, List[str]]:
    """torchvision ResNet: identical names (mmseg ``ResNet``, ``style='pytorch'``); ``fc.*`` dropped."""
    dropped = [k for k in sd if k.startswith('fc.')]
    return {k: v for k, v in sd.items() if not k.startswith('fc.')}, dropped


#: CLIP entries outside the text tower (besides ``visual.*``).
_CLIP_NON_TEXT = ('logit_scale', 'logit_bias', 'attn_mask', 'input_resolution', 'context_length', 'vocab_size')


def _convert_openai_clip(sd: StateDict) -> Tuple[StateDict, List[str]]:
    """OpenAI CLIP: the text tower keeps its names; the image tower and logit scale are dropped.

    An open_clip ``nn.Linear`` projection ``text_projection.weight`` (``[embed, width]``) is stored as
    OpenAI's matrix ``text_projection`` (``[width, embed]``).
    """
    out: StateDict = {}
    dropped: List[str] = []
    for k, v in sd.items():
        if k.startswith('visual.') or k in _CLIP_NON_TEXT:
            dropped.append(k)
        elif k == 'text_projection.weight':
            out['text_projection'] = v.t().contiguous()
        else:
            out[k] = v
    return out, dropped


def _convert_open_clip_text(sd: StateDict) -> Tuple[StateDict, List[str]]:
    """open_clip CustomTextCLIP: the ``text.`` tower with the prefix removed, then as OpenAI CLIP."""
    out, dropped = _convert_openai_clip(strip_prefix(sd, 'text.'))
    return out, [k for k in sd if not k.startswith('text.')] + dropped


def _unchanged(sd: StateDict) -> Tuple[StateDict, List[str]]:
    """A family already in the mmavs layout (converted PVT-v2 / mmseg MiT, torchvggish)."""
    return dict(sd), []


#: Source family -> ``fn(state_dict) -> (converted, dropped keys)``.
_FAMILY_CONVERTERS: Dict[str, Callable[[StateDict], Tuple[StateDict, List[str]]]] = {
    'pvt_v2': convert_pvt_v2_keys,
    'mmseg_mit': _unchanged,
    'torchvision_resnet': _convert_resnet,
    'torchvggish': _unchanged,
    'openai_clip': _convert_openai_clip,
    'open_clip_text': _convert_open_clip_text,
}


def convert_checkpoint(state_dict: StateDict, target: str, source: str = 'checkpoint') -> ConversionResult:
    """Convert an official state dict to the key layout of an mmavs target module.

    Args:
        state_dict (dict[str, Tensor]): Flat state dict of any supported family.
        target (str): ``'pvt_v2'``, ``'resnet'``, ``'vggish'`` or ``'clip_text'``.
        source (str): Name for error messages.

    Returns:
        ConversionResult: converted tensors, detected family and deliberately dropped keys (sorted).

    Raises:
        ValueError: Unknown target, unknown format, or a family that does not fit the target.
    """
    if target not in TARGET_FAMILIES:
        raise unknown_target_error(target)
    family = detect_family(state_dict, source)
    if family not in TARGET_FAMILIES[target]:
        wanted = ' or '.join(FAMILY_NAMES[f] for f in TARGET_FAMILIES[target])
        raise ValueError(f'{source} is a {FAMILY_NAMES[family]} checkpoint, but the {target} module needs '
                         f'{wanted} weights. Check the checkpoint path in init_cfg (see {MODEL_ZOO_DOC}).')
    out, dropped = _FAMILY_CONVERTERS[family](state_dict)
    return ConversionResult(state_dict=out, source_family=family, dropped=sorted(dropped))
