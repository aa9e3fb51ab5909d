"""Building blocks of the query decoders: positional encodings, MLP, channel-wise cross-attention."""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn


def sine_positional_encoding_1d(length: int,
                                dims: int,
                                device: Optional[torch.device] = None,
                                dtype: torch.dtype = torch.float32,
                                temperature: float = 10000.) -> Tensor:
    """Transformer sine/cosine encoding of positions ``0..length-1``.

    Args:
        length (int): Number of positions.
        dims (int): Encoding width (even).
        device (torch.device, optional): Output device.
        dtype (torch.dtype): Output dtype.
        temperature (float): Frequency base. Defaults to 10000.

    Returns:
        Tensor: ``[length, dims]``; columns ``2i`` hold ``sin(pos / temperature^(2i/dims))`` and ``2i+1``
        the matching cosine.
    """
    if dims % 2:
        raise ValueError(f'sine_positional_encoding_1d: dims must be even, got {dims}')
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = temperature**(torch.arange(0, dims, 2, device=device, dtype=torch.float32) / dims)
    enc = torch.zeros(length, dims, device=device, dtype=torch.float32)
    enc[:, 0::2] = torch.sin(pos / freq)
    enc[:, 1::2] = torch.cos(pos / freq)
    return enc.to(dtype)


def sine_positional_encoding_2d(height: int,
                                width: int,
                                dims: int,
                                device: Optional[torch.device] = None,
                                dtype: torch.dtype = torch.float32,
                                temperature: float = 10000.) -> Tensor:
    """DETR-style 2D sine encoding of a ``height x width`` grid, coordinates normalised to ``(0, 2*pi)``.

    Args:
        height (int): Grid rows.
        width (int): Grid columns.
        dims (int): Encoding width (divisible by 4): the first half encodes y, the second half x.
        device (torch.device, optional): Output device.
        dtype (torch.dtype): Output dtype.
        temperature (float): Frequency base. Defaults to 10000.

    Returns:
        Tensor: ``[height * width, dims]`` in row-major (flattened ``h * width + w``) order.
    """
    if dims % 4:
        raise ValueError(f'sine_positional_encoding_2d: dims must be divisible by 4, got {dims}')
    half = dims // 2
    y = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 * math.pi
    x = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 * math.pi
    freq = temperature**(torch.arange(0, half, 2, device=device, dtype=torch.float32) / half)
    enc_y = torch.zeros(height, half, device=device)
    enc_y[:, 0::2] = torch.sin(y[:, None] / freq)
    enc_y[:, 1::2] = torch.cos(y[:, None] / freq)
    enc_x = torch.zeros(width, half, device=device)
    enc_x[:, 0::2] = torch.sin(x[:, None] / freq)
    enc_x[:, 1::2] = torch.cos(x[:, None] / freq)
    enc = torch.cat([
        enc_y[:, None, :].expand(height, width, half),
        enc_x[None, :, :].expand(height, width, half)
    ], dim=-1)
    return enc.reshape(height * width, dims).to(dtype)


class MLP(nn.Module):
    """Stack of Linear layers with ReLU between them (none after the last).

    Args:
        in_channels (int): Input width.
        hidden_channels (int): Hidden width.
        out_channels (int): Output width.
        num_layers (int): Number of Linear layers (>= 1).
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'MLP: num_layers must be >= 1, got {num_layers}')
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layers to ``x`` ``[..., in_channels]`` -> ``[..., out_channels]``."""
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class ChannelCrossAttention(BaseModule):
    """Frame-level channel-wise cross-attention: semantic tokens re-weight the visual feature channels.

    For one frame with semantic tokens ``S`` ``[K, d]`` (audio queries, optionally with text-memory tokens,
    or the single pooled audio-semantic vector) and visual tokens ``X`` ``[L, d]``:

    1. spatial cross-attention ``A = softmax_L((S W_q)(X W_k)^T / sqrt(d))`` ``[K, L]``, so each semantic
       token finds its visual evidence ``E = A X`` ``[K, d]`` in the frame;
    2. channel weights ``w = 2 sigmoid(MLP([mean_K E ; mean_K S]))`` ``[d]`` in (0, 2);
    3. output ``X * w``: every channel of the frame's visual features is amplified or suppressed according
       to what the sound (and text) selects. ``w = 1`` is the identity, so the module can learn to pass
       features through.

    Args:
        embed_dims (int): Width ``d`` of both inputs.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self, embed_dims: int, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.gate = MLP(2 * embed_dims, embed_dims, embed_dims, num_layers=2)

    def channel_weights(self, semantic: Tensor, visual: Tensor) -> Tensor:
        """Steps 1-2: the channel weights ``w`` ``[N, d]`` of semantic ``[N, K, d]`` on visual tokens ``[N, L, d]``.

        The spatial attention runs through ``scaled_dot_product_attention`` (one head, scale ``1 / sqrt(d)``):
        the same ``A X`` as the explicit softmax, without materialising ``A`` where PyTorch has a fused kernel.
        """
        q = self.q_proj(semantic)
        k = self.k_proj(visual)
        evidence = F.scaled_dot_product_attention(q[:, None], k[:, None], visual[:, None])[:, 0]  # [N, K, d]
        desc = torch.cat([evidence.mean(dim=1), semantic.mean(dim=1)], dim=-1)
        return 2. * torch.sigmoid(self.gate(desc))

    def forward(self, semantic: Tensor, visual: Tensor) -> Tuple[Tensor, Tensor]:
        """Re-weight visual tokens.

        Args:
            semantic (Tensor): Semantic tokens ``[N, K, d]`` of each frame.
            visual (Tensor): Visual tokens ``[N, L, d]`` of the same frames.

        Returns:
            tuple[Tensor, Tensor]: Re-weighted tokens ``[N, L, d]`` and channel weights ``[N, d]``.
        """
        weights = self.channel_weights(semantic, visual)
        return visual * weights[:, None, :], weights

    def forward_map(self, semantic: Tensor, feature: Tensor) -> Tuple[Tensor, Tensor]:
        """Re-weight a feature map.

        The weights come from the map's tokens (a transposed view); the map itself is scaled in its own
        layout instead of being turned into tokens and back.

        Args:
            semantic (Tensor): Semantic tokens ``[N, K, d]``.
            feature (Tensor): Feature map ``[N, d, H, W]``.

        Returns:
            tuple[Tensor, Tensor]: Re-weighted map ``[N, d, H, W]`` and channel weights ``[N, d]``.
        """
        weights = self.channel_weights(semantic, feature.flatten(2).transpose(1, 2))
        return feature * weights[:, :, None, None], weights
