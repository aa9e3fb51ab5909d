"""ICF segmentor: the AVS baseline plus MIT text memory, SC losses and CDCL (docs/icf.md, M3 and M5-M7)."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import ModuleList
from torch import Tensor, nn

from mmavs.registry import MODELS

from ..decoders.counterfactual_decoder import CounterfactualDecoder
from ..text.clip_text_encoder import TextEncoderOutput
from ..text.resampler import DEFAULT_NUM_SLOTS, MAX_NUM_SLOTS
from ..text.text_cache import TextEmbeddingCache, collate_text_entries
from .avs_segmentor import AVSSegmentor, ConfigType, SampleList

#: Order of the granularities in the text memory ``M_t`` (and rows of ``granularity_embed``).
GRANULARITIES = ('video', 'segment', 'frame')


@MODELS.register_module()
class ICFSegmentor(AVSSegmentor):
    """Implicit Counterfactual Learning (ICF) model: :class:`AVSSegmentor` + MIT + SC + CDCL.

    **MIT** (multi-granularity implicit text, on when ``text_encoder`` is set). Every clip's data sample
    carries ``metainfo['captions'] = dict(video=str, segments=[str], frames=[str], frame_segment=[int] * T)``
    (datasets with ``with_text=True``). The frozen text encoder (``CLIPCaptionEncoder``) turns each distinct
    caption of the batch into token embeddings ``[L_i, C]`` (without gradient; each caption is encoded once
    and then served from a cache, see below); one shared ``TextResampler`` maps them to ``k^t`` implicit
    tokens ``[k^t, d]``; a learnable per-granularity embedding ``g_video / g_segment / g_frame`` ``[d]`` is
    added (``granularity_embed=True``). The text memory of frame ``t`` is

    ``M_t = [L^vid + g_video ; L^seg(s(t)) + g_segment ; L^frm(t) + g_frame]`` ``[3 k^t, d]``

    with ``s(t) = frame_segment[t]``; padded frames (``frame_segment[t] = -1``) get an all-zero memory (they
    are excluded from temporal attention and from every loss elsewhere). ``M`` ``[B*T, 3 k^t, d]`` is passed
    to the decoder as extra keys / values of both query sets.

    Caption cache: with ``text_cache_root`` a :class:`~mmavs.models.text.TextEmbeddingCache` under that
    folder (keyed by the encoder's architecture *and* weights, so pretrained and random towers never mix)
    stores every caption once, across steps, runs and DDP ranks; without it an in-memory dict does the same
    within the process. Both are dropped when the encoder's weights change through :meth:`init_weights` or
    ``load_state_dict``. :attr:`num_encoded_captions` counts the captions the encoder actually encoded.

    **SC** (``sc_losses``): the decoder must be a ``CounterfactualDecoder`` with ``sc=True``; its SC branch
    runs only in :meth:`loss` (training mode). ``CounterfactualEffectLoss``, ``OrthogonalityLoss`` and
    ``LatentLoss`` are called as ``loss(decoder_outputs, data_samples)``.

    **CDCL** (``cdcl_loss``): a ``CDCLLoss`` submodule (its projection heads are trained), called like the SC
    losses; with SC off it uses batch negatives only, with MIT off its text terms are exact zeros.

    Returned losses (each logged separately): the segmentation losses of ``losses`` (as the baseline), the
    SC losses' keys (``loss_cf``, ``loss_ortho``, ``loss_z_recon``, ``loss_z_kl``) and the CDCL keys
    (``loss_cdcl_fcf``, ``loss_cdcl_va``, ``loss_cdcl_al``, ``loss_cdcl_vl``). :meth:`predict` and the
    ``'tensor'`` mode run the factual pass only (no SC module, no CDCL head), whatever the training mode.

    With ``text_encoder=None``, ``sc_losses=[]`` and ``cdcl_loss=None`` the model computes exactly what
    :class:`AVSSegmentor` computes with the same weights (same state dict keys).

    Args:
        audio_backbone, visual_backbone, neck, decoder, losses, num_classes, data_preprocessor, train_cfg,
            test_cfg, init_cfg: As in :class:`AVSSegmentor`.
        text_encoder (dict, optional): Config of the frozen caption encoder (``CLIPCaptionEncoder``; its
            ``frozen`` must stay True). None turns MIT off.
        text_resampler (dict, optional): Config of the ``TextResampler``; ``in_channels`` defaults to the
            encoder width, ``embed_dims`` to the decoder's ``d``, ``num_slots`` (``k^t``) to 15. Required
            with a text encoder, must be None without one.
        text_cache_root (str, optional): Folder of the on-disk caption embedding cache. Defaults to None
            (in-memory cache only).
        granularity_embed (bool): Add the learnable granularity embeddings. Defaults to True.
        sc_losses (list[dict]): Configs of the SC losses (empty = SC losses off).
        cdcl_loss (dict, optional): Config of ``CDCLLoss`` (``in_channels`` defaults to ``d``); None = off.
    """

    def __init__(self,
                 audio_backbone: dict,
                 visual_backbone: dict,
                 neck: dict,
                 decoder: dict,
                 losses: Union[dict, Sequence[dict]],
                 text_encoder: Optional[dict] = None,
                 text_resampler: Optional[dict] = None,
                 text_cache_root: Optional[str] = None,
                 granularity_embed: bool = True,
                 sc_losses: Optional[Sequence[dict]] = None,
                 cdcl_loss: Optional[dict] = None,
                 num_classes: int = 1,
                 data_preprocessor: Optional[ConfigType] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            audio_backbone=audio_backbone,
            visual_backbone=visual_backbone,
            neck=neck,
            decoder=decoder,
            losses=losses,
            num_classes=num_classes,
            data_preprocessor=data_preprocessor,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)
        embed_dims = int(self.decoder.embed_dims)
        self._build_text(text_encoder, text_resampler, text_cache_root, granularity_embed, embed_dims)
        self._build_sc_losses(sc_losses)
        self._build_cdcl(cdcl_loss, embed_dims)
        decoder_sc = isinstance(self.decoder, CounterfactualDecoder) and self.decoder.sc
        if decoder_sc and not len(self.sc_losses) and self.cdcl_loss is None:
            raise ValueError('ICFSegmentor: decoder is a CounterfactualDecoder with sc=True but sc_losses is empty '
                             'and cdcl_loss is None, so the SC branch would train nothing; set decoder.sc=False '
                             '(or use AVQueryDecoder) or add sc_losses')

    # ------------------------------------------------------------ building
    def _build_text(self, text_encoder: Optional[dict], text_resampler: Optional[dict],
                    text_cache_root: Optional[str], granularity_embed: bool, embed_dims: int) -> None:
        """Build the MIT modules (see the class docstring) and validate their configs."""
        self.text_cache_root = None if text_cache_root is None else str(text_cache_root)
        self._text_cache: Optional[TextEmbeddingCache] = None
        self._memory_cache: Dict[str, Dict[str, Tensor]] = {}
        self.num_encoded_captions = 0
        if not isinstance(granularity_embed, bool):
            raise ValueError(f'ICFSegmentor: granularity_embed must be a bool, got {granularity_embed!r}')
        if text_encoder is None:
            if text_resampler is not None:
                raise ValueError('ICFSegmentor: text_resampler is set but text_encoder is None (MIT off); set '
                                 'text_resampler=None as well, or configure text_encoder to turn MIT on')
            self.text_encoder = None
            self.text_resampler = None
            self.granularity_embed = None
            return
        if text_resampler is None:
            raise ValueError('ICFSegmentor: text_encoder is set (MIT on) but text_resampler is None; configure '
                             'text_resampler=dict(type="TextResampler", num_slots=15, ...)')
        encoder_cfg = dict(text_encoder)
        if not encoder_cfg.get('frozen', True):
            raise ValueError('ICFSegmentor: text_encoder.frozen must be True: MIT keeps the caption encoder frozen '
                             'and caches its embeddings')
        self.text_encoder = MODELS.build(encoder_cfg)
        if not getattr(self.text_encoder, 'frozen', False) or any(p.requires_grad
                                                                   for p in self.text_encoder.parameters()):
            raise ValueError(f'ICFSegmentor: text_encoder ({type(self.text_encoder).__name__}) must be frozen')
        # Embeddings computed with other weights must never be reused (also fires under mmengine's loader).
        self.register_load_state_dict_post_hook(_clear_text_cache_after_load)

        resampler_cfg = dict(text_resampler)
        num_slots = resampler_cfg.setdefault('num_slots', DEFAULT_NUM_SLOTS)
        if isinstance(num_slots, bool) or not isinstance(num_slots, int) or not 1 <= num_slots <= MAX_NUM_SLOTS:
            raise ValueError(f'ICFSegmentor: text_resampler.num_slots (k^t) must be an int in 1..{MAX_NUM_SLOTS}, '
                             f'got {num_slots!r} (ICF: 15, alternative 30)')
        width = int(self.text_encoder.out_channels)
        for key, expected in (('in_channels', width), ('embed_dims', embed_dims)):
            value = resampler_cfg.setdefault(key, expected)
            if value != expected:
                what = 'the text encoder width' if key == 'in_channels' else 'the decoder embed_dims'
                raise ValueError(f'ICFSegmentor: text_resampler.{key}={value} differs from {what} ({expected})')
        self.text_resampler = MODELS.build(resampler_cfg)
        if granularity_embed:
            self.granularity_embed = nn.Parameter(torch.randn(len(GRANULARITIES), embed_dims) * 0.02)
        else:
            self.granularity_embed = None

    def _build_sc_losses(self, sc_losses: Optional[Sequence[dict]]) -> None:
        """Build the SC losses; they need a CounterfactualDecoder with ``sc=True``."""
        if sc_losses is None:
            sc_losses = []
        if isinstance(sc_losses, dict):
            raise ValueError('ICFSegmentor: sc_losses must be a list of loss configs, got a single dict')
        for i, cfg in enumerate(sc_losses):
            self._check_loss_weights(f'sc_losses[{i}]', cfg)
        self.sc_losses = ModuleList([MODELS.build(dict(cfg)) for cfg in sc_losses])
        if len(self.sc_losses) and not (isinstance(self.decoder, CounterfactualDecoder) and self.decoder.sc):
            raise ValueError(f'ICFSegmentor: sc_losses ({[type(m).__name__ for m in self.sc_losses]}) need the SC '
                             f'outputs of the decoder: decoder.type must be "CounterfactualDecoder" with sc=True, '
                             f'got {type(self.decoder).__name__}'
                             + (' with sc=False' if isinstance(self.decoder, CounterfactualDecoder) else ''))

    def _build_cdcl(self, cdcl_loss: Optional[dict], embed_dims: int) -> None:
        """Build the CDCL loss as a submodule (its projection heads train with the model)."""
        if cdcl_loss is None:
            self.cdcl_loss = None
            return
        cfg = dict(cdcl_loss)
        self._check_loss_weights('cdcl_loss', cfg)
        inter = cfg.get('inter_weights', None) or {}
        for key, value in dict(inter).items():
            self._check_loss_weights(f'cdcl_loss.inter_weights.{key}', dict(loss_weight=value))
        in_channels = cfg.setdefault('in_channels', embed_dims)
        if in_channels != embed_dims:
            raise ValueError(f'ICFSegmentor: cdcl_loss.in_channels={in_channels} differs from the decoder '
                             f'embed_dims ({embed_dims})')
        self.cdcl_loss = MODELS.build(cfg)

    @staticmethod
    def _check_loss_weights(key: str, cfg: dict) -> None:
        """Raise ValueError naming ``key`` when a ``*weight`` entry of a loss config is negative."""
        if not isinstance(cfg, dict):
            raise ValueError(f'ICFSegmentor: {key} must be a loss config dict, got {type(cfg).__name__}')
        for name, value in cfg.items():
            if name.endswith('weight') and isinstance(value, (int, float)) and not float(value) >= 0.:
                raise ValueError(f'ICFSegmentor: {key}.{name} must be >= 0, got {value}')

    # ------------------------------------------------------------ text cache
    @property
    def mit(self) -> bool:
        """Whether MIT (the text memory) is on."""
        return self.text_encoder is not None

    def clear_text_cache(self) -> None:
        """Forget cached caption embeddings (called when the encoder's weights change)."""
        self._memory_cache = {}
        self._text_cache = None

    def init_weights(self) -> None:
        """Initialise the weights (MMEngine) and drop caption embeddings made with the previous weights."""
        super().init_weights()
        self.clear_text_cache()

    def _encode_fn(self, captions: List[str]) -> TextEncoderOutput:
        """Run the frozen encoder on ``captions`` (no grad, trimmed padding); counts the encoded captions."""
        self.num_encoded_captions += len(captions)
        with torch.no_grad():
            out = self.text_encoder(captions, trim=True)
        return TextEncoderOutput(out.tokens.detach(), out.pooled.detach(), out.padding_mask)

    def encode_captions(self, captions: Sequence[str]) -> TextEncoderOutput:
        """Token embeddings of captions, each distinct caption encoded at most once per cache.

        Args:
            captions (Sequence[str]): ``U`` captions.

        Returns:
            TextEncoderOutput: tokens ``[U, L, C]`` (zeros after each caption's EOT), pooled ``[U, C']``,
            padding_mask bool ``[U, L]`` (True = padding), on the encoder's device.
        """
        device = self.text_encoder.token_embedding.weight.device
        if self.text_cache_root is not None:
            if self._text_cache is None:
                self._text_cache = TextEmbeddingCache(self.text_cache_root, self.text_encoder.cache_key(),
                                                      in_memory=True)
            out = self._text_cache.get_or_compute(captions, self._encode_fn)
        else:
            missing = [c for c in dict.fromkeys(captions) if c not in self._memory_cache]
            if missing:
                enc = self._encode_fn(missing)
                for j, caption in enumerate(missing):
                    keep = ~enc.padding_mask[j]
                    self._memory_cache[caption] = dict(tokens=enc.tokens[j][keep].cpu(), pooled=enc.pooled[j].cpu())
            out = collate_text_entries([self._memory_cache[c] for c in captions])
        return TextEncoderOutput(out.tokens.to(device), None if out.pooled is None else out.pooled.to(device),
                                 out.padding_mask.to(device))

    # ------------------------------------------------------------ MIT memory
    @staticmethod
    def _clip_captions(sample, num_frames: int) -> Tuple[str, dict]:
        """Fetch and check the ``captions`` metainfo of one clip; returns ``(vid, captions)``."""
        vid = str(sample.metainfo.get('vid', '<unknown clip>'))
        captions = sample.metainfo.get('captions', None)
        if captions is None:
            raise ValueError(f'ICFSegmentor: data sample of clip "{vid}" has no "captions" metainfo, but MIT is on '
                             '(text_encoder is set); set with_text=True in the dataset config (and provide the '
                             'caption file, see docs/captions.md), or set model.text_encoder=None')
        for key in ('video', 'segments', 'frames', 'frame_segment'):
            if key not in captions:
                raise ValueError(f'ICFSegmentor: captions of clip "{vid}" lack the key "{key}"')
        frame_segment = list(captions['frame_segment'])
        if len(frame_segment) != num_frames:
            raise ValueError(f'ICFSegmentor: captions of clip "{vid}": frame_segment has {len(frame_segment)} '
                             f'entries for {num_frames} frames')
        num_real = sum(1 for s in frame_segment if s >= 0)
        if len(captions['frames']) != num_real or any(s >= 0 for s in frame_segment[num_real:]):
            raise ValueError(f'ICFSegmentor: captions of clip "{vid}": {len(captions["frames"])} frame captions for '
                             f'{num_real} real frames (frame_segment={frame_segment}); real frames come first')
        if any(s >= len(captions['segments']) for s in frame_segment):
            raise ValueError(f'ICFSegmentor: captions of clip "{vid}": frame_segment {frame_segment} refers to '
                             f'segments beyond the {len(captions["segments"])} segment captions')
        return vid, captions

    def get_text_memory(self, inputs: Dict[str, Tensor], feats: dict,
                        data_samples: Optional[SampleList]) -> Optional[Tensor]:
        """Per-frame MIT memory ``M_t`` (see the class docstring).

        Args:
            inputs (dict): Stacked inputs (unused).
            feats (dict): Output of :meth:`extract_feat` (``batch_size`` B, ``num_frames`` T).
            data_samples (list[AVSDataSample]): One per clip, with ``metainfo['captions']``.

        Returns:
            Tensor | None: ``[B*T, 3 k^t, d]`` (zeros for padded frames), None when MIT is off.
        """
        if not self.mit:
            return None
        batch_size, num_frames = feats['batch_size'], feats['num_frames']
        if not data_samples or len(data_samples) != batch_size:
            raise ValueError(f'ICFSegmentor: MIT needs one data sample with captions per clip; got '
                             f'{0 if not data_samples else len(data_samples)} samples for {batch_size} clips')
        unique: Dict[str, int] = {}

        def index_of(caption: str) -> int:
            return unique.setdefault(caption, len(unique))

        rows: List[List[int]] = []  # per frame: indices of the video / segment / frame captions
        real: List[bool] = []
        for sample in data_samples:
            _, caps = self._clip_captions(sample, num_frames)
            video = index_of(caps['video'])
            for t, seg in enumerate(caps['frame_segment']):
                if seg < 0:
                    rows.append([video, video, video])
                    real.append(False)
                else:
                    rows.append([video, index_of(caps['segments'][seg]), index_of(caps['frames'][t])])
                    real.append(True)
        encoded = self.encode_captions(list(unique))
        implicit = self.text_resampler(encoded.tokens, encoded.padding_mask)  # [U, k, d]
        index = torch.tensor(rows, dtype=torch.long, device=implicit.device)  # [N, 3]
        memory = implicit[index]  # [N, 3, k, d]
        if self.granularity_embed is not None:
            memory = memory + self.granularity_embed[None, :, None, :].to(memory.dtype)
        keep = torch.tensor(real, dtype=memory.dtype, device=memory.device)[:, None, None, None]
        memory = memory * keep
        return memory.flatten(1, 2)  # [N, 3k, d]

    # ------------------------------------------------------------ forward
    def decode(self, inputs: Dict[str, Tensor], feats: dict, data_samples: Optional[SampleList] = None,
               counterfactual: bool = False) -> Dict[str, Tensor]:
        """Run the decoder (see :meth:`AVSSegmentor.decode`).

        Args:
            inputs, feats, data_samples: As in :meth:`AVSSegmentor.decode`.
            counterfactual (bool): Ask a ``CounterfactualDecoder`` for its SC branch (it runs only in
                training mode with ``sc=True``). Defaults to False (factual pass only).

        Returns:
            dict: Decoder outputs (``logits`` ``[B*T, C, H/4, W/4]``, ``text_memory`` ``[B*T, 3k, d]`` or None,
            and the SC keys when the branch ran).
        """
        kwargs = dict(counterfactual=counterfactual) if isinstance(self.decoder, CounterfactualDecoder) else {}
        return super().decode(inputs, feats, data_samples, **kwargs)

    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        """Segmentation + SC + CDCL losses of a batch.

        Args:
            inputs (dict): ``frames`` ``[B, T, 3, H, W]``, ``audio`` ``[B, T, 1, 96, 64]``.
            data_samples (list[AVSDataSample]): With ``gt_masks``, flags and (MIT) ``captions``.

        Returns:
            dict[str, Tensor]: Every loss term under its own key (see the class docstring).
        """
        feats = self.extract_feat(inputs)
        outs = self.decode(inputs, feats, data_samples, counterfactual=self.training)
        losses = self.loss_by_logits(outs['logits'], data_samples)
        extra = [(f'sc_losses[{i}]', m) for i, m in enumerate(self.sc_losses)]
        if self.cdcl_loss is not None:
            extra.append(('cdcl_loss', self.cdcl_loss))
        for key, module in extra:
            for name, value in module(outs, data_samples).items():
                if name in losses:
                    raise ValueError(f'ICFSegmentor: {key} ({type(module).__name__}) returns the loss key "{name}" '
                                     f'that another loss already uses; give it another loss_name')
                losses[name] = value
        return losses



def _clear_text_cache_after_load(module: ICFSegmentor, incompatible_keys: object) -> None:
    """``load_state_dict`` post hook: the encoder weights may have changed, drop cached embeddings."""
    module.clear_text_cache()
