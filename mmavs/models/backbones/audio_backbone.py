"""VGGish audio backbone: log-mel examples ``[.., 1, 96, 64]`` -> per-example embeddings."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmavs.models.utils.pretrained_init import pretrained_init_cfg
from mmavs.models.utils.tensor_store import module_digest
from mmavs.registry import MODELS

from .audio_cache import AudioEmbeddingCache

#: Official VGGish sizes (torchvggish): conv widths and embedding MLP widths.
VGGISH_CHANNELS = (64, 128, 256, 256, 512, 512)
VGGISH_EMBED_DIMS = (4096, 4096, 128)
# Max-pool after the 1st, 2nd, 4th and 6th conv: 96x64 -> 6x4.
_POOL_AFTER = (0, 1, 3, 5)
_INPUT_HW = (96, 64)
_FEATURE_HW = (6, 4)


@MODELS.register_module()
class AudioBackbone(BaseModule):
    """VGGish (torchvggish layout) with an optional linear projection of its embeddings.

    ``features`` and ``embeddings`` are ``nn.Sequential`` modules with exactly the torchvggish indices, so
    the official ``vggish-10086976.pth`` state dict (keys ``features.{0,3,6,8,11,13}.{weight,bias}`` and
    ``embeddings.{0,2,4}.{weight,bias}``) loads into this module directly (only ``proj.*`` is extra):

    - ``features``: conv3x3(c0)-ReLU, pool, conv(c1)-ReLU, pool, conv(c2)-ReLU, conv(c3)-ReLU, pool,
      conv(c4)-ReLU, conv(c5)-ReLU, pool; all convs with padding 1, pools 2x2 stride 2.
    - The ``[N, c5, 6, 4]`` feature map is flattened in **NHWC** order (as the TensorFlow original and
      torchvggish do), i.e. flat index ``(h * 4 + w) * c5 + c``.
    - ``embeddings``: Linear(c5 * 24, e0)-ReLU, Linear(e0, e1)-ReLU, Linear(e1, e2)-ReLU.
    - ``proj`` (when ``out_channels`` is set): Linear(e2, out_channels), no activation.

    PCA post-processing of the reference is not applied (AVSBench keeps it off).

    Args:
        out_channels (int, optional): Output width of the projection; None gives the ``e2``-d VGGish
            embeddings without projection. Defaults to 256.
        frozen (bool): Freeze ``features`` and ``embeddings``: their parameters get
            ``requires_grad=False``, they stay in eval mode under ``train()`` and run without autograd.
            The projection stays trainable. Defaults to True.
        channels (Sequence[int]): The six conv widths. Defaults to the official (64, 128, 256, 256, 512,
            512); smaller values build a tiny VGGish for CPU tests.
        embed_dims (Sequence[int]): The three embedding MLP widths. Defaults to (4096, 4096, 128).
        embed_norm_cfg (dict, optional): A norm layer (mmcv ``build_norm_layer``, e.g.
            ``dict(type='BN1d')``) on the VGGish embedding before the projection. A randomly initialised
            VGGish maps every clip to nearly the same embedding (the log-mel's common part dominates:
            clip-to-clip differences are <1% of the embedding's norm), which starves the audio branch of
            gradient when training from scratch; batch normalisation restores the differences. Off by
            default: the pretrained VGGish embedding is used as is.
        cache_root (str, optional): Folder of an on-disk cache of the frozen VGGish embeddings
            (:class:`~mmavs.models.backbones.audio_cache.AudioEmbeddingCache`, keyed by the weights and by each
            clip's log-mel examples): each sound is embedded once, later epochs read the cache. Needs
            ``frozen=True`` and clip input ``[B, T, 1, 96, 64]`` (4-D input is embedded as one-example clips).
            Dropped when the weights change (``init_weights``, ``load_state_dict``). Defaults to None.
        init_cfg (dict | list[dict], optional): MMEngine init config, e.g.
            ``dict(type='Pretrained', checkpoint='pretrained/vggish-10086976.pth')`` (the official torchvggish
            file; loaded strictly by :class:`~mmavs.models.utils.AVSPretrainedInit`, ``proj`` /
            ``embed_norm`` keep their initialisation; see ``docs/model_zoo.md``).

    Shapes:
        - Input: ``[N, 1, 96, 64]`` or ``[B, T, 1, 96, 64]`` log-mel examples.
        - Output: ``[N, C]`` or ``[B, T, C]``, ``C = out_channels`` (or ``embed_dims[-1]`` without
          projection).
    """

    #: Official checkpoint kind taken by ``init_cfg=dict(type='Pretrained', ...)`` (see
    #: :mod:`mmavs.models.utils.pretrained_init`).
    pretrained_kind = 'vggish'

    def __init__(self,
                 out_channels: Optional[int] = 256,
                 frozen: bool = True,
                 channels: Sequence[int] = VGGISH_CHANNELS,
                 embed_dims: Sequence[int] = VGGISH_EMBED_DIMS,
                 embed_norm_cfg: Optional[dict] = None,
                 cache_root: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=pretrained_init_cfg(init_cfg))
        if cache_root is not None and not frozen:
            raise ValueError('AudioBackbone: cache_root caches the embeddings of a frozen VGGish; with frozen=False '
                             'they change at every step. Set frozen=True or cache_root=None')
        self.cache_root = None if cache_root is None else str(cache_root)
        self._cache: Optional[AudioEmbeddingCache] = None
        channels, embed_dims = tuple(channels), tuple(embed_dims)
        if len(channels) != 6:
            raise ValueError(f'AudioBackbone: channels must have 6 entries, got {channels}.')
        if len(embed_dims) != 3:
            raise ValueError(f'AudioBackbone: embed_dims must have 3 entries, got {embed_dims}.')
        self.channels, self.embed_dims = channels, embed_dims
        self.out_channels = out_channels
        self.frozen = frozen

        layers: List[nn.Module] = []
        in_channels = 1
        for i, width in enumerate(channels):
            layers += [nn.Conv2d(in_channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            if i in _POOL_AFTER:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            in_channels = width
        self.features = nn.Sequential(*layers)
        flat = channels[-1] * _FEATURE_HW[0] * _FEATURE_HW[1]
        self.embeddings = nn.Sequential(
            nn.Linear(flat, embed_dims[0]), nn.ReLU(inplace=True),
            nn.Linear(embed_dims[0], embed_dims[1]), nn.ReLU(inplace=True),
            nn.Linear(embed_dims[1], embed_dims[2]), nn.ReLU(inplace=True))
        self.embed_norm = build_norm_layer(embed_norm_cfg, embed_dims[2])[1] \
            if embed_norm_cfg is not None else None
        self.proj = nn.Linear(embed_dims[2], out_channels) if out_channels is not None else None

        if frozen:
            for module in (self.features, self.embeddings):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False
        self.register_load_state_dict_post_hook(_clear_cache_after_load)

    def cache_key(self) -> str:
        """Identity of the VGGish weights for the embedding cache: ``'vggish-' + sha256[:16]`` of its sizes and the
        ``features`` / ``embeddings`` tensors."""
        vggish = torch.nn.ModuleDict(dict(features=self.features, embeddings=self.embeddings))
        return 'vggish-' + module_digest(vggish, dict(channels=self.channels, embed_dims=self.embed_dims))[:16]

    @property
    def cache(self) -> Optional[AudioEmbeddingCache]:
        """The embedding cache (built on first use, for the current weights), or None without ``cache_root``."""
        if self.cache_root is not None and self._cache is None:
            self._cache = AudioEmbeddingCache(self.cache_root, self.cache_key())
        return self._cache

    def clear_cache(self) -> None:
        """Forget the cache object (the weights changed; the next use keys a new one)."""
        self._cache = None

    def init_weights(self) -> None:
        """Initialise (MMEngine) and drop the cache made with the previous weights."""
        super().init_weights()
        self.clear_cache()

    @property
    def embed_channels(self) -> int:
        """Width of the output (``out_channels``, or the VGGish embedding width without projection)."""
        return self.out_channels if self.out_channels is not None else self.embed_dims[-1]

    def train(self, mode: bool = True) -> 'AudioBackbone':
        """Set train / eval mode; a frozen VGGish always stays in eval mode."""
        super().train(mode)
        if self.frozen:
            self.features.eval()
            self.embeddings.eval()
        return self

    def vggish(self, x: torch.Tensor) -> torch.Tensor:
        """Run VGGish (no projection).

        Args:
            x (torch.Tensor): ``[N, 1, 96, 64]`` log-mel examples.

        Returns:
            torch.Tensor: ``[N, embed_dims[-1]]`` embeddings.
        """
        feat = self.features(x)  # [N, C, 6, 4]
        feat = feat.permute(0, 2, 3, 1).flatten(1)  # NHWC flatten, as TF / torchvggish
        return self.embeddings(feat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed log-mel examples.

        Args:
            x (torch.Tensor): ``[N, 1, 96, 64]`` or ``[B, T, 1, 96, 64]``.

        Returns:
            torch.Tensor: ``[N, C]`` or ``[B, T, C]`` with ``C = self.embed_channels``.
        """
        if x.dim() not in (4, 5) or tuple(x.shape[-3:]) != (1, ) + _INPUT_HW:
            raise ValueError(f'AudioBackbone expects [N, 1, 96, 64] or [B, T, 1, 96, 64] log-mel input, '
                             f'got shape {tuple(x.shape)}.')
        lead = x.shape[:-3]
        if self.cache is not None:
            clips = x if x.dim() == 5 else x[:, None]
            with torch.no_grad():
                out = self.cache.get_or_compute(clips, self.vggish).flatten(0, 1)
        elif self.frozen:
            with torch.no_grad():
                out = self.vggish(x.reshape(-1, 1, *_INPUT_HW))
        else:
            out = self.vggish(x.reshape(-1, 1, *_INPUT_HW))
        if self.embed_norm is not None:
            out = self.embed_norm(out)
        if self.proj is not None:
            out = self.proj(out)
        return out.reshape(*lead, out.shape[-1])


def _clear_cache_after_load(module: AudioBackbone, incompatible_keys: object) -> None:
    """``load_state_dict`` post hook: the VGGish weights may have changed, drop the cache made with the old ones."""
    module.clear_cache()
