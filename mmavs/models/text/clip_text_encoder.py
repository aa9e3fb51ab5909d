"""Frozen CLIP text tower for free-form captions (OpenAI CLIP / open_clip layout).

mmseg's ``CLIPTextEncoder`` encodes class vocabularies with prompt templates and returns one pooled vector
per class; MIT needs the *per-token* embeddings of arbitrary captions, so this module re-implements the
OpenAI CLIP text transformer with the OpenAI parameter names. It reuses mmseg's CLIP BPE tokenizer
(``mmseg.utils.tokenizer``, vocabulary shipped with mmseg) and mmseg's ``QuickGELU``.

State-dict layout (identical to the text part of an OpenAI CLIP / open_clip ``CLIP`` state dict)::

    token_embedding.weight                        [vocab_size, width]
    positional_embedding                          [context_length, width]
    transformer.resblocks.{i}.ln_1.{weight,bias}  [width]
    transformer.resblocks.{i}.attn.in_proj_weight [3 * width, width]
    transformer.resblocks.{i}.attn.in_proj_bias   [3 * width]
    transformer.resblocks.{i}.attn.out_proj.{weight,bias}  [width, width], [width]
    transformer.resblocks.{i}.ln_2.{weight,bias}  [width]
    transformer.resblocks.{i}.mlp.c_fc.{weight,bias}       [4 * width, width], [4 * width]
    transformer.resblocks.{i}.mlp.c_proj.{weight,bias}     [width, 4 * width], [width]
    ln_final.{weight,bias}                        [width]
    text_projection                               [width, embed_dim]   (only if embed_dim is not None)

Mapping from a full CLIP checkpoint: drop the keys starting with ``visual.`` and the keys ``logit_scale``
(and ``attn_mask`` if present; the causal mask here is a non-persistent buffer); all other keys load 1:1.
For open_clip ``CustomTextCLIP`` checkpoints strip the prefix ``text.`` first. (Weight loading itself is
done with ``init_cfg=dict(type='Pretrained', checkpoint=...)``, see ``mmavs.models.utils.pretrained_init``.)
"""
from typing import List, NamedTuple, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

# Safe after ``import mmavs`` (which any import of this module triggers first): mmcv._ext stand-in.
from mmseg.models.text_encoder.clip_text_encoder import QuickGELU  # x * sigmoid(1.702 x), as OpenAI CLIP

from mmavs.models.utils.pretrained_init import pretrained_init_cfg
from mmavs.models.utils.tensor_store import module_digest
from mmavs.registry import MODELS

#: OpenAI CLIP text towers share vocabulary and context length.
CLIP_VOCAB_SIZE = 49408
CLIP_CONTEXT_LENGTH = 77
#: Special token ids of the CLIP BPE vocabulary (``<start_of_text>``, ``<end_of_text>``).
SOT_TOKEN_ID = 49406
EOT_TOKEN_ID = 49407


def tokenize_captions(captions: Union[str, Sequence[str]],
                      context_length: int = CLIP_CONTEXT_LENGTH) -> torch.Tensor:
    """Tokenize captions with mmseg's CLIP BPE tokenizer.

    Every caption becomes ``[SOT] + BPE tokens + [EOT]`` zero-padded to ``context_length``; longer ones are
    truncated to ``context_length`` tokens with the last one replaced by EOT (mmseg / OpenAI behaviour).

    Args:
        captions (str | Sequence[str]): One caption or a list of N captions.
        context_length (int): Token sequence length L. Defaults to 77.

    Returns:
        torch.LongTensor: Token ids ``[N, L]``.
    """
    from mmseg.utils import tokenizer  # imported lazily: loads the BPE vocabulary (~0.5 s)

    if isinstance(captions, str):
        captions = [captions]
    captions = list(captions)
    for i, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise TypeError(f'tokenize_captions: caption {i} must be a str, got {type(caption).__name__}.')
    if context_length < 2:
        raise ValueError(f'tokenize_captions: context_length must be >= 2 (SOT + EOT), got {context_length}.')
    if not captions:
        return torch.zeros(0, context_length, dtype=torch.long)
    return tokenizer.tokenize(captions, context_length=context_length)


