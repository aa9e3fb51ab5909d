"""Text branch of MIT: frozen CLIP caption encoder, on-disk embedding cache and the k^t-slot resampler."""
from .clip_text_encoder import (
                                CLIP_CONTEXT_LENGTH,
                                CLIP_VOCAB_SIZE,
                                EOT_TOKEN_ID,
                                SOT_TOKEN_ID,
                                CLIPCaptionEncoder,
                                TextEncoderOutput,
                                tokenize_captions,
)
from .resampler import ALTERNATIVE_NUM_SLOTS, DEFAULT_NUM_SLOTS, TextResampler
from .text_cache import TextEmbeddingCache, collate_text_entries

__all__ = [
    'CLIPCaptionEncoder', 'TextEncoderOutput', 'tokenize_captions', 'CLIP_VOCAB_SIZE', 'CLIP_CONTEXT_LENGTH',
    'SOT_TOKEN_ID', 'EOT_TOKEN_ID', 'TextEmbeddingCache', 'collate_text_entries', 'TextResampler',
    'DEFAULT_NUM_SLOTS', 'ALTERNATIVE_NUM_SLOTS'
]
