"""Audio-visual segmentor: backbones -> neck -> query decoder -> per-frame logits."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModel, ModuleList
from torch import Tensor, nn

from mmavs.registry import MODELS, build_from_mmavs
from mmavs.structures import AVSDataSample, frame_ground_truth, stack_sample_field

SampleList = List[AVSDataSample]
ConfigType = Union[dict, nn.Module]


@MODELS.register_module()
class AVSSegmentor(BaseModel):
    """Clip-level audio-visual segmentor (the AVS baseline; ICF extends its decoder and losses).

    Data flow for a batch of ``B`` clips of ``T`` frames (``N = B*T``):

    ``audio [B, T, 1, 96, 64]`` -> ``audio_backbone`` -> ``[N, C_a]``;
    ``frames [B, T, 3, H, W]`` -> ``visual_backbone`` -> 4 maps (strides 4..32) -> ``neck`` -> multi-scale maps
    and stride-4 mask features; ``decoder(multi_scale, mask_features, audio_feat, T, text_memory,
    frame_flags)`` -> dict with ``logits`` ``[N, C, H/4, W/4]``, upsampled (bilinear) to the ground-truth /
    input size.

    Modes of :meth:`forward`:

    - ``'loss'``: dict of named losses, one entry per loss module (``loss_bce``, ``loss_dice``, ...),
      computed on the frames whose ``gt_flags`` is True, with pixels equal to 255 ignored.
    - ``'predict'``: fills every data sample's ``pred_logits`` ``[T, C, H, W]`` (at ``gt_masks``' size, else
      ``img_shape``, else the input size) and ``pred_masks`` ``[T, H, W]`` (``sigmoid > threshold`` for
      ``C = 1``, argmax otherwise) and returns the samples.
    - ``'tensor'``: raw logits ``[B, T, C, H, W]`` at the input size.

    Args:
        audio_backbone (dict): Config of the audio encoder (e.g. ``AudioBackbone``), ``[N, 1, 96, 64]`` ->
            ``[N, C_a]``.
        visual_backbone (dict): Config of the frame encoder (``VisualBackbone``).
        neck (dict): Config of the pixel neck (``AVSPixelNeck``), returning ``(multi_scale, mask_features)``.
        decoder (dict): Config of the decoder (``AVQueryDecoder``); its ``num_classes`` defaults to this
            model's and must agree with it.
        losses (dict | list[dict]): Loss configs (``AVSBCELoss`` / ``AVSDiceLoss`` / ``AVSFocalLoss`` for
            ``num_classes=1``; ``AVSCrossEntropyLoss`` / ``AVSSoftmaxDiceLoss`` / ``AVSSoftmaxFocalLoss`` for
            more classes). Losses sharing a ``loss_name`` are summed into one entry.
        num_classes (int): 1 (binary S4 / MS3) or the number of classes (AVSS: 71). Defaults to 1.
        data_preprocessor (dict, optional): Defaults to ``dict(type='AVSDataPreprocessor')``.
        train_cfg (dict, optional): Training options (none used by the baseline; kept for subclasses).
        test_cfg (dict, optional): ``threshold`` (float, default 0.5) on ``sigmoid(logit)`` for binary masks.
        init_cfg (dict, optional): Init config of the whole model.
    """

    def __init__(self,
                 audio_backbone: dict,
                 visual_backbone: dict,
                 neck: dict,
                 decoder: dict,
                 losses: Union[dict, Sequence[dict]],
                 num_classes: int = 1,
                 data_preprocessor: Optional[ConfigType] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='AVSDataPreprocessor')
        # BaseModel would build a dict with MMEngine's root registry (see build_from_mmavs).
        super().__init__(data_preprocessor=build_from_mmavs(MODELS, data_preprocessor), init_cfg=init_cfg)
        if num_classes < 1:
            raise ValueError(f'AVSSegmentor: num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.audio_backbone = MODELS.build(audio_backbone)
        self.visual_backbone = MODELS.build(visual_backbone)
        self.neck = MODELS.build(neck)
        decoder = dict(decoder)
        decoder.setdefault('num_classes', num_classes)
        if decoder['num_classes'] != num_classes:
            raise ValueError(f'AVSSegmentor: decoder num_classes={decoder["num_classes"]} differs from the '
                             f'model num_classes={num_classes}')
        self.decoder = MODELS.build(decoder)
        if isinstance(losses, dict):
            losses = [losses]
        if not losses:
            raise ValueError('AVSSegmentor: losses must name at least one loss config')
        self.losses = ModuleList([MODELS.build(cfg) for cfg in losses])
        for loss in self.losses:
            multi_class = getattr(loss, 'multi_class', None)
            if multi_class is not None and multi_class != (num_classes > 1):
                kind = 'multi-class' if multi_class else 'binary'
                raise ValueError(f'AVSSegmentor: {type(loss).__name__} is a {kind} loss but num_classes='
                                 f'{num_classes}')
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})
        self.threshold = float(self.test_cfg.get('threshold', 0.5))

    # ------------------------------------------------------------- features
    @staticmethod
    def _check_inputs(inputs: Dict[str, Tensor]) -> Tuple[int, int]:
        """Validate the stacked inputs and return ``(B, T)``."""
        if not isinstance(inputs, dict) or 'frames' not in inputs or 'audio' not in inputs:
            raise ValueError('AVSSegmentor: inputs must be a dict with "frames" [B, T, 3, H, W] and "audio" '
                             '[B, T, 1, 96, 64] (run AVSDataPreprocessor first)')
        frames, audio = inputs['frames'], inputs['audio']
        if frames.dim() != 5 or audio.dim() != 5 or frames.shape[:2] != audio.shape[:2]:
            raise ValueError(f'AVSSegmentor: frames {tuple(frames.shape)} and audio {tuple(audio.shape)} must '
                             'be [B, T, ...] with the same B and T')
        return int(frames.shape[0]), int(frames.shape[1])

    def extract_audio_feat(self, audio: Tensor) -> Tensor:
        """Per-frame audio features.

        Args:
            audio (Tensor): ``[B, T, 1, 96, 64]``.

        Returns:
            Tensor: ``[B*T, C_a]``.
        """
        # clips, not examples: an audio embedding cache keys whole clips
        return self.audio_backbone(audio).flatten(0, 1)

    def extract_visual_feat(self, frames: Tensor) -> Tuple[List[Tensor], Tensor]:
        """Visual backbone and neck.

        Args:
            frames (Tensor): ``[B, T, 3, H, W]`` normalised frames.

        Returns:
            tuple: Neck multi-scale maps (``[B*T, d, H_i, W_i]``, finest first) and mask features
            ``[B*T, d, H/4, W/4]``.
        """
        return self.neck(self.visual_backbone(frames.flatten(0, 1)))

    def extract_feat(self, inputs: Dict[str, Tensor]) -> dict:
        """Encode a batch.

        Args:
            inputs (dict): ``frames`` ``[B, T, 3, H, W]`` and ``audio`` ``[B, T, 1, 96, 64]``.

        Returns:
            dict: ``audio_feat`` ``[B*T, C_a]``, ``multi_scale_feats`` (list), ``mask_features``
            ``[B*T, d, H/4, W/4]``, ``batch_size`` B, ``num_frames`` T, ``input_size`` (H, W).
        """
        batch_size, num_frames = self._check_inputs(inputs)
        multi_scale, mask_features = self.extract_visual_feat(inputs['frames'])
        return dict(
            audio_feat=self.extract_audio_feat(inputs['audio']),
            multi_scale_feats=multi_scale,
            mask_features=mask_features,
            batch_size=batch_size,
            num_frames=num_frames,
            input_size=tuple(inputs['frames'].shape[-2:]))

    def get_text_memory(self, inputs: Dict[str, Tensor], feats: dict,
                        data_samples: Optional[SampleList]) -> Optional[Tensor]:
        """Extra memory ``[B*T, M, d]`` for the decoder's query sets; None in the audio-visual baseline.

        Subclasses (MIT) override this to return the per-frame text memory.
        """
        return None

    def decode(self, inputs: Dict[str, Tensor], feats: dict, data_samples: Optional[SampleList] = None,
               **decoder_kwargs) -> Dict[str, Tensor]:
        """Run the decoder on encoded features.

        Args:
            inputs (dict): The stacked inputs (for subclasses that read more keys, e.g. text).
            feats (dict): Output of :meth:`extract_feat`.
            data_samples (list[AVSDataSample], optional): Provide ``frame_flags``: padded frames are not
                attended across time and their audio features are zeroed (as the official AVSS code
                multiplies the audio features by the frame flag), so the audio a padded frame happens to
                carry (e.g. a longer donor clip under audio shuffling) never reaches the model.
            **decoder_kwargs: Further keyword arguments of the decoder (subclasses pass e.g.
                ``counterfactual``).

        Returns:
            dict: The decoder's output dict (``logits`` ``[B*T, C, H/4, W/4]`` and intermediates).
        """
        frame_flags = stack_sample_field(data_samples, 'frame_flags', 'AVSSegmentor')
        audio_feat = feats['audio_feat']
        if frame_flags is not None:
            audio_feat = audio_feat * frame_flags.flatten().to(audio_feat.dtype).unsqueeze(-1)
        return self.decoder(
            feats['multi_scale_feats'],
            feats['mask_features'],
            audio_feat,
            feats['num_frames'],
            text_memory=self.get_text_memory(inputs, feats, data_samples),
            frame_flags=frame_flags,
            **decoder_kwargs)

    @staticmethod
    def resize_logits(logits: Tensor, size: Sequence[int]) -> Tensor:
        """Bilinearly resize ``[N, C, h, w]`` logits to ``size`` (no-op when already that size)."""
        size = tuple(int(s) for s in size)
        if tuple(logits.shape[-2:]) == size:
            return logits
        return F.interpolate(logits, size=size, mode='bilinear', align_corners=False)

    # ----------------------------------------------------------------- modes
    def forward(self,
                inputs: Dict[str, Tensor],
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], SampleList, Tensor]:
        """Dispatch to :meth:`loss`, :meth:`predict` or :meth:`_forward`.

        Args:
            inputs (dict): ``frames`` ``[B, T, 3, H, W]`` and ``audio`` ``[B, T, 1, 96, 64]``.
            data_samples (list[AVSDataSample], optional): One per clip.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f'AVSSegmentor: invalid mode {mode!r}; use "loss", "predict" or "tensor"')

    def _forward(self, inputs: Dict[str, Tensor], data_samples: Optional[SampleList] = None) -> Tensor:
        """Raw logits ``[B, T, C, H, W]`` at the input size."""
        feats = self.extract_feat(inputs)
        logits = self.decode(inputs, feats, data_samples)['logits']
        logits = self.resize_logits(logits, feats['input_size'])
        return logits.reshape(feats['batch_size'], feats['num_frames'], *logits.shape[1:])

    def loss(self, inputs: Dict[str, Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        """Segmentation losses of a batch (see :meth:`loss_by_logits`)."""
        feats = self.extract_feat(inputs)
        outs = self.decode(inputs, feats, data_samples)
        return self.loss_by_logits(outs['logits'], data_samples)

    def loss_by_logits(self, logits: Tensor, data_samples: SampleList, prefix: str = '') -> Dict[str, Tensor]:
        """Apply every loss module to frame logits.

        Args:
            logits (Tensor): ``[B*T, C, h, w]`` logits at any size; resized to ``gt_masks``' size.
            data_samples (list[AVSDataSample]): With ``gt_masks`` ``[T, H, W]`` and ``gt_flags`` ``[T]``
                (without ``gt_flags``, frames whose mask is not all 255 count).
            prefix (str): Prepended to every key (e.g. ``'cf_'`` for a counterfactual branch).

        Returns:
            dict[str, Tensor]: ``{prefix + loss.loss_name: value}``.
        """
        gt_masks, valid = frame_ground_truth('AVSSegmentor.loss', data_samples, logits.shape[0], logits.device)
        logits = self.resize_logits(logits, gt_masks.shape[-2:])
        losses: Dict[str, Tensor] = {}
        for loss_module in self.losses:
            name = prefix + loss_module.loss_name
            value = loss_module(logits, gt_masks, valid)
            losses[name] = losses[name] + value if name in losses else value
        return losses

    def predict(self, inputs: Dict[str, Tensor], data_samples: Optional[SampleList] = None) -> SampleList:
        """Predict per-frame logits and masks into the data samples.

        Args:
            inputs (dict): Stacked inputs.
            data_samples (list[AVSDataSample], optional): One per clip; created (with ``img_shape``) when
                None.

        Returns:
            list[AVSDataSample]: The samples with ``pred_logits`` ``[T, C, H, W]`` and ``pred_masks``
            ``[T, H, W]``.
        """
        feats = self.extract_feat(inputs)
        logits = self.decode(inputs, feats, data_samples)['logits'].detach()
        batch_size, num_frames = feats['batch_size'], feats['num_frames']
        if data_samples is None:
            data_samples = [
                AVSDataSample(metainfo=dict(img_shape=feats['input_size'], num_frames=num_frames))
                for _ in range(batch_size)
            ]
        if len(data_samples) != batch_size:
            raise ValueError(f'AVSSegmentor.predict: {len(data_samples)} data samples for {batch_size} clips')
        logits = logits.reshape(batch_size, num_frames, *logits.shape[1:])
        for clip_logits, sample in zip(logits, data_samples):
            gt = sample.get('gt_masks', None)
            if gt is not None:
                size = gt.shape[-2:]
            else:
                size = sample.metainfo.get('img_shape', feats['input_size'])[:2]
            clip_logits = self.resize_logits(clip_logits, size)
            sample.pred_logits = clip_logits
            sample.pred_masks = self.logits_to_masks(clip_logits)
        return data_samples

    def logits_to_masks(self, logits: Tensor) -> Tensor:
        """Masks ``[T, H, W]`` (long) from logits ``[T, C, H, W]``: ``sigmoid > threshold`` or argmax."""
        if logits.shape[1] == 1:
            return (logits[:, 0].sigmoid() > self.threshold).long()
        return logits.argmax(dim=1)