class TextEncoderOutput(NamedTuple):
    """Output of :class:`CLIPCaptionEncoder`.

    Attributes:
        tokens (Tensor): Per-token embeddings after ``ln_final``, ``[N, L, width]``.
        pooled (Tensor): EOT-token embedding (times ``text_projection`` if present), ``[N, embed_dim]``
            (``[N, width]`` without projection).
        padding_mask (Tensor): Bool ``[N, L]``, True at padding positions (after the EOT token).
    """
    tokens: torch.Tensor
    pooled: torch.Tensor
    padding_mask: torch.Tensor


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block with the OpenAI CLIP names (``ln_1``, ``attn``, ``ln_2``, ``mlp``).

    Args:
        width (int): Embedding width C.
        heads (int): Number of attention heads (must divide ``width``).
        mlp_ratio (int): Hidden width of the MLP over ``width``. Defaults to 4.
    """

    def __init__(self, width: int, heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        hidden = width * mlp_ratio
        self.mlp = nn.Sequential()
        self.mlp.add_module('c_fc', nn.Linear(width, hidden))
        self.mlp.add_module('gelu', QuickGELU())
        self.mlp.add_module('c_proj', nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            x (Tensor): ``[N, L, C]``.
            attn_mask (Tensor, optional): Additive float mask ``[L, L]`` (``-inf`` = blocked).

        Returns:
            Tensor: ``[N, L, C]``.
        """
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=attn_mask, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class TextTransformer(nn.Module):
    """Stack of :class:`ResidualAttentionBlock` stored as ``resblocks`` (OpenAI ``Transformer``)."""

    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.width, self.layers = width, layers
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, mlp_ratio) for _ in range(layers)])

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args: x (Tensor): ``[N, L, C]``; attn_mask (Tensor, optional): ``[L, L]``. Returns: ``[N, L, C]``."""
        for block in self.resblocks:
            x = block(x, attn_mask=attn_mask)
        return x


@MODELS.register_module()
class CLIPCaptionEncoder(BaseModule):
    """OpenAI CLIP text transformer that encodes free-form captions into per-token embeddings.

    Architecture (OpenAI CLIP ``encode_text``): token embedding + learned positional embedding, ``layers``
    pre-norm residual attention blocks with a causal mask (token i attends to tokens <= i), ``ln_final``,
    and the EOT token's embedding (EOT has the largest id, so its position is ``argmax`` of the ids) times
    the optional ``text_projection``. The module's state-dict layout is the OpenAI one (module docstring).

    ViT-B/16 (also B/32) text tower: ``width=512, layers=12, heads=8, vocab_size=49408,
    context_length=77, embed_dim=512``: 63,428,096 parameters with ``text_projection`` (63,165,952
    without). Small sizes (e.g. ``width=32, layers=2, heads=4``) build a CPU test model; the vocabulary
    must stay 49408 to encode strings with the CLIP tokenizer (smaller vocabularies accept token ids only).

    Args:
        width (int): Transformer width. Defaults to 512.
        layers (int): Number of residual attention blocks. Defaults to 12.
        heads (int): Number of attention heads. Defaults to 8.
        vocab_size (int): Token vocabulary size. Defaults to 49408.
        context_length (int): Token sequence length L (positional embeddings). Defaults to 77.
        embed_dim (int, optional): Output width of ``text_projection`` (applied to the pooled EOT
            embedding only); None builds no projection. Defaults to 512.
        mlp_ratio (int): MLP hidden width over ``width``. Defaults to 4.
        frozen (bool): Freeze the whole encoder: ``requires_grad=False`` on all parameters, the module stays
            in eval mode under ``train()`` and the forward pass runs under ``torch.no_grad()``.
            Defaults to True.
        init_cfg (dict | list[dict], optional): MMEngine init config, e.g.
            ``dict(type='Pretrained', checkpoint='pretrained/clip_vit-b16_text.pth')``: a converted file or an
            OpenAI / open_clip state dict (image tower dropped; see ``docs/model_zoo.md``).
            Without it the OpenAI CLIP initialisation is used.
    """

    #: Official checkpoint kind taken by ``init_cfg=dict(type='Pretrained', ...)`` (see
    #: :mod:`mmavs.models.utils.pretrained_init`).
    pretrained_kind = 'clip_text'

    def __init__(self,
                 width: int = 512,
                 layers: int = 12,
                 heads: int = 8,
                 vocab_size: int = CLIP_VOCAB_SIZE,
                 context_length: int = CLIP_CONTEXT_LENGTH,
                 embed_dim: Optional[int] = 512,
                 mlp_ratio: int = 4,
                 frozen: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=pretrained_init_cfg(init_cfg))
        for name, value in (('width', width), ('layers', layers), ('heads', heads), ('vocab_size', vocab_size),
                            ('context_length', context_length), ('mlp_ratio', mlp_ratio)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'CLIPCaptionEncoder: {name} must be a positive int, got {value!r}.')
        if width % heads != 0:
            raise ValueError(f'CLIPCaptionEncoder: heads ({heads}) must divide width ({width}).')
        if context_length < 2:
            raise ValueError(f'CLIPCaptionEncoder: context_length must be >= 2, got {context_length}.')
        if embed_dim is not None and (not isinstance(embed_dim, int) or embed_dim < 1):
            raise ValueError(f'CLIPCaptionEncoder: embed_dim must be a positive int or None, got {embed_dim!r}.')
        self.width, self.layers, self.heads = width, layers, heads
        self.vocab_size, self.context_length = vocab_size, context_length
        self.embed_dim, self.mlp_ratio, self.frozen = embed_dim, mlp_ratio, frozen

        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        self.transformer = TextTransformer(width, layers, heads, mlp_ratio)
        self.ln_final = nn.LayerNorm(width)
        if embed_dim is not None:
            self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        else:
            self.register_parameter('text_projection', None)
        causal = torch.full((context_length, context_length), float('-inf')).triu_(1)
        self.register_buffer('attn_mask', causal, persistent=False)
        self._reset_parameters()
        if frozen:
            self._freeze()

    @property
    def out_channels(self) -> int:
        """Width of the per-token embeddings (``width``)."""
        return self.width

    def _reset_parameters(self) -> None:
        """OpenAI CLIP text initialisation (``CLIP.initialize_parameters``)."""
        if self.token_embedding.weight.is_meta:
            return
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std = (self.width**-0.5) * ((2 * self.layers)**-0.5)
        attn_std = self.width**-0.5
        fc_std = (2 * self.width)**-0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        if self.text_projection is not None:
            nn.init.normal_(self.text_projection, std=self.width**-0.5)

    def _freeze(self) -> None:
        for param in self.parameters():
            param.requires_grad = False
        super().train(False)

    def train(self, mode: bool = True) -> 'CLIPCaptionEncoder':
        """Set train mode; a frozen encoder always stays in eval mode."""
        return super().train(False if self.frozen else mode)

    def config_dict(self) -> dict:
        """Architecture hyper-parameters (JSON-serialisable), part of :meth:`cache_key`."""
        return dict(type='CLIPCaptionEncoder', width=self.width, layers=self.layers, heads=self.heads,
                    vocab_size=self.vocab_size, context_length=self.context_length, embed_dim=self.embed_dim,
                    mlp_ratio=self.mlp_ratio)

    def cache_key(self) -> str:
        """Identity of this encoder for :class:`~mmavs.models.text.TextEmbeddingCache`.

        ``'clip-text-' + sha256(config JSON + every state-dict tensor's name, shape and bytes)[:16]``: two
        encoders get the same key exactly when they compute the same embeddings (same architecture and
        weights), so a cache built with random weights is never reused after loading pretrained ones.
        Hashing the ViT-B/16 tower's 253 MB of weights takes about a second.

        Returns:
            str: The key.
        """
        return 'clip-text-' + module_digest(self, self.config_dict())[:16]

    def tokenize(self, captions: Union[str, Sequence[str]]) -> torch.Tensor:
        """Tokenize captions to ``[N, context_length]`` ids (see :func:`tokenize_captions`)."""
        if self.vocab_size < CLIP_VOCAB_SIZE:
            raise ValueError(f'CLIPCaptionEncoder: vocab_size={self.vocab_size} is smaller than the CLIP BPE '
                             f'vocabulary ({CLIP_VOCAB_SIZE}); pass token ids instead of strings.')
        return tokenize_captions(captions, self.context_length)

    def encode_tokens(self, token_ids: torch.Tensor, trim: bool = False) -> TextEncoderOutput:
        """Encode token ids.

        Args:
            token_ids (Tensor): Long ``[N, L]``, ``L <= context_length``, each row ``SOT ... EOT 0 ... 0``
                where EOT has the largest id of the row (true for the CLIP vocabulary).
            trim (bool): Drop the trailing positions that are padding in every row before encoding (the
                causal mask makes the kept positions' outputs identical up to float rounding); much
                faster for short captions. The outputs then have ``L' = max EOT position + 1``.

        Returns:
            TextEncoderOutput: tokens ``[N, L, width]``, pooled ``[N, embed_dim or width]``, padding_mask
            ``[N, L]`` (True after the EOT position).
        """
        if token_ids.dim() != 2:
            raise ValueError(f'CLIPCaptionEncoder: token_ids must be [N, L], got shape {tuple(token_ids.shape)}.')
        n, length = token_ids.shape
        if length > self.context_length:
            raise ValueError(f'CLIPCaptionEncoder: sequence length {length} exceeds context_length '
                             f'{self.context_length}.')
        if token_ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f'CLIPCaptionEncoder: token_ids must be integer, got {token_ids.dtype}.')
        if n and (int(token_ids.min()) < 0 or int(token_ids.max()) >= self.vocab_size):
            raise ValueError(f'CLIPCaptionEncoder: token ids must be in [0, {self.vocab_size}), got range '
                             f'[{int(token_ids.min())}, {int(token_ids.max())}].')
        device = self.token_embedding.weight.device
        token_ids = token_ids.to(device=device, dtype=torch.long)
        if trim and n:
            length = int(token_ids.argmax(dim=-1).max()) + 1
            token_ids = token_ids[:, :length]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            x = self.token_embedding(token_ids) + self.positional_embedding[:length]
            x = self.transformer(x, attn_mask=self.attn_mask[:length, :length])
            x = self.ln_final(x)
            eot_pos = token_ids.argmax(dim=-1)  # [N]
            pooled = x[torch.arange(n, device=device), eot_pos]
            if self.text_projection is not None:
                pooled = pooled @ self.text_projection
        positions = torch.arange(length, device=device)
        padding_mask = positions[None, :] > eot_pos[:, None]
        return TextEncoderOutput(tokens=x, pooled=pooled, padding_mask=padding_mask)

    def forward(self, captions: Union[str, Sequence[str], torch.Tensor], trim: bool = False) -> TextEncoderOutput:
        """Encode captions (strings, tokenized with the CLIP tokenizer) or token ids ``[N, L]``.

        Args:
            captions (str | Sequence[str] | Tensor): N captions, or token ids ``[N, L]``.
            trim (bool): See :meth:`encode_tokens`. Defaults to False.

        Returns:
            TextEncoderOutput: see :meth:`encode_tokens`; ``L = context_length`` for strings unless trimmed.
        """
        if isinstance(captions, torch.Tensor):
            return self.encode_tokens(captions, trim=trim)
        return self.encode_tokens(self.tokenize(captions), trim=trim)
