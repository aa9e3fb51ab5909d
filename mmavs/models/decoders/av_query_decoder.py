"""Baseline audio-visual query decoder (docs/icf.md, M4)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmavs.registry import MODELS

from ..layers import FastMultiheadAttention
from .utils import MLP, ChannelCrossAttention, sine_positional_encoding_1d, sine_positional_encoding_2d

#: Rows of the decoder's modality embedding (added to keys of the cross-modal attention).
AUDIO, VISUAL, TEXT = 0, 1, 2


class AVQueryDecoderLayer(BaseModule):
    """One layer of :class:`AVQueryDecoder`, applied to the audio queries ``A`` and visual queries ``V``.

    Steps (each attention / FFN with a residual connection and a post-LayerNorm):

    1. :meth:`attend_pixels`: frame-level channel-wise cross-attention (``[A ; M]`` re-weights the channels
       of this layer's visual tokens ``X``), then ``V`` cross-attends to ``X`` (+ 2D sine position and level
       embedding on the keys).
    2. :meth:`cross_modal`: bidirectional cross-attention, both computed from the states before the step:
       ``A <- attn(A, [V ; M])`` and ``V <- attn(V, [A ; M])``; ``M`` is the optional text memory of the frame,
       keys carry a modality embedding.
    3. :meth:`self_attend`: self-attention within ``A`` and within ``V``.
    4. :meth:`temporal_attend` (``temporal_attn=True``): for every query slot, attention across the ``T``
       frames of the clip (1D sine frame-position encoding; padded frames masked as keys).
    5. :meth:`feed_forward`: FFN on ``A`` and ``V``.

    Args:
        embed_dims (int): Width ``d``.
        num_heads (int): Attention heads.
        feedforward_channels (int): FFN hidden width.
        dropout (float): Dropout of attention weights, attention outputs and FFNs.
        temporal_attn (bool): Build and run the temporal attention.
        channel_attn (bool): Build and run the channel-wise cross-attention.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 dropout: float = 0.,
                 temporal_attn: bool = True,
                 channel_attn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.temporal_attn = temporal_attn

        def attention() -> FastMultiheadAttention:
            return FastMultiheadAttention(
                embed_dims, num_heads, attn_drop=dropout, proj_drop=dropout, batch_first=True)

        def ffn() -> FFN:
            return FFN(
                embed_dims=embed_dims,
                feedforward_channels=feedforward_channels,
                act_cfg=dict(type='ReLU', inplace=True),
                ffn_drop=dropout)

        self.channel_attn = ChannelCrossAttention(embed_dims) if channel_attn else None
        self.visual_pixel_attn = attention()
        self.audio_cross_attn = attention()
        self.visual_cross_attn = attention()
        self.audio_self_attn = attention()
        self.visual_self_attn = attention()
        if temporal_attn:
            self.audio_temporal_attn = attention()
            self.visual_temporal_attn = attention()
        self.audio_ffn = ffn()
        self.visual_ffn = ffn()
        norm_names = ['visual_pixel', 'audio_cross', 'visual_cross', 'audio_self', 'visual_self',
                      'audio_ffn', 'visual_ffn']
        if temporal_attn:
            norm_names += ['audio_temporal', 'visual_temporal']
        self.norms = nn.ModuleDict({name: nn.LayerNorm(embed_dims) for name in norm_names})

    def attend_pixels(self, visual_queries: Tensor, audio_queries: Tensor, pixel_tokens: Tensor,
                      pixel_pos: Tensor, text_memory: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """Channel-wise re-weighting of the visual tokens, then visual queries attend to them.

        Args:
            visual_queries (Tensor): ``[N, Q, d]``.
            audio_queries (Tensor): ``[N, Q, d]``.
            pixel_tokens (Tensor): ``[N, L, d]`` visual tokens of one level.
            pixel_pos (Tensor): ``[1, L, d]`` position + level encoding of the tokens.
            text_memory (Tensor, optional): ``[N, M, d]``.

        Returns:
            tuple: Updated visual queries ``[N, Q, d]`` and the channel weights ``[N, d]`` (None when the
            channel attention is off).
        """
        weights = None
        if self.channel_attn is not None:
            semantic = audio_queries if text_memory is None else torch.cat([audio_queries, text_memory], 1)
            pixel_tokens, weights = self.channel_attn(semantic, pixel_tokens)
        visual_queries = self.visual_pixel_attn(
            query=visual_queries, key=pixel_tokens, value=pixel_tokens, key_pos=pixel_pos)
        return self.norms['visual_pixel'](visual_queries), weights

    def cross_modal(self, audio_queries: Tensor, visual_queries: Tensor, text_memory: Optional[Tensor],
                    modality_pos: Tensor) -> Tuple[Tensor, Tensor]:
        """Bidirectional audio <-> visual cross-attention, with the text memory as extra keys / values.

        Args:
            audio_queries (Tensor): ``[N, Qa, d]``.
            visual_queries (Tensor): ``[N, Qv, d]``.
            text_memory (Tensor, optional): ``[N, M, d]``.
            modality_pos (Tensor): ``[3, d]`` modality embeddings (rows AUDIO, VISUAL, TEXT).

        Returns:
            tuple[Tensor, Tensor]: Updated audio and visual queries.
        """
        n = audio_queries.shape[0]

        def keys(own: Tensor, own_type: int) -> Tuple[Tensor, Tensor]:
            pos = modality_pos[own_type].expand(n, own.shape[1], -1)
            if text_memory is None:
                return own, pos
            text_pos = modality_pos[TEXT].expand(n, text_memory.shape[1], -1)
            return torch.cat([own, text_memory], 1), torch.cat([pos, text_pos], 1)

        kv_a, pos_a = keys(visual_queries, VISUAL)
        kv_v, pos_v = keys(audio_queries, AUDIO)
        new_audio = self.audio_cross_attn(query=audio_queries, key=kv_a, value=kv_a, key_pos=pos_a)
        new_visual = self.visual_cross_attn(query=visual_queries, key=kv_v, value=kv_v, key_pos=pos_v)
        return self.norms['audio_cross'](new_audio), self.norms['visual_cross'](new_visual)

    def self_attend(self, audio_queries: Tensor, visual_queries: Tensor) -> Tuple[Tensor, Tensor]:
        """Self-attention within each query set (``[N, Q, d]`` each)."""
        audio_queries = self.norms['audio_self'](self.audio_self_attn(query=audio_queries))
        visual_queries = self.norms['visual_self'](self.visual_self_attn(query=visual_queries))
        return audio_queries, visual_queries

    def temporal_attend(self, audio_queries: Tensor, visual_queries: Tensor, num_frames: int,
                        frame_pos: Tensor, key_padding_mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Attention across the frames of each clip, separately for every query slot.

        Args:
            audio_queries (Tensor): ``[B*T, Q, d]`` (frames of a clip consecutive).
            visual_queries (Tensor): ``[B*T, Q, d]``.
            num_frames (int): ``T``.
            frame_pos (Tensor): ``[T, d]`` frame-position encoding.
            key_padding_mask (Tensor, optional): Bool ``[B, T]``, True for padded frames (not attended).

        Returns:
            tuple[Tensor, Tensor]: Updated queries (unchanged when ``temporal_attn=False``).
        """
        if not self.temporal_attn:
            return audio_queries, visual_queries

        def run(x: Tensor, attn: FastMultiheadAttention, norm: nn.Module) -> Tensor:
            n, q, d = x.shape
            b = n // num_frames
            seq = x.reshape(b, num_frames, q, d).transpose(1, 2).reshape(b * q, num_frames, d)
            mask = None
            if key_padding_mask is not None:
                mask = key_padding_mask.repeat_interleave(q, dim=0)
            seq = attn(query=seq, query_pos=frame_pos[None], key_pos=frame_pos[None], key_padding_mask=mask)
            seq = norm(seq)
            return seq.reshape(b, q, num_frames, d).transpose(1, 2).reshape(n, q, d)

        audio_queries = run(audio_queries, self.audio_temporal_attn, self.norms['audio_temporal'])
        visual_queries = run(visual_queries, self.visual_temporal_attn, self.norms['visual_temporal'])
        return audio_queries, visual_queries

    def feed_forward(self, audio_queries: Tensor, visual_queries: Tensor) -> Tuple[Tensor, Tensor]:
        """FFN on each query set."""
        return (self.norms['audio_ffn'](self.audio_ffn(audio_queries)),
                self.norms['visual_ffn'](self.visual_ffn(visual_queries)))

    def forward(self,
                audio_queries: Tensor,
                visual_queries: Tensor,
                pixel_tokens: Tensor,
                pixel_pos: Tensor,
                num_frames: int,
                modality_pos: Tensor,
                frame_pos: Tensor,
                text_memory: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Run the five steps (see the class docstring).

        Returns:
            tuple: Audio queries ``[N, Q, d]``, visual queries ``[N, Q, d]``, channel weights ``[N, d]`` of
            step 1 (or None).
        """
        visual_queries, weights = self.attend_pixels(visual_queries, audio_queries, pixel_tokens, pixel_pos,
                                                     text_memory)
        audio_queries, visual_queries = self.cross_modal(audio_queries, visual_queries, text_memory,
                                                         modality_pos)
        audio_queries, visual_queries = self.self_attend(audio_queries, visual_queries)
        audio_queries, visual_queries = self.temporal_attend(audio_queries, visual_queries, num_frames,
                                                             frame_pos, key_padding_mask)
        audio_queries, visual_queries = self.feed_forward(audio_queries, visual_queries)
        return audio_queries, visual_queries, weights


@MODELS.register_module()
class AVQueryDecoder(BaseModule):
    """Baseline AVS decoder with bidirectional audio / visual queries (docs/icf.md, M4).

    Per frame (``N = B*T`` frames, frames of a clip consecutive):

    - :meth:`init_audio_queries`: ``num_queries`` learnable embeddings plus an MLP projection of the frame's
      audio feature (LayerNorm) -> ``A`` ``[N, Q, d]``.
    - :meth:`prepare_visual_memory`: neck levels ``attn_levels`` flattened to tokens with 2D sine positions
      and a level embedding.
    - :meth:`init_visual_queries`: ``num_queries`` learnable embeddings attention-pool the coarsest attended
      level -> ``V`` ``[N, Q, d]`` (visual queries come from the visual features).
    - :meth:`interact`: ``num_layers`` :class:`AVQueryDecoderLayer` (channel-wise cross-attention, ``V`` ->
      pixels, ``A`` <-> ``V`` (+ text memory), self-attention, temporal attention, FFN); layer ``l`` uses
      level ``attn_levels[l % len(attn_levels)]`` (coarse to fine, round robin).
    - :meth:`pool_semantic`: the frame's audio(-text) semantic vector ``s = LN(mean_q A)`` ``[N, d]``.
    - :meth:`predict_masks` (the only step after ``s``; a counterfactual decoder re-runs it with another
      ``s`` and the same visual queries / mask features):

      1. channel-wise cross-attention of ``s`` on the stride-4 mask features ``F`` -> pixel features ``P``;
      2. queries conditioned on the semantics ``U = LN(V + W s)``;
      3. mask embeddings ``E = MLP(U)`` ``[N, Q, d]`` and query-to-class weights ``softmax_q(U W_c)``
         ``[N, Q, C]``; class embeddings ``e_c = sum_q softmax_q(.)_{q,c} E_q`` ``[N, C, d]``;
      4. logits ``y_c = <e_c, P> + b_c`` ``[N, C, H/4, W/4]``; ``C = 1`` (binary, a foreground logit) or
         ``71`` (AVSS, one logit per class incl. background). As ``<., P>`` is linear, ``y_c`` equals the
         softmax-weighted sum of per-query mask logits ``<E_q, P>`` without materialising them.

    Logits stay at stride 4; the segmentor upsamples them to the input / ground-truth size.

    Args:
        embed_dims (int): Width ``d`` (must match the neck's ``channels``). Defaults to 256.
        num_layers (int): Decoder layers. Defaults to 6.
        num_queries (int): Queries per set (audio and visual). Defaults to 100.
        num_classes (int): Output channels, 1 (binary) or the number of classes (AVSS: 71). Defaults to 1.
        num_heads (int): Attention heads. Defaults to 8.
        feedforward_channels (int, optional): FFN hidden width. Defaults to ``8 * embed_dims``.
        dropout (float): Dropout of attentions and FFNs. Defaults to 0.
        audio_channels (int, optional): Width of the audio feature. Defaults to ``embed_dims``.
        attn_levels (Sequence[int]): Neck levels (0 = stride 4 ... 3 = stride 32) the visual queries attend,
            in layer order. Defaults to (3, 2, 1).
        temporal_attn (bool): Temporal attention across the frames of a clip. Defaults to True.
        channel_attn (bool): Channel-wise cross-attention (in the layers and on the mask features).
            Defaults to True.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_layers: int = 6,
                 num_queries: int = 100,
                 num_classes: int = 1,
                 num_heads: int = 8,
                 feedforward_channels: Optional[int] = None,
                 dropout: float = 0.,
                 audio_channels: Optional[int] = None,
                 attn_levels: Sequence[int] = (3, 2, 1),
                 temporal_attn: bool = True,
                 channel_attn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'AVQueryDecoder: embed_dims={embed_dims} not divisible by num_heads={num_heads}')
        if embed_dims % 4:
            raise ValueError(f'AVQueryDecoder: embed_dims={embed_dims} must be divisible by 4 (2D sine encoding)')
        if num_classes < 1 or num_layers < 1 or num_queries < 1:
            raise ValueError('AVQueryDecoder: num_classes, num_layers and num_queries must be >= 1, got '
                             f'{num_classes}, {num_layers}, {num_queries}')
        if len(attn_levels) == 0:
            raise ValueError('AVQueryDecoder: attn_levels must name at least one neck level')
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.num_queries = num_queries
        self.num_classes = num_classes
        self.attn_levels = tuple(int(level) for level in attn_levels)
        self.temporal_attn = temporal_attn
        self.channel_attn = channel_attn
        feedforward_channels = feedforward_channels or 8 * embed_dims
        audio_channels = audio_channels or embed_dims

        # query initialisation
        self.audio_query_embed = nn.Embedding(num_queries, embed_dims)
        self.audio_proj = MLP(audio_channels, embed_dims, embed_dims, num_layers=2)
        self.audio_query_norm = nn.LayerNorm(embed_dims)
        self.visual_query_embed = nn.Embedding(num_queries, embed_dims)
        self.visual_query_pool = FastMultiheadAttention(embed_dims, num_heads, batch_first=True)
        self.visual_query_norm = nn.LayerNorm(embed_dims)
        self._level_index = {level: i for i, level in enumerate(sorted(set(self.attn_levels)))}
        self.level_embed = nn.Embedding(len(self._level_index), embed_dims)
        self.modality_embed = nn.Embedding(3, embed_dims)

        self.layers = ModuleList([
            AVQueryDecoderLayer(
                embed_dims,
                num_heads,
                feedforward_channels,
                dropout=dropout,
                temporal_attn=temporal_attn,
                channel_attn=channel_attn) for _ in range(num_layers)
        ])

        # semantics and mask head
        self.semantic_norm = nn.LayerNorm(embed_dims)
        self.mask_channel_attn = ChannelCrossAttention(embed_dims) if channel_attn else None
        self.semantic_to_query = nn.Linear(embed_dims, embed_dims)
        self.query_norm = nn.LayerNorm(embed_dims)
        self.mask_embed = MLP(embed_dims, embed_dims, embed_dims, num_layers=3)
        self.class_score = nn.Linear(embed_dims, num_classes)
        self.class_bias = nn.Parameter(torch.zeros(num_classes))

    # ------------------------------------------------------------------ steps
    def init_audio_queries(self, audio_feat: Tensor) -> Tensor:
        """Audio queries conditioned on the frame's audio feature.

        Args:
            audio_feat (Tensor): ``[N, audio_channels]``.

        Returns:
            Tensor: ``[N, Q, d]``.
        """
        if audio_feat.dim() != 2:
            raise ValueError(f'AVQueryDecoder: audio_feat must be [N, C], got shape {tuple(audio_feat.shape)}')
        audio = self.audio_proj(audio_feat)[:, None, :]
        return self.audio_query_norm(self.audio_query_embed.weight[None] + audio)

    def prepare_visual_memory(self, multi_scale_feats: Sequence[Tensor]) -> Dict[int, Tuple[Tensor, Tensor]]:
        """Flatten the attended neck levels into tokens with their position encodings.

        Args:
            multi_scale_feats (Sequence[Tensor]): Neck maps ``[N, d, H_i, W_i]``, finest first.

        Returns:
            dict[int, tuple[Tensor, Tensor]]: For each level in ``attn_levels``: tokens ``[N, L, d]`` and
            position (2D sine + level embedding) ``[1, L, d]``.
        """
        memory = {}
        for level in sorted(set(self.attn_levels)):
            if level >= len(multi_scale_feats):
                raise ValueError(f'AVQueryDecoder: attn_levels uses level {level} but the neck gives '
                                 f'{len(multi_scale_feats)} maps')
            feat = multi_scale_feats[level]
            if feat.shape[1] != self.embed_dims:
                raise ValueError(f'AVQueryDecoder: neck level {level} has {feat.shape[1]} channels, '
                                 f'embed_dims is {self.embed_dims}')
            _, _, h, w = feat.shape
            pos = sine_positional_encoding_2d(h, w, self.embed_dims, feat.device, feat.dtype)
            pos = pos + self.level_embed.weight[self._level_index[level]]
            memory[level] = (feat.flatten(2).transpose(1, 2), pos[None])
        return memory

    def init_visual_queries(self, memory: Dict[int, Tuple[Tensor, Tensor]]) -> Tensor:
        """Visual queries: learnable embeddings attention-pool the coarsest attended level.

        Args:
            memory (dict): Output of :meth:`prepare_visual_memory`.

        Returns:
            Tensor: ``[N, Q, d]``.
        """
        tokens, pos = memory[max(self.attn_levels)]
        query = self.visual_query_embed.weight[None].expand(tokens.shape[0], -1, -1)
        pooled = self.visual_query_pool(query=query, key=tokens, value=tokens, key_pos=pos)
        return self.visual_query_norm(pooled)

    def temporal_inputs(self, num_frames: int, frame_flags: Optional[Tensor], num_samples: int,
                        ref: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Frame-position encoding and key padding mask for the temporal attention.

        Args:
            num_frames (int): ``T``.
            frame_flags (Tensor, optional): Bool ``[B, T]`` (or ``[B*T]``), True for real frames.
            num_samples (int): ``N = B*T``.
            ref (Tensor): Tensor giving device and dtype.

        Returns:
            tuple: ``[T, d]`` encoding, and bool ``[B, T]`` True for padded frames (None when all are real).
            A clip without any real frame attends all its frames rather than none.
        """
        frame_pos = sine_positional_encoding_1d(num_frames, self.embed_dims, ref.device, ref.dtype)
        if frame_flags is None:
            return frame_pos, None
        flags = frame_flags.to(device=ref.device, dtype=torch.bool).reshape(-1)
        if flags.numel() != num_samples:
            raise ValueError(f'AVQueryDecoder: frame_flags has {flags.numel()} entries for {num_samples} frames')
        flags = flags.reshape(-1, num_frames)
        flags = flags | ~flags.any(dim=1, keepdim=True)
        padding = ~flags
        return frame_pos, (padding if bool(padding.any()) else None)

    def interact(self,
                 audio_queries: Tensor,
                 visual_queries: Tensor,
                 memory: Dict[int, Tuple[Tensor, Tensor]],
                 num_frames: int,
                 text_memory: Optional[Tensor] = None,
                 frame_flags: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, List[Optional[Tensor]]]:
        """Run the decoder layers.

        Args:
            audio_queries (Tensor): ``[N, Q, d]``.
            visual_queries (Tensor): ``[N, Q, d]``.
            memory (dict): Output of :meth:`prepare_visual_memory`.
            num_frames (int): ``T``.
            text_memory (Tensor, optional): ``[N, M, d]``.
            frame_flags (Tensor, optional): Bool ``[B, T]``, True for real frames.

        Returns:
            tuple: Audio queries, visual queries (``[N, Q, d]`` each) after the last layer, and the list of
            per-layer channel weights ``[N, d]`` (None entries when the channel attention is off).
        """
        n = audio_queries.shape[0]
        frame_pos, padding = self.temporal_inputs(num_frames, frame_flags, n, audio_queries)
        modality_pos = self.modality_embed.weight
        channel_weights = []
        for i, layer in enumerate(self.layers):
            tokens, pos = memory[self.attn_levels[i % len(self.attn_levels)]]
            audio_queries, visual_queries, weights = layer(
                audio_queries,
                visual_queries,
                tokens,
                pos,
                num_frames,
                modality_pos,
                frame_pos,
                text_memory=text_memory,
                key_padding_mask=padding)
            channel_weights.append(weights)
        return audio_queries, visual_queries, channel_weights

    def pool_semantic(self, audio_queries: Tensor) -> Tensor:
        """Audio(-text) semantic vector of each frame: ``LN(mean_q A)``.

        Args:
            audio_queries (Tensor): ``[N, Q, d]`` after interaction.

        Returns:
            Tensor: ``[N, d]``.
        """
        return self.semantic_norm(audio_queries.mean(dim=1))

    def predict_masks(self, semantic: Tensor, visual_queries: Tensor, mask_features: Tensor) -> Dict[str, Tensor]:
        """Mask head: logits from the semantic vector, the visual queries and the mask features.

        Args:
            semantic (Tensor): ``[N, d]`` semantic vector (factual ``s`` or a counterfactual one).
            visual_queries (Tensor): ``[N, Q, d]``.
            mask_features (Tensor): ``[N, d, H4, W4]`` stride-4 features from the neck.

        Returns:
            dict[str, Tensor]:
                - ``pixel_features`` ``[N, d, H4, W4]``: mask features after the channel-wise attention.
                - ``channel_weights`` ``[N, d]`` (only with ``channel_attn``).
                - ``conditioned_queries`` ``[N, Q, d]``: ``U``.
                - ``query_weights`` ``[N, Q, C]``: softmax over queries of the class scores.
                - ``class_embeds`` ``[N, C, d]``.
                - ``logits`` ``[N, C, H4, W4]``.
        """
        out: Dict[str, Tensor] = {}
        pixel = mask_features
        if self.mask_channel_attn is not None:
            pixel, out['channel_weights'] = self.mask_channel_attn.forward_map(semantic[:, None, :], mask_features)
        queries = self.query_norm(visual_queries + self.semantic_to_query(semantic)[:, None, :])
        mask_embeds = self.mask_embed(queries)
        query_weights = self.class_score(queries).softmax(dim=1)
        class_embeds = torch.einsum('nqc,nqd->ncd', query_weights, mask_embeds)
        logits = torch.einsum('ncd,ndhw->nchw', class_embeds, pixel) + self.class_bias.view(1, -1, 1, 1)
        out.update(
            pixel_features=pixel,
            conditioned_queries=queries,
            query_weights=query_weights,
            class_embeds=class_embeds,
            logits=logits)
        return out

    # ---------------------------------------------------------------- forward
    def forward(self,
                multi_scale_feats: Sequence[Tensor],
                mask_features: Tensor,
                audio_feat: Tensor,
                num_frames: int,
                text_memory: Optional[Tensor] = None,
                frame_flags: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Decode a batch of clips.

        Args:
            multi_scale_feats (Sequence[Tensor]): Neck maps ``[B*T, d, H_i, W_i]``, finest first.
            mask_features (Tensor): ``[B*T, d, H4, W4]`` stride-4 mask features.
            audio_feat (Tensor): ``[B*T, audio_channels]`` per-frame audio features.
            num_frames (int): ``T``; the frames of a clip are consecutive along dim 0.
            text_memory (Tensor, optional): ``[B*T, M, d]`` extra keys / values for both query sets (and
                semantic tokens of the in-layer channel attention), e.g. the MIT text memory
                ``M_t = [L^vid ; L^seg(t) ; L^frm(t)]``. None (default) runs the audio-visual baseline.
            frame_flags (Tensor, optional): Bool ``[B, T]``, True for real frames; padded frames are not
                attended by the temporal attention. None treats all frames as real.

        Returns:
            dict[str, Tensor]: ``audio_queries`` / ``visual_queries`` ``[N, Q, d]`` after interaction,
            ``semantic`` ``[N, d]``, ``mask_features`` ``[N, d, H4, W4]``, ``layer_channel_weights`` (list of
            ``[N, d]``, channel attention only), ``text_memory`` (as given), and the outputs of
            :meth:`predict_masks` (``logits`` ``[N, C, H4, W4]``, ``pixel_features``, ``class_embeds``, ...).
        """
        n = mask_features.shape[0]
        if num_frames < 1 or n % num_frames:
            raise ValueError(f'AVQueryDecoder: {n} frames is not a multiple of num_frames={num_frames}')
        if any(feat.shape[0] != n for feat in multi_scale_feats):
            raise ValueError(f'AVQueryDecoder: multi_scale_feats must all have {n} frames like mask_features, got '
                             f'{[feat.shape[0] for feat in multi_scale_feats]}')
        if audio_feat.shape[0] != n:
            raise ValueError(f'AVQueryDecoder: audio_feat has {audio_feat.shape[0]} rows for {n} frames')
        if text_memory is not None and (text_memory.dim() != 3 or text_memory.shape[0] != n
                                        or text_memory.shape[2] != self.embed_dims):
            raise ValueError(f'AVQueryDecoder: text_memory must be [{n}, M, {self.embed_dims}], '
                             f'got {tuple(text_memory.shape)}')
        memory = self.prepare_visual_memory(multi_scale_feats)
        audio_queries = self.init_audio_queries(audio_feat)
        visual_queries = self.init_visual_queries(memory)
        audio_queries, visual_queries, layer_weights = self.interact(
            audio_queries, visual_queries, memory, num_frames, text_memory=text_memory, frame_flags=frame_flags)
        semantic = self.pool_semantic(audio_queries)
        out: Dict[str, Tensor] = dict(
            audio_queries=audio_queries,
            visual_queries=visual_queries,
            semantic=semantic,
            mask_features=mask_features,
            text_memory=text_memory)
        if self.channel_attn:
            out['layer_channel_weights'] = layer_weights
        out.update(self.predict_masks(semantic, visual_queries, mask_features))
        return out
