# Ablation (M3, tiny): full ICF whose VAE encoder reads the semantics detached (CounterfactualDecoder
# detach_semantic=True): L_z then cannot move the factual semantics (docs/icf.md).
_base_ = ['../icl_tiny_synthetic_m3.py']
model = dict(decoder=dict(detach_semantic=True))
