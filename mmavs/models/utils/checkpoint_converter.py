"""Offline conversion of official checkpoint files to mmavs checkpoints (used by ``tools/model_converters``).

:func:`convert_file` reads a file safely (:mod:`.checkpoint_file`), converts its keys
(:mod:`.checkpoint_keys`), builds the mmavs module whose shapes the result has (:func:`build_target_module`),
verifies that the tensors load strictly into it (:func:`~.pretrained_init.load_state_dict_strict`) and
writes ``{'state_dict', 'meta'}``. The command line is :mod:`.converter_cli`.

This module sits above the backbones (it builds them), so unlike the rest of :mod:`mmavs.models.utils` it
imports them, and :mod:`mmavs.models.utils` exports its names lazily (the backbones import that package).
"""
import os
import os.path as osp
import re
from typing import Callable, Dict, Optional, Tuple

import torch
from mmseg.models.backbones import ResNet
from torch import nn

from mmavs.models.backbones.audio_backbone import AudioBackbone
from mmavs.models.backbones.visual_backbone import PVT_V2_ARCH_SETTINGS, PVT_V2_COMMON, VisualBackbone
from mmavs.models.text.clip_text_encoder import CLIPCaptionEncoder
from mmavs.utils.file_hash import file_sha256

from .checkpoint_file import load_state_dict_file, missing_file_message
from .checkpoint_keys import (
    MODEL_ZOO_DOC,
    ConversionResult,
    StateDict,
    convert_checkpoint,
    convert_pvt_v2_keys,
    unknown_target_error,
)
from .pretrained_init import ALLOWED_MISSING, load_state_dict_strict


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
    return file_sha256(path).startswith(m.group(1))


def infer_pvt_v2_arch(state_dict: StateDict) -> Optional[str]:
    """Name of the PVT-v2 variant (``pvt_v2_b0`` ... ``b5``) whose shapes a checkpoint has.

    The base width is the first patch embedding's output channels (``[C0, 3, 7, 7]``), the depth of stage
    ``i`` the number of its blocks, and its MLP ratio ``fc1`` rows / (``C0 * heads[i]``).

    Args:
        state_dict (dict[str, Tensor]): Official PVT-v2 or converted (mmseg MiT) state dict.

    Returns:
        str | None: The variant, or None if no published setting matches.
    """
    sd = convert_pvt_v2_keys(state_dict)[0] if 'patch_embed1.proj.weight' in state_dict else state_dict
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


def _build_pvt_v2(state_dict: StateDict, source: str) -> Tuple[nn.Module, str]:
    arch = infer_pvt_v2_arch(state_dict)
    if arch is None:
        raise ValueError(f'{source}: tensor shapes match no published PVT-v2 variant (b0..b5); variants '
                         f'such as pvt_v2_b2_li are not supported. See {MODEL_ZOO_DOC}.')
    return VisualBackbone(arch, drop_path_rate=0.).body, arch


#: (bottleneck blocks?, blocks per stage) -> ResNet depth.
_RESNET_DEPTHS = {(True, (3, 4, 6, 3)): 50, (True, (3, 4, 23, 3)): 101, (True, (3, 8, 36, 3)): 152,
                  (False, (2, 2, 2, 2)): 18, (False, (3, 4, 6, 3)): 34}


def _build_resnet(state_dict: StateDict, source: str) -> Tuple[nn.Module, str]:
    counts = [len({k.split('.')[1] for k in state_dict if k.startswith(f'layer{i}.')}) for i in (1, 2, 3, 4)]
    depth = _RESNET_DEPTHS.get(('layer1.0.conv3.weight' in state_dict, tuple(counts)))
    if depth is None:
        raise ValueError(f'{source}: blocks per stage {counts} match no ResNet depth. See {MODEL_ZOO_DOC}.')
    return ResNet(depth=depth, style='pytorch'), f'resnet{depth}'


def _build_vggish(state_dict: StateDict, source: str) -> Tuple[nn.Module, str]:
    try:
        channels = [int(state_dict[f'features.{i}.weight'].shape[0]) for i in (0, 3, 6, 8, 11, 13)]
        embed = [int(state_dict[f'embeddings.{i}.weight'].shape[0]) for i in (0, 2, 4)]
    except KeyError as err:
        raise ValueError(f'{source}: VGGish checkpoint lacks {err.args[0]!r}.') from err
    return (AudioBackbone(out_channels=None, channels=channels, embed_dims=embed),
            f'vggish channels={channels} embed_dims={embed}')


def _build_clip_text(state_dict: StateDict, source: str) -> Tuple[nn.Module, str]:
    vocab, width = (int(n) for n in state_dict['token_embedding.weight'].shape)
    context = int(state_dict['positional_embedding'].shape[0])
    layers = len({k.split('.')[2] for k in state_dict if k.startswith('transformer.resblocks.')})
    proj = state_dict.get('text_projection')  # [width, embed_dim]
    embed_dim = int(proj.shape[1]) if proj is not None else None
    # The head count does not change any shape; OpenAI CLIP uses width / 64.
    module = CLIPCaptionEncoder(width=width, layers=layers, heads=max(1, width // 64), vocab_size=vocab,
                                context_length=context, embed_dim=embed_dim)
    return module, f'clip text width={width} layers={layers} embed_dim={embed_dim}'


#: Target kind -> ``fn(converted state dict, source) -> (module, architecture description)``.
_BUILDERS: Dict[str, Callable[[StateDict, str], Tuple[nn.Module, str]]] = {
    'pvt_v2': _build_pvt_v2,
    'resnet': _build_resnet,
    'vggish': _build_vggish,
    'clip_text': _build_clip_text,
}


def build_target_module(state_dict: StateDict, target: str, source: str = 'checkpoint') -> Tuple[nn.Module, str]:
    """Build the mmavs module whose shapes a converted state dict has (to verify a conversion).

    Args:
        state_dict (dict[str, Tensor]): Converted tensors (output of :func:`convert_checkpoint`).
        target (str): ``'pvt_v2'``, ``'resnet'``, ``'vggish'`` or ``'clip_text'``.
        source (str): Name for error messages.

    Returns:
        tuple[nn.Module, str]: The module (randomly initialised, CPU) and a description of its architecture.

    Raises:
        ValueError: Unknown target, or the shapes match no supported architecture.
    """
    if target not in _BUILDERS:
        raise unknown_target_error(target)
    return _BUILDERS[target](state_dict, source)


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
        raise FileNotFoundError(missing_file_message(src))
    if check_hash and check_hash_prefix(src) is False:
        raise ValueError(f'{src}: sha256 does not start with the prefix in its file name (corrupt or renamed '
                         f'download?). Re-download it (see {MODEL_ZOO_DOC}); pass --no-hash-check to the '
                         f'converter (check_hash=False) to convert it anyway.')
    sd = load_state_dict_file(src, allow_torchscript=(target == 'clip_text'))
    result = convert_checkpoint(sd, target, src)
    module, arch = build_target_module(result.state_dict, target, src)
    load_state_dict_strict(module, result.state_dict, ALLOWED_MISSING[target], strict=True, source=src)
    meta = dict(source=osp.basename(src), source_family=result.source_family, target=target, arch=arch,
                dropped=result.dropped, converter='mmavs.models.utils.convert_file')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=result.state_dict, meta=meta), dst)
    return result
