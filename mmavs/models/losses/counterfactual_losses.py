"""Losses of the semantic counterfactual (SC) branch of ICF (docs/icf.md, M5).

All losses here share one call signature, so that a segmentor can run them in a loop::

    losses.update(loss_module(outputs, data_samples))

where ``outputs`` is the dict returned by :class:`mmavs.models.decoders.CounterfactualDecoder` in training
(``N = B*T`` frames, frames of a clip consecutive, clip order = order of ``data_samples``) and
``data_samples`` the batch's list of :class:`mmavs.structures.AVSDataSample`. Each returns a dict of
already-weighted scalar losses whose keys start with ``loss_`` (MMEngine sums them).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmavs.registry import MODELS
from mmavs.structures import frame_ground_truth, stack_frame_field

from .cross_entropy_loss import AVSBCELoss, AVSCrossEntropyLoss
from .dice_loss import AVSDiceLoss, AVSSoftmaxDiceLoss, _dice_per_frame
from .utils import check_weight


# --------------------------------------------------------------------------- helpers
def require_output(owner: str, outputs: Dict[str, Tensor], key: str) -> Tensor:
    """Fetch ``outputs[key]``; raise KeyError naming the key when the decoder did not produce it."""
    if not isinstance(outputs, dict):
        raise TypeError(f'{owner}: outputs must be the decoder output dict, got {type(outputs).__name__}')
    value = outputs.get(key, None)
    if value is None:
        raise KeyError(f'{owner}: decoder outputs lack {key!r} (run the CounterfactualDecoder in training '
                       f'mode with sc=True); available keys: {sorted(outputs)}')
    return value


def gather_gt(owner: str, data_samples: Sequence, num_frames_total: int, device: torch.device,
              ignore_index: int = 255) -> Dict[str, Tensor]:
    """Frame-level ground truth of a batch (:func:`mmavs.structures.frame_ground_truth` plus real frames).

    Args:
        owner (str): Name used in error messages.
        data_samples (Sequence[AVSDataSample]): With ``gt_masks`` ``[T, H, W]`` and optionally ``gt_flags``
            and ``frame_flags`` ``[T]``.
        num_frames_total (int): Expected ``N = B*T``.
        device (torch.device): Output device.
        ignore_index (int): Value of pixels without ground truth.

    Returns:
        dict[str, Tensor]: ``gt_masks`` Long ``[N, H, W]``, ``gt_valid`` Bool ``[N]`` (``gt_flags``; without
        them, frames whose mask is not all ``ignore_index``; and only real frames), ``frame_valid`` Bool
        ``[N]`` (``frame_flags``, all True without them).
    """
    if not data_samples:
        raise ValueError(f'{owner}: data_samples must be a non-empty list of AVSDataSample')
    gt_masks, gt_valid = frame_ground_truth(owner, data_samples, num_frames_total, device, ignore_index)
    frame_flags = stack_frame_field(data_samples, 'frame_flags', owner)
    if frame_flags is None:
        frame_valid = torch.ones(num_frames_total, dtype=torch.bool, device=device)
    else:
        frame_valid = frame_flags.to(device=device, dtype=torch.bool).reshape(-1)
    return dict(gt_masks=gt_masks, gt_valid=gt_valid & frame_valid, frame_valid=frame_valid)


def frame_flags_of(data_samples: Optional[Sequence], num_frames_total: int, device: torch.device) -> Tensor:
    """Bool ``[N]`` real-frame flags (``frame_flags`` of the samples; all True without them)."""
    flags = stack_frame_field(data_samples, 'frame_flags')
    if flags is None:
        return torch.ones(num_frames_total, dtype=torch.bool, device=device)
    flags = flags.to(device=device, dtype=torch.bool).reshape(-1)
    if flags.numel() != num_frames_total:
        raise ValueError(f'frame_flags give {flags.numel()} frames for {num_frames_total} decoded frames')
    return flags


# --------------------------------------------------------------------------- losses
@MODELS.register_module()
class CounterfactualEffectLoss(nn.Module):
    """``L_cf``: the counterfactual effect must itself segment the ground truth.

    The *effect* of the frame's semantics is the prediction with them minus the mean prediction with the
    ``K`` counterfactual semantics on the same visual input (``outputs['logits']`` ``[N, C, h, w]`` and
    ``outputs['cf_logits']`` ``[N, K, C, h, w]``). It is scored on the frames with ground truth (``gt_flags``
    and real), pixels equal to ``ignore_index`` ignored, resized bilinearly to ``gt_masks``' size. Two forms:

    - ``effect='logit'`` (docs/icf.md M5 read literally): effect logits ``e = y_f - mean_k y_cf^k``;
      ``BCE + Dice`` (``C = 1``) or ``CE + softmax Dice`` (``C > 1``) of ``e``. Note what this asks on
      background pixels: ``e << 0``, i.e. the counterfactual prediction must be *foreground* wherever the
      ground truth is background; the shared mask head is trained to output the inverse mask for
      counterfactual semantics, which competes with the factual prediction.
    - ``effect='rectified'`` (default): effect on the foreground probability
      ``delta = p_f - mean_k p_cf^k`` in ``[-1, 1]`` (``p = sigmoid`` for ``C = 1``; ``1 - softmax_0``, the
      probability of any sounding class, for ``C > 1``). Foreground pixels must have a full positive effect
      (term ``1 - delta``: the real semantics switch the object on, counterfactual ones do not); background
      pixels only must not have a positive one (term ``relu(delta)``: with both predictions off the effect
      is 0 and nothing is asked of the counterfactual). Loss = the mean of these pixel terms (frame-wise,
      averaged over frames) ``+`` the Dice loss of ``relu(delta)`` against the foreground.
      ``empty_frame_dice=False`` leaves frames without foreground (nothing sounds) out of the Dice mean: there
      the Dice of an empty target is ``S / (S + smooth)`` with ``S = sum relu(delta)``, whose gradient per pixel
      is about 1 near ``S = 0`` (the pixel term's is ``1 / (h w)``), so that term alone asks every pixel of a
      silent frame, with great force, to have no positive effect (see ``docs/icf.md``). The pixel term still
      covers those frames.

    With ``detach_counterfactual=True`` the counterfactual predictions enter the effect as constants: the
    loss then moves only the factual prediction.

    Args:
        loss_weight (float): ``lambda_cf``. Defaults to 0.2 (paper).
        loss_name (str): Key of the returned loss. Defaults to ``'loss_cf'``.
        ignore_index (int): Ignored target value. Defaults to 255.
        effect (str): ``'rectified'`` or ``'logit'``. Defaults to ``'rectified'``.
        detach_counterfactual (bool): Stop the gradient through ``y_cf``. Defaults to False.
        smooth (float): Smoothing term of the rectified Dice. Defaults to 1.0.
        empty_frame_dice (bool): Include frames with an empty ground truth in the rectified Dice mean
            (``effect='rectified'`` only). Defaults to True.
    """

    EFFECTS = ('rectified', 'logit')

    def __init__(self, loss_weight: float = 0.2, loss_name: str = 'loss_cf', ignore_index: int = 255,
                 effect: str = 'rectified', detach_counterfactual: bool = False, smooth: float = 1.0,
                 empty_frame_dice: bool = True) -> None:
        super().__init__()
        if effect not in self.EFFECTS:
            raise ValueError(f'CounterfactualEffectLoss: effect must be one of {self.EFFECTS}, got {effect!r}')
        if not isinstance(empty_frame_dice, bool):
            raise ValueError(f'CounterfactualEffectLoss: empty_frame_dice must be a bool, got {empty_frame_dice!r}')
        if effect != 'rectified' and not empty_frame_dice:
            raise ValueError("CounterfactualEffectLoss: empty_frame_dice=False needs effect='rectified' (the 'logit' "
                             'form uses the AVSBench Dice on every frame)')
        self.empty_frame_dice = empty_frame_dice
        if not isinstance(detach_counterfactual, bool):
            raise ValueError(f'CounterfactualEffectLoss: detach_counterfactual must be a bool, '
                             f'got {detach_counterfactual!r}')
        self.effect = effect
        self.detach_counterfactual = detach_counterfactual
        self.smooth = float(smooth)
        self.loss_weight = check_weight(type(self).__name__, 'loss_weight', loss_weight)
        if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
            raise ValueError(f'CounterfactualEffectLoss: loss_name must start with "loss_", got {loss_name!r}')
        self.loss_name = loss_name
        self.ignore_index = int(ignore_index)
        self.binary_terms = nn.ModuleList([AVSBCELoss(ignore_index=ignore_index),
                                           AVSDiceLoss(ignore_index=ignore_index)])
        self.multi_class_terms = nn.ModuleList([AVSCrossEntropyLoss(ignore_index=ignore_index),
                                                AVSSoftmaxDiceLoss(ignore_index=ignore_index)])

    @staticmethod
    def _check_shapes(logits: Tensor, cf_logits: Tensor) -> None:
        if cf_logits.dim() != 5 or cf_logits.shape[0] != logits.shape[0] or cf_logits.shape[2:] != logits.shape[1:]:
            raise ValueError(f'CounterfactualEffectLoss: cf_logits must be [N, K, C, h, w] matching logits '
                             f'{tuple(logits.shape)}, got {tuple(cf_logits.shape)}')

    @classmethod
    def effect_logits(cls, logits: Tensor, cf_logits: Tensor) -> Tensor:
        """``y_f - mean_k y_cf^k``: ``[N, C, h, w]`` and ``[N, K, C, h, w]`` -> ``[N, C, h, w]``."""
        cls._check_shapes(logits, cf_logits)
        return logits - cf_logits.mean(dim=1)

    @classmethod
    def foreground_effect(cls, logits: Tensor, cf_logits: Tensor) -> Tensor:
        """``delta = p_f - mean_k p_cf^k`` of the foreground probability: ``[N, 1, h, w]`` in ``[-1, 1]``."""
        cls._check_shapes(logits, cf_logits)

        def foreground(x: Tensor, dim: int) -> Tensor:
            if x.shape[dim] == 1:
                return x.sigmoid()
            return 1. - x.softmax(dim=dim).narrow(dim, 0, 1)

        return foreground(logits, 1) - foreground(cf_logits, 2).mean(dim=1)

    def rectified_loss(self, delta: Tensor, gt_masks: Tensor) -> Tensor:
        """Unweighted rectified effect loss of ``delta`` ``[F, 1, H, W]`` against ``gt_masks`` ``[F, H, W]``."""
        valid = (gt_masks != self.ignore_index).to(delta.dtype)
        fg = ((gt_masks != 0) & (gt_masks != self.ignore_index)).to(delta.dtype)
        delta = delta[:, 0]
        positive = delta.clamp(min=0.)
        pixel = fg * (1. - delta) + (1. - fg) * positive
        count = valid.flatten(1).sum(1)
        keep = count > 0
        if not bool(keep.any()):
            return delta.sum() * 0.
        pixel_term = ((pixel * valid).flatten(1).sum(1)[keep] / count[keep]).mean()
        dice = _dice_per_frame(positive, fg, valid, self.smooth)
        if not self.empty_frame_dice:
            keep = keep & (fg.flatten(1).sum(1) > 0)
            if not bool(keep.any()):
                return pixel_term + dice.sum() * 0.
        return pixel_term + dice[keep].mean()

    def forward(self, outputs: Dict[str, Tensor], data_samples: List) -> Dict[str, Tensor]:
        """Compute ``L_cf``.

        Args:
            outputs (dict): Decoder outputs with ``logits`` ``[N, C, h, w]`` and ``cf_logits``
                ``[N, K, C, h, w]``.
            data_samples (list[AVSDataSample]): With ``gt_masks`` ``[T, H, W]`` (``gt_flags`` /
                ``frame_flags`` ``[T]`` optional).

        Returns:
            dict[str, Tensor]: ``{loss_name: loss_weight * L_cf}`` (an exact zero keeping the graph when no
            frame has ground truth).
        """
        name = type(self).__name__
        logits = require_output(name, outputs, 'logits')
        cf_logits = require_output(name, outputs, 'cf_logits')
        if self.detach_counterfactual:
            cf_logits = cf_logits.detach()
        if self.effect == 'logit':
            effect = self.effect_logits(logits, cf_logits)
        else:
            effect = self.foreground_effect(logits, cf_logits)
        gt = gather_gt(name, data_samples, effect.shape[0], effect.device, self.ignore_index)
        size = tuple(gt['gt_masks'].shape[-2:])
        if tuple(effect.shape[-2:]) != size:
            effect = F.interpolate(effect, size=size, mode='bilinear', align_corners=False)
        if self.effect == 'logit':
            terms = self.binary_terms if effect.shape[1] == 1 else self.multi_class_terms
            loss = sum(term(effect, gt['gt_masks'], gt['gt_valid']) for term in terms)
        elif bool(gt['gt_valid'].any()):
            loss = self.rectified_loss(effect[gt['gt_valid']], gt['gt_masks'][gt['gt_valid']])
        else:
            loss = effect.sum() * 0.
        return {self.loss_name: self.loss_weight * loss}


def _cos2(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Squared cosine similarity along the last dim (broadcasting)."""
    return F.cosine_similarity(a, b, dim=-1, eps=eps).pow(2)


@MODELS.register_module()
class OrthogonalityLoss(nn.Module):
    """``L_ortho = mean_k cos^2(z, z_cf^k) + mean_{k != l} cos^2(z_cf^k, z_cf^l)``.

    Both means run over the real frames (``frame_flags``; all frames without them) as well; the second term
    is over ordered pairs ``k != l`` and is 0 for ``K = 1``. Orthogonal latents give 0; ``z_cf^k = z`` for all
    ``k`` gives 2.

    Args:
        loss_weight (float): ``lambda_ortho``. Defaults to 1.0 (paper).
        loss_name (str): Key of the returned loss. Defaults to ``'loss_ortho'``.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_ortho') -> None:
        super().__init__()
        self.loss_weight = check_weight(type(self).__name__, 'loss_weight', loss_weight)
        if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
            raise ValueError(f'OrthogonalityLoss: loss_name must start with "loss_", got {loss_name!r}')
        self.loss_name = loss_name

    @staticmethod
    def compute(z: Tensor, z_cf: Tensor) -> Tensor:
        """Unweighted loss of ``z`` ``[N, dz]`` and ``z_cf`` ``[N, K, dz]`` (``N >= 1``)."""
        fact = _cos2(z[:, None, :], z_cf).mean()
        k = z_cf.shape[1]
        if k < 2:
            return fact
        pair = _cos2(z_cf[:, :, None, :], z_cf[:, None, :, :])  # [N, K, K]
        off_diag = ~torch.eye(k, dtype=torch.bool, device=z.device)
        return fact + pair[:, off_diag].mean()

    def forward(self, outputs: Dict[str, Tensor], data_samples: Optional[List] = None) -> Dict[str, Tensor]:
        """Compute ``L_ortho``.

        Args:
            outputs (dict): Decoder outputs with ``z`` ``[N, dz]`` and ``z_cf`` ``[N, K, dz]``.
            data_samples (list[AVSDataSample], optional): ``frame_flags`` select the real frames.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss_weight * L_ortho}``.
        """
        name = type(self).__name__
        z, z_cf = require_output(name, outputs, 'z'), require_output(name, outputs, 'z_cf')
        if z_cf.dim() != 3 or z.dim() != 2 or z_cf.shape[0] != z.shape[0] or z_cf.shape[2] != z.shape[1]:
            raise ValueError(f'{name}: z must be [N, dz] and z_cf [N, K, dz], got {tuple(z.shape)} and '
                             f'{tuple(z_cf.shape)}')
        keep = frame_flags_of(data_samples, z.shape[0], z.device)
        if not bool(keep.any()):
            return {self.loss_name: (z.sum() + z_cf.sum()) * 0.}
        return {self.loss_name: self.loss_weight * self.compute(z[keep], z_cf[keep])}


@MODELS.register_module()
class LatentLoss(nn.Module):
    """``L_z = MSE(s_recon, s) + kl_weight * KL(N(mu, sigma^2) || N(0, I))`` of the SC latent.

    - Reconstruction: mean squared error over frames and the ``d`` semantic channels. The target ``s``
      (``outputs['semantic']``) is detached by default so the reconstruction trains the latent auto-encoder
      and does not pull the decoder's semantics towards the reconstruction.
    - KL: ``-1/2 (1 + logvar - mu^2 - exp(logvar))`` averaged over frames *and* latent channels (a per-channel
      mean rather than the usual per-sample sum, so that both terms are per-element means and
      ``kl_weight = 1`` balances them independently of ``dz``).

    Both are averaged over the real frames (``frame_flags``). The two terms are returned as separate,
    already-weighted entries ``{loss_name}_recon`` and ``{loss_name}_kl`` (their sum is ``loss_weight * L_z``).

    Args:
        loss_weight (float): ``lambda_z``. Defaults to 0.8 (paper).
        kl_weight (float): Weight of the KL term inside ``L_z``. Defaults to 1.0.
        detach_target (bool): Detach ``s`` in the reconstruction term. Defaults to True.
        loss_name (str): Key prefix. Defaults to ``'loss_z'``.
    """

    def __init__(self,
                 loss_weight: float = 0.8,
                 kl_weight: float = 1.0,
                 detach_target: bool = True,
                 loss_name: str = 'loss_z') -> None:
        super().__init__()
        self.loss_weight = check_weight(type(self).__name__, 'loss_weight', loss_weight)
        self.kl_weight = check_weight(type(self).__name__, 'kl_weight', kl_weight)
        if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
            raise ValueError(f'LatentLoss: loss_name must start with "loss_", got {loss_name!r}')
        self.detach_target = bool(detach_target)
        self.loss_name = loss_name

    @staticmethod
    def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
        """Mean over all elements of the KL of ``N(mu, exp(logvar))`` from ``N(0, 1)`` (``[N, dz]`` each)."""
        return (-0.5 * (1. + logvar - mu.pow(2) - logvar.exp())).mean()

    def forward(self, outputs: Dict[str, Tensor], data_samples: Optional[List] = None) -> Dict[str, Tensor]:
        """Compute ``L_z``.

        Args:
            outputs (dict): Decoder outputs with ``semantic`` / ``s_recon`` ``[N, d]`` and ``mu`` / ``logvar``
                ``[N, dz]``.
            data_samples (list[AVSDataSample], optional): ``frame_flags`` select the real frames.

        Returns:
            dict[str, Tensor]: ``{loss_name}_recon`` and ``{loss_name}_kl``, each multiplied by
            ``loss_weight`` (the KL also by ``kl_weight``).
        """
        name = type(self).__name__
        semantic = require_output(name, outputs, 'semantic')
        recon = require_output(name, outputs, 's_recon')
        mu, logvar = require_output(name, outputs, 'mu'), require_output(name, outputs, 'logvar')
        if recon.shape != semantic.shape or mu.shape != logvar.shape or mu.shape[0] != semantic.shape[0]:
            raise ValueError(f'{name}: s_recon {tuple(recon.shape)} must match semantic {tuple(semantic.shape)} '
                             f'and mu {tuple(mu.shape)} logvar {tuple(logvar.shape)} must match with N rows')
        keep = frame_flags_of(data_samples, semantic.shape[0], semantic.device)
        if not bool(keep.any()):
            zero = (recon.sum() + mu.sum() + logvar.sum()) * 0.
            return {f'{self.loss_name}_recon': zero, f'{self.loss_name}_kl': zero}
        target = semantic.detach() if self.detach_target else semantic
        rec = F.mse_loss(recon[keep], target[keep])
        kl = self.kl_divergence(mu[keep], logvar[keep])
        return {
            f'{self.loss_name}_recon': self.loss_weight * rec,
            f'{self.loss_name}_kl': self.loss_weight * self.kl_weight * kl
        }
