"""Layers shared by the decoders and the text resampler."""
from .attention import FastMultiheadAttention

__all__ = ['FastMultiheadAttention']
