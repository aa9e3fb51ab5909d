"""Visual backbone: PVT-v2 (b0-b5) on mmseg's MixVisionTransformer bricks, or ResNet-50 from mmseg."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule, ModuleList

# Importing this module runs ``mmavs/__init__`` first, which installs the mmcv._ext stand-in mmseg needs.
from mmseg.models.backbones import MixVisionTransformer, ResNet
from mmseg.models.backbones.mit import TransformerEncoderLayer
from mmseg.models.utils import PatchEmbed
from torch import Tensor, nn

from mmavs.models.utils.pretrained_init import pretrained_init_cfg
from mmavs.registry import MODELS

# Published PVT-v2 settings (Wang et al., "PVT v2", official ``pvt_v2.py``). Stage widths are
# ``embed_dims * num_heads[i]`` as in mmseg's MixVisionTransformer: [32, 64, 160, 256] for b0 and
# [64, 128, 320, 512] for b1-b5. All variants: heads [1, 2, 5, 8], sr ratios [8, 4, 2, 1], overlapping
# patch embeddings 7/4 then 3/2, qkv bias, LayerNorm eps 1e-6.
PVT_V2_ARCH_SETTINGS: Dict[str, dict] = {
    'pvt_v2_b0': dict(embed_dims=32, num_layers=[2, 2, 2, 2], mlp_ratios=[8, 8, 4, 4]),
    'pvt_v2_b1': dict(embed_dims=64, num_layers=[2, 2, 2, 2], mlp_ratios=[8, 8, 4, 4]),
    'pvt_v2_b2': dict(embed_dims=64, num_layers=[3, 4, 6, 3], mlp_ratios=[8, 8, 4, 4]),
    'pvt_v2_b3': dict(embed_dims=64, num_layers=[3, 4, 18, 3], mlp_ratios=[8, 8, 4, 4]),
    'pvt_v2_b4': dict(embed_dims=64, num_layers=[3, 8, 27, 3], mlp_ratios=[8, 8, 4, 4]),
    'pvt_v2_b5': dict(embed_dims=64, num_layers=[3, 6, 40, 3], mlp_ratios=[4, 4, 4, 4]),
}
PVT_V2_COMMON = dict(
    num_stages=4,
    num_heads=[1, 2, 5, 8],
    patch_sizes=[7, 3, 3, 3],
    strides=[4, 2, 2, 2],
    sr_ratios=[8, 4, 2, 1],
    qkv_bias=True)
#: ResNet depths and their stage widths (torchvision-style stem; 18/34 use BasicBlock).
RESNET_ARCH_SETTINGS: Dict[str, Tuple[int, List[int]]] = {
    'resnet18': (18, [64, 128, 256, 512]),
    'resnet34': (34, [64, 128, 256, 512]),
    'resnet50': (50, [256, 512, 1024, 2048]),
}
ARCHS = tuple(PVT_V2_ARCH_SETTINGS) + tuple(RESNET_ARCH_SETTINGS)


class PVTv2(MixVisionTransformer):
    """PVT-v2 encoder: mmseg's MixVisionTransformer with one MLP ratio per stage.

    mmseg's class takes a single ``mlp_ratio`` while PVT-v2 b0-b4 use ``[8, 8, 4, 4]``. This subclass builds
    exactly the same module tree (``layers[i] = [patch_embed, blocks, norm]``) with the per-stage ratio, so
    state dicts converted for mmseg's MiT (e.g. by mmseg's ``mit2mmseg`` converter, which also fits the
    official PVT-v2 checkpoints) load unchanged; ``forward`` and ``init_weights`` are inherited.

    Args:
        embed_dims (int): Base width; stage ``i`` has ``embed_dims * num_heads[i]`` channels.
        num_layers (Sequence[int]): Blocks per stage.
        mlp_ratios (Sequence[int]): FFN expansion per stage.
        num_heads, patch_sizes, strides, sr_ratios: Per-stage settings, see mmseg's MixVisionTransformer.
        in_channels (int): Image channels. Defaults to 3.
        num_stages (int): Defaults to 4.
        out_indices (Sequence[int]): Stages to output. Defaults to (0, 1, 2, 3).
        qkv_bias (bool): Defaults to True.
        drop_rate, attn_drop_rate, drop_path_rate (float): Dropout rates (stochastic depth decays linearly).
        act_cfg (dict): FFN activation. Defaults to GELU.
        norm_cfg (dict): Norm layer. Defaults to LayerNorm with eps 1e-6.
        init_cfg (dict, optional): MMEngine init config (e.g. ``Pretrained``).
        with_cp (bool): Gradient checkpointing. Defaults to False.
    """

    #: Official checkpoint kind taken by ``init_cfg=dict(type='Pretrained', ...)`` (see
    #: :mod:`mmavs.models.utils.pretrained_init`).
    pretrained_kind = 'pvt_v2'

    def __init__(self,
                 embed_dims: int,
                 num_layers: Sequence[int],
                 mlp_ratios: Sequence[int],
                 num_heads: Sequence[int] = (1, 2, 5, 8),
                 patch_sizes: Sequence[int] = (7, 3, 3, 3),
                 strides: Sequence[int] = (4, 2, 2, 2),
                 sr_ratios: Sequence[int] = (8, 4, 2, 1),
                 in_channels: int = 3,
                 num_stages: int = 4,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None,
                 with_cp: bool = False) -> None:
        # Skip MixVisionTransformer.__init__ (it would build the stages with one MLP ratio) and build the
        # same attributes and module tree here.
        BaseModule.__init__(self, init_cfg=init_cfg)
        lengths = {len(num_layers), len(mlp_ratios), len(num_heads), len(patch_sizes), len(strides),
                   len(sr_ratios)}
        if lengths != {num_stages}:
            raise ValueError(f'PVTv2: every per-stage setting needs {num_stages} entries')
        if max(out_indices) >= num_stages:
            raise ValueError(f'PVTv2: out_indices {tuple(out_indices)} exceed {num_stages} stages')
        self.embed_dims = embed_dims
        self.num_stages = num_stages
        self.num_layers = list(num_layers)
        self.num_heads = list(num_heads)
        self.mlp_ratios = list(mlp_ratios)
        self.patch_sizes = list(patch_sizes)
        self.strides = list(strides)
        self.sr_ratios = list(sr_ratios)
        self.with_cp = with_cp
        self.out_indices = tuple(out_indices)

        dpr = torch.linspace(0, drop_path_rate, sum(num_layers)).tolist()
        cur = 0
        self.layers = ModuleList()
        for i, num_layer in enumerate(num_layers):
            embed_dims_i = embed_dims * num_heads[i]
            patch_embed = PatchEmbed(
                in_channels=in_channels,
                embed_dims=embed_dims_i,
                kernel_size=patch_sizes[i],
                stride=strides[i],
                padding=patch_sizes[i] // 2,
                norm_cfg=norm_cfg)
            blocks = ModuleList([
                TransformerEncoderLayer(
                    embed_dims=embed_dims_i,
                    num_heads=num_heads[i],
                    feedforward_channels=mlp_ratios[i] * embed_dims_i,
                    drop_rate=drop_rate,
                    attn_drop_rate=attn_drop_rate,
                    drop_path_rate=dpr[cur + idx],
                    qkv_bias=qkv_bias,
                    act_cfg=act_cfg,
                    norm_cfg=norm_cfg,
                    with_cp=with_cp,
                    sr_ratio=sr_ratios[i]) for idx in range(num_layer)
            ])
            in_channels = embed_dims_i
            norm = build_norm_layer(norm_cfg, embed_dims_i)[1]
            self.layers.append(ModuleList([patch_embed, blocks, norm]))
            cur += num_layer
        # The official PVT-v2 builds the patch-embedding and spatial-reduction LayerNorms with PyTorch's
        # default eps (1e-5); only the block / stage norms use 1e-6. Match it so that converted official
        # weights compute exactly what the official network computes.
        for patch_embed, blocks, _ in self.layers:
            patch_embed.norm.eps = 1e-5
            for block in blocks:
                if getattr(block.attn, 'norm', None) is not None:
                    block.attn.norm.eps = 1e-5


@MODELS.register_module()
class VisualBackbone(BaseModule):
    """Frame encoder giving 4 feature maps at strides 4, 8, 16 and 32.

    ``arch`` selects PVT-v2 b0-b5 (:class:`PVTv2`, mmseg MiT bricks; channels [32, 64, 160, 256] for b0,
    [64, 128, 320, 512] otherwise) or ``'resnet50'`` (mmseg ``ResNet``, depth 50, torchvision-style 7x7 stem
    and ``pytorch`` style, so torchvision weights map key by key; channels [256, 512, 1024, 2048]);
    ``'resnet18'`` / ``'resnet34'`` (channels [64, 128, 256, 512]) serve small CPU configs. The
    encoder lives in ``self.body`` with the module names of the mmseg class; ``init_cfg`` is handed to it,
    so a ``Pretrained`` checkpoint is one in mmseg MiT / torchvision ResNet key format.

    Args:
        arch (str): One of ``pvt_v2_b0`` ... ``pvt_v2_b5``, ``resnet18``, ``resnet34``, ``resnet50``.
            Defaults to ``'pvt_v2_b5'``.
        out_indices (Sequence[int]): Stages to output. Defaults to (0, 1, 2, 3).
        frozen_stages (int): -1 freezes nothing; 0 freezes the stem (ResNet: conv1/bn1; PVT-v2: the first
            patch embedding); ``k >= 1`` freezes the stem and stages 1..k entirely. Frozen parts stay in
            eval mode. Defaults to -1.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training (ResNet; PVT-v2 has LayerNorm
            only, where it changes nothing). Defaults to False.
        drop_path_rate (float): Stochastic depth of PVT-v2 (ignored by ResNet). Defaults to 0.1.
        norm_cfg (dict, optional): ResNet norm layer; BN by default (SyncBN fails under CPU DDP).
        with_cp (bool): Gradient checkpointing. Defaults to False.
        init_cfg (dict, optional): Init config passed to the encoder, e.g.
            ``dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')``: ``Pretrained`` resolves to
            :class:`~mmavs.models.utils.AVSPretrainedInit`, which takes the official PVT-v2 / torchvision
            ResNet file or its converted form and loads it strictly (see ``docs/model_zoo.md``).
            Defaults to None.
    """

    #: The child that takes an official checkpoint (``load_pretrained(VisualBackbone(...), path)`` loads it).
    pretrained_body = 'body'

    def __init__(self,
                 arch: str = 'pvt_v2_b5',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 drop_path_rate: float = 0.1,
                 norm_cfg: Optional[dict] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=None)
        if arch not in ARCHS:
            raise ValueError(f'VisualBackbone: unknown arch {arch!r}; choose one of {ARCHS}')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'VisualBackbone: frozen_stages must be in [-1, 4], got {frozen_stages}')
        self.arch = arch
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.is_resnet = arch in RESNET_ARCH_SETTINGS
        if self.is_resnet:
            depth, widths = RESNET_ARCH_SETTINGS[arch]
            self.body = ResNet(
                depth=depth,
                style='pytorch',
                out_indices=self.out_indices,
                frozen_stages=frozen_stages,
                norm_cfg=norm_cfg or dict(type='BN', requires_grad=True),
                norm_eval=norm_eval,
                with_cp=with_cp,
                init_cfg=pretrained_init_cfg(init_cfg))
        else:
            setting = PVT_V2_ARCH_SETTINGS[arch]
            self.body = PVTv2(
                **setting,
                **PVT_V2_COMMON,
                out_indices=self.out_indices,
                drop_path_rate=drop_path_rate,
                with_cp=with_cp,
                init_cfg=pretrained_init_cfg(init_cfg))
            widths = [setting['embed_dims'] * h for h in PVT_V2_COMMON['num_heads']]
        self.out_channels: List[int] = [widths[i] for i in self.out_indices]
        self.out_strides: List[int] = [(4, 8, 16, 32)[i] for i in self.out_indices]
        self._freeze_stages()

    def _pvt_frozen_modules(self) -> List[nn.Module]:
        """PVT-v2 modules covered by ``frozen_stages``."""
        if self.frozen_stages < 0:
            return []
        if self.frozen_stages == 0:
            return [self.body.layers[0][0]]
        return [self.body.layers[i] for i in range(self.frozen_stages)]

    def _freeze_stages(self) -> None:
        """Stop gradients of the frozen PVT-v2 parts (ResNet freezes itself)."""
        for module in [] if self.is_resnet else self._pvt_frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'VisualBackbone':
        """Set train mode, keeping frozen parts (and BN layers when ``norm_eval``) in eval mode."""
        super().train(mode)
        if not self.is_resnet:
            self._freeze_stages()
            if mode and self.norm_eval:
                for module in self.body.modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Encode frames.

        Args:
            x (Tensor): Images ``[N, 3, H, W]`` (normalised).

        Returns:
            tuple[Tensor]: One map per ``out_indices`` entry, ``[N, out_channels[i], H / s_i, W / s_i]``
            with strides ``s = 4, 8, 16, 32`` (rounded up for sizes not divisible by the stride).
        """
        if x.dim() != 4:
            raise ValueError(f'VisualBackbone expects images [N, 3, H, W], got shape {tuple(x.shape)}')
        return tuple(self.body(x))
