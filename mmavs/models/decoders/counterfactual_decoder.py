"""AV query decoder with the semantic counterfactual (SC) branch of ICF (docs/icf.md, M5)."""
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor, nn

from mmavs.registry import MODELS

from .av_query_decoder import AVQueryDecoder
from .utils import MLP


@MODELS.register_module()
class CounterfactualDecoder(AVQueryDecoder):
    """:class:`AVQueryDecoder` plus the semantic counterfactual (SC) branch (training only).

    The factual path is exactly the baseline's (same modules, same outputs). When the SC branch runs
    (``sc=True``, ``self.training`` and the ``counterfactual`` argument of :meth:`forward` all True), the
    frame semantics ``s`` ``[N, d]`` (output of :meth:`pool_semantic`) additionally go through:

    1. :meth:`encode_latent`: ``latent_encoder`` (MLP ``d -> h -> 2 dz``) gives ``mu`` and ``logvar``
       ``[N, dz]`` (``logvar`` clamped to ``[-10, 10]`` for stability); ``z = mu + exp(logvar / 2) * eps``
       with ``eps ~ N(0, I)`` (reparameterisation).
    2. :meth:`decode_latent`: ``latent_decoder`` (MLP ``dz -> h -> d``) reconstructs ``s_recon`` ``[N, d]``.
    3. :meth:`generate_counterfactuals`: a learned generator (MLP ``3 dz -> h -> dz``) maps
       ``[z ; eps_k ; e_k]`` to ``z_cf^k`` ``[N, K, dz]`` for ``k = 1..K``, with fresh noise
       ``eps_k ~ N(0, I)`` ``[N, dz]`` and a learned embedding ``e_k`` ``[dz]`` per counterfactual slot (so the
       ``K`` outputs differ even for equal noise). The generator is pushed to orthogonal, diverse latents by
       ``OrthogonalityLoss``; nothing here forces it.
    4. Each ``z_cf^k`` is decoded with the same ``latent_decoder`` to ``s_cf^k`` ``[N, K, d]``, which replaces
       ``s`` in :meth:`predict_masks` with the *same* visual queries and mask features (batched as ``N*K``
       rows) -> counterfactual logits ``y_cf^k`` ``[N, K, C, H4, W4]``. Gradients of the counterfactual
       logits flow into the shared mask head and the visual path as well (nothing is detached).

    5. Optionally (``batch_counterfactuals = J > 0``) the semantics of the same frame of ``J`` *other clips*
       of the batch (clip ``b`` gets clips ``b-1, ..., b-J``, cyclically; at most ``B - 1``), detached, are
       appended as counterfactual inputs: real other sounds next to the generated ones, so that an effect loss
       asks "this sound vs. that sound" and not only "sound vs. noise". ``cf_logits`` then has ``K + J``
       slots; ``z_cf``, ``s_cf`` and ``cf_audio_proto`` (orthogonality, CDCL) keep the ``K`` generated ones.

    In eval mode (or ``sc=False`` or ``counterfactual=False``) none of the SC modules is called and the
    output equals :class:`AVQueryDecoder`'s with the same weights; with ``sc=False`` the SC modules are not
    even built, so the state dict is the baseline's.

    Args:
        num_counterfactuals (int): ``K`` counterfactual latents per frame (>= 1). Defaults to 4.
        latent_dims (int): Latent width ``dz`` (>= 1). Defaults to 64.
        latent_hidden_dims (int, optional): Hidden width ``h`` of the encoder, decoder and generator.
            Defaults to ``embed_dims``.
        sc (bool): Build and run the SC branch. False -> the baseline decoder. Defaults to True.
        detach_semantic (bool): Feed ``s.detach()`` to the latent encoder, so that ``L_z`` (and the other SC
            terms through the latents) train the SC modules without pulling the factual semantics towards
            what a noisy low-dimensional latent can reconstruct. Defaults to False.
        batch_counterfactuals (int): ``J`` other clips' semantics added as counterfactuals (step 5, >= 0).
            Defaults to 0.
        **kwargs: Arguments of :class:`AVQueryDecoder` (``embed_dims``, ``num_layers``, ...).
    """

    #: Output keys added by the SC branch.
    SC_KEYS = ('z', 'mu', 'logvar', 's_recon', 'z_cf', 's_cf', 'cf_logits', 'cf_audio_proto')

    def __init__(self,
                 num_counterfactuals: int = 4,
                 latent_dims: int = 64,
                 latent_hidden_dims: Optional[int] = None,
                 sc: bool = True,
                 detach_semantic: bool = False,
                 batch_counterfactuals: int = 0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        for key, value in (('sc', sc), ('detach_semantic', detach_semantic)):
            if not isinstance(value, bool):
                raise ValueError(f'CounterfactualDecoder: {key} must be a bool, got {value!r}')
        self.detach_semantic = detach_semantic
        for key, value, minimum in (('num_counterfactuals', num_counterfactuals, 1), ('latent_dims', latent_dims, 1),
                                    ('batch_counterfactuals', batch_counterfactuals, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f'CounterfactualDecoder: {key} must be an int >= {minimum}, got {value!r}')
        self.batch_counterfactuals = batch_counterfactuals
        if latent_hidden_dims is not None and (not isinstance(latent_hidden_dims, int) or latent_hidden_dims < 1):
            raise ValueError(f'CounterfactualDecoder: latent_hidden_dims must be an int >= 1 or None, '
                             f'got {latent_hidden_dims!r}')
        self.sc = sc
        self.num_counterfactuals = num_counterfactuals
        self.latent_dims = latent_dims
        hidden = latent_hidden_dims or self.embed_dims
        if sc:
            self.latent_encoder = MLP(self.embed_dims, hidden, 2 * latent_dims, num_layers=2)
            self.latent_decoder = MLP(latent_dims, hidden, self.embed_dims, num_layers=2)
            self.cf_generator = MLP(3 * latent_dims, hidden, latent_dims, num_layers=2)
            self.cf_embed = nn.Embedding(num_counterfactuals, latent_dims)

    # ------------------------------------------------------------ SC steps
    def encode_latent(self, semantic: Tensor) -> Dict[str, Tensor]:
        """VAE-style encoding of the semantics.

        Args:
            semantic (Tensor): ``s`` ``[N, d]``.

        Returns:
            dict[str, Tensor]: ``mu``, ``logvar`` and ``z`` (reparameterised sample), each ``[N, dz]``.
        """
        mu, logvar = self.latent_encoder(semantic).chunk(2, dim=-1)
        logvar = logvar.clamp(-10., 10.)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return dict(mu=mu, logvar=logvar, z=z)

    def decode_latent(self, latent: Tensor) -> Tensor:
        """Map latents ``[..., dz]`` back to the semantic space ``[..., d]``."""
        return self.latent_decoder(latent)

    def generate_counterfactuals(self, z: Tensor) -> Tensor:
        """Counterfactual latents from the factual latent and noise.

        Args:
            z (Tensor): ``[N, dz]``.

        Returns:
            Tensor: ``z_cf`` ``[N, K, dz]``.
        """
        n, k = z.shape[0], self.num_counterfactuals
        noise = torch.randn(n, k, self.latent_dims, device=z.device, dtype=z.dtype)
        slots = self.cf_embed.weight[None].expand(n, -1, -1)
        return self.cf_generator(torch.cat([z[:, None, :].expand(-1, k, -1), noise, slots], dim=-1))

    def batch_semantics(self, semantic: Tensor, num_frames: int) -> Optional[Tensor]:
        """Detached semantics of the same frame of other clips (step 5 of the class docstring).

        Args:
            semantic (Tensor): ``[N, d]``, ``N = B * T`` frames, clip-major.
            num_frames (int): ``T``.

        Returns:
            Tensor | None: ``[N, J', d]`` with ``J' = min(batch_counterfactuals, B - 1)``; slot ``j`` of a frame
            of clip ``b`` is the same frame of clip ``(b - j - 1) mod B``. None when ``J' = 0``.
        """
        num_clips = semantic.shape[0] // num_frames
        count = min(self.batch_counterfactuals, num_clips - 1)
        if count <= 0:
            return None
        detached = semantic.detach()
        return torch.stack([detached.roll(shifts=j * num_frames, dims=0) for j in range(1, count + 1)], dim=1)

    def counterfactual_branch(self, semantic: Tensor, visual_queries: Tensor, mask_features: Tensor,
                              num_frames: Optional[int] = None) -> Dict[str, Tensor]:
        """Run the whole SC branch (see the class docstring).

        Args:
            semantic (Tensor): Factual ``s`` ``[N, d]``.
            visual_queries (Tensor): ``[N, Q, d]`` (the factual ones, reused unchanged).
            mask_features (Tensor): ``[N, d, H4, W4]`` (reused unchanged).
            num_frames (int, optional): ``T``; needed for ``batch_counterfactuals`` (without it no other
                clip's semantics are added).

        Returns:
            dict[str, Tensor]: ``z`` / ``mu`` / ``logvar`` ``[N, dz]``, ``s_recon`` ``[N, d]``, ``z_cf``
            ``[N, K, dz]``, ``s_cf`` ``[N, K, d]``, ``cf_logits`` ``[N, K + J', C, H4, W4]`` (generated slots
            first) and ``cf_audio_proto`` ``[N, K, d]`` (the counterfactual audio prototypes ``p^{a,cf}_k``
            for CDCL, i.e. ``s_cf``).
        """
        n = semantic.shape[0]
        out = self.encode_latent(semantic.detach() if self.detach_semantic else semantic)
        out['s_recon'] = self.decode_latent(out['z'])
        z_cf = self.generate_counterfactuals(out['z'])
        s_cf = self.decode_latent(z_cf)
        inputs = s_cf
        others = self.batch_semantics(semantic, num_frames) if num_frames else None
        if others is not None:
            inputs = torch.cat([s_cf, others], dim=1)
        k = inputs.shape[1]
        cf = self.predict_masks(
            inputs.reshape(n * k, -1),
            visual_queries.repeat_interleave(k, dim=0),
            mask_features.repeat_interleave(k, dim=0))
        logits = cf['logits']
        out.update(
            z_cf=z_cf,
            s_cf=s_cf,
            cf_logits=logits.reshape(n, k, *logits.shape[1:]),
            cf_audio_proto=s_cf)
        return out

    def forward(self,
                multi_scale_feats: Sequence[Tensor],
                mask_features: Tensor,
                audio_feat: Tensor,
                num_frames: int,
                text_memory: Optional[Tensor] = None,
                frame_flags: Optional[Tensor] = None,
                counterfactual: bool = True) -> Dict[str, Tensor]:
        """Decode a batch of clips; add the SC outputs in training.

        Args:
            multi_scale_feats, mask_features, audio_feat, num_frames, text_memory, frame_flags: As in
                :meth:`AVQueryDecoder.forward` (``N = B*T`` frames).
            counterfactual (bool): Run the SC branch when also ``sc`` and ``self.training`` are True.
                Defaults to True.

        Returns:
            dict[str, Tensor]: The baseline outputs (``logits`` ``[N, C, H4, W4]``, ``semantic`` ``[N, d]``,
            ``audio_queries``, ``visual_queries``, ``pixel_features``, ``text_memory``, ...) plus, when the
            SC branch runs, the keys of :meth:`counterfactual_branch` (``z``, ``mu``, ``logvar``,
            ``s_recon``, ``z_cf``, ``s_cf``, ``cf_logits``, ``cf_audio_proto``).
        """
        out = super().forward(
            multi_scale_feats, mask_features, audio_feat, num_frames, text_memory=text_memory,
            frame_flags=frame_flags)
        if self.sc and self.training and counterfactual:
            out.update(self.counterfactual_branch(out['semantic'], out['visual_queries'], mask_features,
                                                  num_frames=num_frames))
        return out
