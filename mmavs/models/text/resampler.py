"""k^t-slot text resampler: caption token embeddings -> k^t implicit text tokens in the shared space (MIT)."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule

from mmavs.registry import MODELS

from ..layers import FastMultiheadAttention

#: k^t of ICF: Table 1 of the paper says 15 (our default), its text says 30 (the documented alternative).
DEFAULT_NUM_SLOTS = 15
ALTERNATIVE_NUM_SLOTS = 30
MAX_NUM_SLOTS = 256


@MODELS.register_module()
class TextResampler(BaseModule):
    """Learnable slots that cross-attend to a caption's token embeddings (our formalization of MIT's k^t).

    ``k^t`` learnable slot embeddings (``[k^t, d]``) are the queries; the caption's token embeddings,
    linearly projected from the text encoder width to ``d`` and layer-normed, are keys / values, with the
    padding positions masked out. Each of the ``num_layers`` layers is pre-norm:
    ``x = x + CrossAttn(LN(x), text)``, ``x = x + FFN(LN(x))``; a final LayerNorm gives the output.
    The same module (or one per granularity, as the caller chooses) yields ``L^vid``, ``L^seg(t)`` and
    ``L^frm(t)``, each ``[k^t, d]``.

    A caption whose tokens are *all* masked (e.g. a missing caption) gets no cross-attention contribution:
    its output is the slot prior passed through the FFNs, identical for every such caption.

    Args:
        in_channels (int): Width C of the caption token embeddings (CLIP text width, 512 for ViT-B/16).
        embed_dims (int): Output width d of the shared space. Defaults to 256.
        num_slots (int): k^t, number of implicit text tokens, 1..256. Defaults to 15 (ICF Table 1); 30 is
            the documented alternative (the paper's text).
        num_heads (int): Attention heads (must divide ``embed_dims``). Defaults to 8.
        num_layers (int): Cross-attention + FFN layers. Defaults to 1.
        ffn_ratio (int): FFN hidden width over ``embed_dims``. Defaults to 4.
        dropout (float): Dropout in attention and FFN. Defaults to 0.0.
        init_cfg (dict | list[dict], optional): MMEngine init config.

    Shapes:
        - tokens: ``[*, L, C]`` (any leading dims, e.g. ``[N, L, C]`` or ``[B, T, L, C]``).
        - padding_mask: bool ``[*, L]``, True = padding (ignored), or None.
        - output: ``[*, k^t, d]``.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 256,
                 num_slots: int = DEFAULT_NUM_SLOTS,
                 num_heads: int = 8,
                 num_layers: int = 1,
                 ffn_ratio: int = 4,
                 dropout: float = 0.0,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_slots, int) or isinstance(num_slots, bool) or not 1 <= num_slots <= MAX_NUM_SLOTS:
            raise ValueError(f'TextResampler: num_slots (k^t) must be an int in 1..{MAX_NUM_SLOTS}, got '
                             f'{num_slots!r} (ICF: 15 by default, 30 as the alternative).')
        for name, value in (('in_channels', in_channels), ('embed_dims', embed_dims), ('num_heads', num_heads),
                            ('num_layers', num_layers), ('ffn_ratio', ffn_ratio)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'TextResampler: {name} must be a positive int, got {value!r}.')
        if embed_dims % num_heads != 0:
            raise ValueError(f'TextResampler: num_heads ({num_heads}) must divide embed_dims ({embed_dims}).')
        self.in_channels, self.embed_dims, self.num_slots = in_channels, embed_dims, num_slots

        self.slots = nn.Parameter(torch.randn(num_slots, embed_dims) * embed_dims**-0.5)
        self.input_proj = nn.Linear(in_channels, embed_dims)
        self.input_norm = nn.LayerNorm(embed_dims)
        self.attn_norms = nn.ModuleList([nn.LayerNorm(embed_dims) for _ in range(num_layers)])
        self.attns = nn.ModuleList([
            FastMultiheadAttention(embed_dims, num_heads, attn_drop=dropout, proj_drop=dropout, batch_first=True)
            for _ in range(num_layers)
        ])
        self.ffn_norms = nn.ModuleList([nn.LayerNorm(embed_dims) for _ in range(num_layers)])
        self.ffns = nn.ModuleList([
            FFN(embed_dims, embed_dims * ffn_ratio, ffn_drop=dropout, add_identity=True)
            for _ in range(num_layers)
        ])
        self.out_norm = nn.LayerNorm(embed_dims)

    def forward(self, tokens: torch.Tensor, padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Resample caption tokens to ``k^t`` slots.

        Args:
            tokens (Tensor): ``[*, L, C]`` caption token embeddings.
            padding_mask (Tensor, optional): Bool ``[*, L]``, True at padding positions.

        Returns:
            Tensor: ``[*, k^t, d]``.
        """
        if tokens.dim() < 3 or tokens.shape[-1] != self.in_channels:
            raise ValueError(f'TextResampler: tokens must be [*, L, {self.in_channels}], got {tuple(tokens.shape)}.')
        lead, length = tokens.shape[:-2], tokens.shape[-2]
        if padding_mask is not None:
            if padding_mask.shape != tokens.shape[:-1]:
                raise ValueError(f'TextResampler: padding_mask must have shape {tuple(tokens.shape[:-1])}, got '
                                 f'{tuple(padding_mask.shape)}.')
            if padding_mask.dtype != torch.bool:
                raise TypeError(f'TextResampler: padding_mask must be bool, got {padding_mask.dtype}.')
        x_text = tokens.reshape(-1, length, self.in_channels)
        n = x_text.shape[0]
        mask = None if padding_mask is None else padding_mask.reshape(n, length).to(tokens.device)
        has_text = torch.ones(n, 1, 1, dtype=tokens.dtype, device=tokens.device)
        if mask is not None:
            empty = mask.all(dim=1)
            if bool(empty.any()):
                # Attention over an all-masked row is undefined (NaN): let it see position 0, discard the result.
                mask = mask.clone()
                mask[empty, 0] = False
                has_text = (~empty).to(tokens.dtype)[:, None, None]
            if length > 0:
                # Zero the masked values too, so that non-finite junk there cannot leak in via 0 * inf.
                x_text = x_text.masked_fill(mask[..., None], 0.0) if mask.any() else x_text
        memory = self.input_norm(self.input_proj(x_text))
        x = self.slots[None].expand(n, -1, -1)
        for attn_norm, attn, ffn_norm, ffn in zip(self.attn_norms, self.attns, self.ffn_norms, self.ffns):
            q = attn_norm(x)
            x = x + has_text * attn(query=q, key=memory, value=memory, identity=torch.zeros_like(q),
                                    key_padding_mask=mask)
            x = ffn(ffn_norm(x), identity=x)
        x = self.out_norm(x)
        return x.reshape(*lead, self.num_slots, self.embed_dims)
