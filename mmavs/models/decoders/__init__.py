"""Query decoders."""
from .av_query_decoder import AVQueryDecoder, AVQueryDecoderLayer
from .counterfactual_decoder import CounterfactualDecoder
from .utils import MLP, ChannelCrossAttention, sine_positional_encoding_1d, sine_positional_encoding_2d

__all__ = [
    'AVQueryDecoder', 'AVQueryDecoderLayer', 'CounterfactualDecoder', 'ChannelCrossAttention', 'MLP',
    'sine_positional_encoding_1d',
    'sine_positional_encoding_2d'
]
