"""CDCL: collaborative distribution-aware contrastive learning of ICF (docs/icf.md, M6)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmavs.registry import MODELS

from .counterfactual_losses import gather_gt, require_output
from .utils import check_weight

#: Default weights of the inter-modality terms [paper].
DEFAULT_INTER_WEIGHTS = dict(va=0.4, al=0.3, vl=0.3)


def soft_info_nce(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy of row-wise softmax ``logits`` ``[n, m]`` against target distributions ``[n, m]``.

    ``mean_i -sum_j targets_ij log_softmax(logits_i)_j``; equals :func:`torch.nn.functional.cross_entropy`
    when ``targets`` is one-hot.
    """
    return -(targets * logits.log_softmax(dim=1)).sum(dim=1).mean()


def symmetric_soft_info_nce(x: Tensor, y: Tensor, affinity: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE between two sets of L2-normalised embeddings with soft targets.

    Args:
        x (Tensor): ``[n, e]`` normalised embeddings of modality 1.
        y (Tensor): ``[n, e]`` normalised embeddings of modality 2 (row ``i`` is the same frame as ``x_i``).
        affinity (Tensor): ``[n, n]`` non-negative, symmetric semantic affinity with a positive diagonal;
            each row is normalised to a distribution to give the targets of both directions.
        temperature (float): ``tau``.

    Returns:
        Tensor: ``(CE(x y^T / tau, T) + CE(y x^T / tau, T^T)) / 2`` with ``T = affinity / rowsum``.
    """
    logits = x @ y.t() / temperature
    targets = affinity / affinity.sum(dim=1, keepdim=True)
    targets_t = affinity.t() / affinity.t().sum(dim=1, keepdim=True)
    return 0.5 * (soft_info_nce(logits, targets) + soft_info_nce(logits.t(), targets_t))


def gt_foreground(gt_masks: Tensor, num_classes: int, ignore_index: int = 255) -> Tensor:
    """Float 0/1 foreground of GT masks (``ignore_index`` pixels are not foreground).

    Args:
        gt_masks (Tensor): ``[N, H, W]`` integer masks.
        num_classes (int): Output channels ``C``: 1 (binary: foreground is value 1) or more (multi-class:
            any value other than the background 0 and ``ignore_index``).
        ignore_index (int): Ignored GT value. Defaults to 255.

    Returns:
        Tensor: Float ``[N, H, W]``.
    """
    if num_classes == 1:
        return (gt_masks == 1).float()
    return ((gt_masks != 0) & (gt_masks != ignore_index)).float()


def masked_average_pool(features: Tensor, weights: Tensor) -> Tensor:
    """Masked average pooling (MAP): the ``weights``-weighted mean of every feature channel.

    Args:
        features (Tensor): ``[n, d, h, w]``.
        weights (Tensor): ``[n, H, W]`` non-negative weights (e.g. a 0/1 foreground), area-resized to
            ``h x w`` when the sizes differ (a cell's weight is then its fraction of foreground).

    Returns:
        Tensor: ``[n, d]``: ``sum_hw f * w / sum_hw w`` (the denominator clamped at 1e-6, so an empty mask
        gives zeros).
    """
    weight = weights[:, None]
    if tuple(weight.shape[-2:]) != tuple(features.shape[-2:]):
        weight = F.interpolate(weight.float(), size=features.shape[-2:], mode='area')
    weight = weight.to(features.dtype)
    return (features * weight).sum(dim=(2, 3)) / weight.sum(dim=(2, 3)).clamp(min=1e-6)


def projection_head(in_channels: int, hidden_channels: int, out_channels: int) -> nn.Sequential:
    """``Linear - ReLU - Linear`` projection head."""
    return nn.Sequential(
        nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True), nn.Linear(hidden_channels, out_channels))


@MODELS.register_module()
class CDCLLoss(nn.Module):
    """Collaborative distribution-aware contrastive loss ``L_CDCL = L_fcf + L_inter`` (trainable heads).

    Computed on the decoder's features after interaction, for the *selected* frames: real frames with ground
    truth (``gt_flags``) whose GT has foreground (binary: value 1; multi-class: any class other than the
    background 0 and ``ignore_index``). Other frames do not enter any term (also not as negatives).

    Prototypes of a selected frame (``d`` channels each):

    - ``p^v`` (``visual_prototype='map'``): masked average pooling of ``outputs[visual_key]``
      ``[N, d, h, w]`` (default the mask head's ``pixel_features``) over the GT foreground, the mask being
      area-downsampled to ``h x w`` (fractional weights); ``'mean'``: plain average over all pixels (same
      frame selection, so the ablation only changes the prototype).
    - ``p^a``: mean of the audio queries ``outputs['audio_queries']`` ``[N, Q, d]``
      (``audio_prototype='queries'``) or the pooled semantics ``outputs['semantic']`` ``[N, d]``
      (``'semantic'``, the space the counterfactual prototypes come from).
    - ``p^l``: mean of the text memory ``outputs['text_memory']`` ``[N, M, d]`` (terms with ``l`` are exact
      zeros when it is None).
    - ``p^{a,cf}_k``: ``outputs['cf_audio_proto']`` ``[N, K, d]`` (``s_cf^k`` of the counterfactual branch).

    Each modality has its own projection head (``Linear-ReLU-Linear``); the counterfactual audio prototypes
    use the audio head (``share_cf_head=True``, so factual and counterfactual audio live in one space) or a
    head of their own. Outputs are L2-normalised; similarities are divided by ``temperature``.

    Semantic affinity ``A`` ``[n, n]`` of the selected frames (distribution-aware targets, rows normalised):

    - binary (``C = 1``): ``A_ij = 1`` if the frames' clips have the same ``category`` metainfo (S4), else 0;
      when some sample has no ``category`` (MS3), ``A_ij`` = IoU of the two frames' ground-truth foreground
      for frames of the same clip, 0 across clips (1 on the diagonal): frames of one clip show one scene, and
      where the same objects sound they must not be negatives of each other (identity targets would ask the
      heads to separate near-duplicates), while frames whose sounding objects changed stay apart;
    - multi-class: cosine similarity of the frames' GT class histograms (valid pixels; background class
      excluded unless ``histogram_background``), non-negative by construction;
    - identity when ``semantic_targets=False``.

    Terms (each averaged over the selected frames):

    - ``L_xy`` (``va``, ``al``, ``vl``): :func:`symmetric_soft_info_nce` of the two modalities' embeddings.
    - ``L_fcf``: anchor ``p^v_i``; candidates ``p^a_j`` of the selected frames and the frame's ``K``
      counterfactuals ``p^{a,cf}_{i,k}`` (hard negatives): cross-entropy over ``[n + K]`` logits against the
      target distribution ``[A_i / sum(A_i) ; 0 ... 0]`` (its own audio and its semantic neighbours are
      positives, counterfactuals never; one-hot on ``p^a_i`` when ``A`` is the identity). When the outputs have
      no counterfactual prototypes (SC off) only the batch candidates remain.

    ``L_CDCL = fcf_weight L_fcf + sum_x inter_weights[x] L_x``, all times ``loss_weight``; returned per term.

    Call: ``loss(outputs, data_samples)`` with the decoder's output dict (``N = B*T`` frames, clip-major) and
    the batch's :class:`AVSDataSample` list (``gt_masks`` ``[T, H, W]``, ``gt_flags`` / ``frame_flags`` ``[T]``,
    metainfo ``category``). Returns ``loss_cdcl_fcf``, ``loss_cdcl_va``, ``loss_cdcl_al``, ``loss_cdcl_vl``
    (already weighted; exact zeros keeping the graph of the heads when a term cannot be formed, e.g. fewer
    than 1 selected frame or no text).

    Args:
        in_channels (int): Width ``d`` of the decoder features. Defaults to 256.
        proj_channels (int): Embedding width of the heads. Defaults to 128.
        hidden_channels (int, optional): Hidden width of the heads. Defaults to ``in_channels``.
        temperature (float): ``tau`` (> 0). Defaults to 0.07.
        loss_weight (float): ``lambda_CDCL``. Defaults to 0.2 (paper).
        fcf_weight (float): Weight of ``L_fcf`` inside ``L_CDCL``. Defaults to 1.0.
        inter_weights (dict): Weights of ``va``, ``al``, ``vl``. Defaults to 0.4 / 0.3 / 0.3 (paper).
        visual_prototype (str): ``'map'`` or ``'mean'``. Defaults to ``'map'``.
        audio_prototype (str): ``'queries'`` or ``'semantic'``. Defaults to ``'queries'``.
        visual_key (str): Output key of the pixel features. Defaults to ``'pixel_features'``.
        share_cf_head (bool): Counterfactual audio prototypes use the audio head. Defaults to True.
        semantic_targets (bool): Use label-based soft targets (False -> identity). Defaults to True.
        histogram_background (bool): Count the background class in the multi-class histograms.
            Defaults to False.
        ignore_index (int): Ignored GT value. Defaults to 255.
        loss_prefix (str): Prefix of the returned keys. Defaults to ``'loss_cdcl'``.
    """

    def __init__(self,
                 in_channels: int = 256,
                 proj_channels: int = 128,
                 hidden_channels: Optional[int] = None,
                 temperature: float = 0.07,
                 loss_weight: float = 0.2,
                 fcf_weight: float = 1.0,
                 inter_weights: Optional[Dict[str, float]] = None,
                 visual_prototype: str = 'map',
                 audio_prototype: str = 'queries',
                 visual_key: str = 'pixel_features',
                 share_cf_head: bool = True,
                 semantic_targets: bool = True,
                 histogram_background: bool = False,
                 ignore_index: int = 255,
                 loss_prefix: str = 'loss_cdcl') -> None:
        super().__init__()
        name = type(self).__name__
        for key, value in (('in_channels', in_channels), ('proj_channels', proj_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f'{name}: {key} must be an int >= 1, got {value!r}')
        if not float(temperature) > 0.:
            raise ValueError(f'{name}: temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.loss_weight = check_weight(name, 'loss_weight', loss_weight)
        self.fcf_weight = check_weight(name, 'fcf_weight', fcf_weight)
        weights = dict(DEFAULT_INTER_WEIGHTS)
        if inter_weights is not None:
            unknown = set(inter_weights) - set(DEFAULT_INTER_WEIGHTS)
            if unknown:
                raise ValueError(f'{name}: inter_weights has unknown keys {sorted(unknown)}; use va, al, vl')
            weights.update(inter_weights)
        self.inter_weights = {k: check_weight(name, f'inter_weights.{k}', v) for k, v in weights.items()}
        if visual_prototype not in ('map', 'mean'):
            raise ValueError(f'{name}: visual_prototype must be "map" or "mean", got {visual_prototype!r}')
        if audio_prototype not in ('queries', 'semantic'):
            raise ValueError(f'{name}: audio_prototype must be "queries" or "semantic", got {audio_prototype!r}')
        if not isinstance(loss_prefix, str) or not loss_prefix.startswith('loss_'):
            raise ValueError(f'{name}: loss_prefix must start with "loss_", got {loss_prefix!r}')
        self.visual_prototype = visual_prototype
        self.audio_prototype = audio_prototype
        self.visual_key = visual_key
        self.share_cf_head = bool(share_cf_head)
        self.semantic_targets = bool(semantic_targets)
        self.histogram_background = bool(histogram_background)
        self.ignore_index = int(ignore_index)
        self.loss_prefix = loss_prefix
        hidden = hidden_channels or in_channels
        self.visual_head = projection_head(in_channels, hidden, proj_channels)
        self.audio_head = projection_head(in_channels, hidden, proj_channels)
        self.text_head = projection_head(in_channels, hidden, proj_channels)
        self.cf_head = None if self.share_cf_head else projection_head(in_channels, hidden, proj_channels)

    # ------------------------------------------------------------ prototypes
    def foreground(self, gt_masks: Tensor, num_classes: int) -> Tensor:
        """Float 0/1 foreground ``[N, H, W]`` of GT masks (see :func:`gt_foreground`)."""
        return gt_foreground(gt_masks, num_classes, self.ignore_index)

    def visual_prototypes(self, features: Tensor, fg: Tensor) -> Tensor:
        """Visual prototypes ``p^v``.

        Args:
            features (Tensor): ``[n, d, h, w]`` pixel features of the selected frames.
            fg (Tensor): ``[n, H, W]`` float foreground of the same frames (at least one pixel each).

        Returns:
            Tensor: ``[n, d]``: :func:`masked_average_pool` over ``fg`` (``'map'``) or the plain mean over
            all pixels (``'mean'``).
        """
        if self.visual_prototype == 'mean':
            return features.mean(dim=(2, 3))
        return masked_average_pool(features, fg)

    def affinity(self, gt_masks: Tensor, pixel_valid: Tensor, frame_index: Tensor, num_classes: int,
                 data_samples: Sequence, frames_per_clip: int) -> Tensor:
        """Semantic affinity ``[n, n]`` of the selected frames (see the class docstring).

        Args:
            gt_masks (Tensor): ``[n, H, W]`` GT of the selected frames.
            pixel_valid (Tensor): Bool ``[n, H, W]``, pixels that are not ignored.
            frame_index (Tensor): ``[n]`` indices of the selected frames in ``0..N-1``.
            num_classes (int): Output channels ``C``.
            data_samples (Sequence[AVSDataSample]): The batch (metainfo ``category``).
            frames_per_clip (int): ``T``.
        """
        n = gt_masks.shape[0]
        eye = torch.eye(n, device=gt_masks.device)
        if not self.semantic_targets:
            return eye
        if num_classes == 1:
            categories = [sample.metainfo.get('category', None) for sample in data_samples]
            if any(c is None for c in categories):
                # no labels (MS3): within a clip, frames are as similar as their sounding regions overlap
                clip_of_frame = frame_index // frames_per_clip
                same_clip = (clip_of_frame[:, None] == clip_of_frame[None, :]).float()
                fg = ((gt_masks == 1) & pixel_valid).flatten(1).float()
                inter = fg @ fg.t()
                union = fg.sum(1)[:, None] + fg.sum(1)[None, :] - inter
                return same_clip * inter / union.clamp(min=1.)
            ids = {c: i for i, c in enumerate(sorted(set(categories)))}
            clip_ids = torch.tensor([ids[c] for c in categories], device=gt_masks.device)
            frame_ids = clip_ids[frame_index // frames_per_clip]
            return (frame_ids[:, None] == frame_ids[None, :]).float()
        index = torch.where(pixel_valid, gt_masks, torch.zeros_like(gt_masks)).flatten(1)
        hist = torch.zeros(n, num_classes, device=gt_masks.device)
        hist.scatter_add_(1, index, pixel_valid.flatten(1).float())
        if not self.histogram_background:
            hist[:, 0] = 0.
        hist = F.normalize(hist, dim=1)
        return (hist @ hist.t()).clamp(min=0.)

    # ----------------------------------------------------------------- loss
    @staticmethod
    def _zero(ref: Tensor, *modules: Optional[nn.Module]) -> Tensor:
        """Exact scalar zero connected to ``ref`` and to the parameters of ``modules``.

        Keeps the graph (and DDP's set of used parameters) the same whether or not a term can be formed.
        """
        zero = ref.sum() * 0.
        for module in modules:
            if module is not None:
                for param in module.parameters():
                    zero = zero + param.sum() * 0.
        return zero

    def forward(self, outputs: Dict[str, Tensor], data_samples: List) -> Dict[str, Tensor]:
        """Compute the CDCL terms.

        Args:
            outputs (dict): Decoder outputs: ``logits`` ``[N, C, h, w]`` (for ``C``), ``outputs[visual_key]``
                ``[N, d, h, w]``, ``audio_queries`` ``[N, Q, d]`` (or ``semantic`` ``[N, d]``), optional
                ``text_memory`` ``[N, M, d]`` and ``cf_audio_proto`` ``[N, K, d]``.
            data_samples (list[AVSDataSample]): One per clip, with ``gt_masks`` ``[T, H, W]``.

        Returns:
            dict[str, Tensor]: ``{prefix}_fcf``, ``{prefix}_va``, ``{prefix}_al``, ``{prefix}_vl``, weighted.
        """
        name = type(self).__name__
        features = require_output(name, outputs, self.visual_key)
        num_classes = int(require_output(name, outputs, 'logits').shape[1])
        if features.dim() != 4:
            raise ValueError(f'{name}: outputs[{self.visual_key!r}] must be [N, d, h, w], got {tuple(features.shape)}')
        n_all = features.shape[0]
        if self.audio_prototype == 'queries':
            audio = require_output(name, outputs, 'audio_queries').mean(dim=1)
        else:
            audio = require_output(name, outputs, 'semantic')
        text = outputs.get('text_memory', None)
        cf_audio = outputs.get('cf_audio_proto', None)
        if cf_audio is not None and (cf_audio.dim() != 3 or cf_audio.shape[0] != n_all):
            raise ValueError(f'{name}: cf_audio_proto must be [N, K, d] with N={n_all}, got {tuple(cf_audio.shape)}')

        gt = gather_gt(name, data_samples, n_all, features.device, self.ignore_index)
        fg = self.foreground(gt['gt_masks'], num_classes)
        selected = gt['gt_valid'] & (fg.flatten(1).sum(1) > 0)
        index = selected.nonzero(as_tuple=True)[0]
        keys = [f'{self.loss_prefix}_{k}' for k in ('fcf', 'va', 'al', 'vl')]
        if index.numel() == 0:
            zero = self._zero(features, self.visual_head, self.audio_head, self.text_head, self.cf_head)
            return {k: zero for k in keys}

        frames_per_clip = n_all // len(data_samples)
        gt_sel = gt['gt_masks'][index]
        affinity = self.affinity(gt_sel, gt_sel != self.ignore_index, index, num_classes, data_samples,
                                 frames_per_clip)
        v = F.normalize(self.visual_head(self.visual_prototypes(features[index], fg[index])), dim=-1)
        a = F.normalize(self.audio_head(audio[index]), dim=-1)
        tau = self.temperature
        losses: Dict[str, Tensor] = {}

        # factual-counterfactual: anchor v_i, positive a_i, negatives a_j (j != i) and a^cf_{i,k}
        logits = v @ a.t() / tau  # [n, n]
        if cf_audio is not None:
            cf_head = self.audio_head if self.cf_head is None else self.cf_head
            a_cf = F.normalize(cf_head(cf_audio[index]), dim=-1)  # [n, K, e]
            logits = torch.cat([logits, torch.einsum('ne,nke->nk', v, a_cf) / tau], dim=1)
        # targets: the frame's semantic neighbours in the batch (distribution-aware), never a counterfactual
        targets = affinity / affinity.sum(dim=1, keepdim=True)
        targets = torch.cat([targets, targets.new_zeros(targets.shape[0], logits.shape[1] - targets.shape[1])], 1)
        losses[keys[0]] = self.loss_weight * self.fcf_weight * soft_info_nce(logits, targets)

        losses[keys[1]] = self.loss_weight * self.inter_weights['va'] * symmetric_soft_info_nce(
            v, a, affinity, tau)
        if text is None:
            zero = self._zero(features, self.text_head)
            losses[keys[2]] = zero
            losses[keys[3]] = zero
        else:
            if text.dim() != 3 or text.shape[0] != n_all:
                raise ValueError(f'{name}: text_memory must be [N, M, d] with N={n_all}, got {tuple(text.shape)}')
            t = F.normalize(self.text_head(text[index].mean(dim=1)), dim=-1)
            losses[keys[2]] = self.loss_weight * self.inter_weights['al'] * symmetric_soft_info_nce(
                a, t, affinity, tau)
            losses[keys[3]] = self.loss_weight * self.inter_weights['vl'] * symmetric_soft_info_nce(
                v, t, affinity, tau)
        return losses
