"""Pixel decoder neck: FPN fusion of the visual backbone's scales and a stride-4 mask feature map."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.necks import FPN
from torch import Tensor

from mmavs.registry import MODELS


@MODELS.register_module()
class AVSPixelNeck(BaseModule):
    """FPN-like multi-scale fusion to ``channels`` and a stride-4 mask feature map.

    mmseg's :class:`~mmseg.models.necks.FPN` (1x1 laterals, top-down nearest upsampling and sum, 3x3 output
    convs) maps every backbone scale to ``channels``; the FPN levels, bilinearly upsampled to the finest
    one and summed, go through a 3x3 :class:`~mmcv.cnn.ConvModule` (norm + ReLU) to give the mask feature
    map on which the decoder predicts pixel logits. Every FPN output thus reaches the mask features, so
    every parameter of the neck receives a gradient whichever levels the decoder attends (DDP requires
    it unless ``find_unused_parameters`` is set).

    Args:
        in_channels (Sequence[int]): Channels of the backbone maps, finest first (PVT-v2 b1-b5:
            [64, 128, 320, 512]; ResNet-50: [256, 512, 1024, 2048]).
        channels (int): Output width ``d``. Defaults to 256.
        norm_cfg (dict, optional): Norm of the mask-feature conv. Defaults to GroupNorm with 32 groups
            (``channels`` must be divisible by ``num_groups``).
        fpn_norm_cfg (dict, optional): Norm of the FPN convs. Defaults to None (mmseg's FPN default).
        act_cfg (dict): Activation of the mask-feature conv. Defaults to ReLU.
        channels_last (bool): Keep the conv weights and the maps in channels-last memory format (NHWC strides;
            shapes unchanged). The same sums in another order, to float rounding; the neck's stride-4 3x3 convs
            run about 1.4x faster on the CPU (oneDNN) this way (docs/benchmark.md). Defaults to True.
        init_cfg (dict, optional): Init config. Defaults to None (the FPN keeps its Xavier init).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 fpn_norm_cfg: Optional[dict] = None,
                 act_cfg: dict = dict(type='ReLU'),
                 channels_last: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.channels = channels
        if norm_cfg is not None and norm_cfg.get('type') == 'GN' and channels % norm_cfg['num_groups']:
            raise ValueError(f'AVSPixelNeck: channels={channels} is not divisible by GroupNorm num_groups='
                             f'{norm_cfg["num_groups"]}; set norm_cfg accordingly')
        self.fpn = FPN(
            in_channels=self.in_channels,
            out_channels=channels,
            num_outs=len(self.in_channels),
            norm_cfg=fpn_norm_cfg)
        self.mask_conv = ConvModule(
            channels, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:  # initialisation and load_state_dict write into these tensors in place: the format stays
            self.to(memory_format=self.memory_format)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """Fuse the backbone scales.

        Args:
            inputs (Sequence[Tensor]): Backbone maps ``[N, in_channels[i], H_i, W_i]``, finest first.

        Returns:
            tuple:
                - list[Tensor]: Fused maps ``[N, channels, H_i, W_i]``, finest first (the decoder's
                  multi-scale memory).
                - Tensor: Mask features ``[N, channels, H_0, W_0]`` (stride 4 for the visual backbones).
        """
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'AVSPixelNeck: expected {len(self.in_channels)} feature maps, got {len(inputs)}')
        for i, (feat, ch) in enumerate(zip(inputs, self.in_channels)):
            if feat.shape[1] != ch:
                raise ValueError(f'AVSPixelNeck: input {i} has {feat.shape[1]} channels, in_channels says {ch}')
        outs = list(self.fpn([feat.contiguous(memory_format=self.memory_format) for feat in inputs]))
        fused = outs[0]
        for out in outs[1:]:
            fused = fused + F.interpolate(
                out, size=fused.shape[-2:], mode='bilinear', align_corners=False)
        return outs, self.mask_conv(fused)
