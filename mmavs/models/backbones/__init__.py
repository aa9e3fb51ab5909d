"""Audio and visual backbones (and the frozen VGGish embedding cache)."""
from .audio_backbone import AudioBackbone
from .audio_cache import AudioEmbeddingCache
from .visual_backbone import VisualBackbone

__all__ = ['AudioBackbone', 'AudioEmbeddingCache', 'VisualBackbone']
