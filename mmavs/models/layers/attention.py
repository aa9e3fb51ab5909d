"""mmcv's ``MultiheadAttention`` brick without the attention-weights output, so PyTorch can use SDPA.

mmcv's brick calls ``torch.nn.MultiheadAttention`` with its default ``need_weights=True``: PyTorch then
materialises ``softmax(Q K^T / sqrt(d))`` per head with explicit matrix products, averages it over the heads
for the (discarded) second output, and cannot use ``scaled_dot_product_attention``. Nothing in mmavs reads
those weights, so :class:`FastMultiheadAttention` asks for none: same parameters (same state-dict keys, same
initialisation), same outputs to float rounding, less work.
"""
from typing import Optional, Tuple

from mmcv.cnn.bricks.transformer import MultiheadAttention
from torch import Tensor, nn


class _MultiheadAttentionWithoutWeights(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` whose forward never computes the head-averaged attention weights."""

    def forward(self, query: Tensor, key: Tensor, value: Tensor, **kwargs) -> Tuple[Tensor, Optional[Tensor]]:
        kwargs['need_weights'] = False
        return super().forward(query, key, value, **kwargs)


class FastMultiheadAttention(MultiheadAttention):
    """mmcv ``MultiheadAttention`` (identity connection, positional encodings, ``batch_first``) on SDPA.

    Args and shapes: as mmcv's ``MultiheadAttention``; the second output of the inner attention is None.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Re-class the module mmcv built rather than building another: no second random initialisation, so
        # a seeded model is initialised exactly as with mmcv's brick.
        self.attn.__class__ = _MultiheadAttentionWithoutWeights
