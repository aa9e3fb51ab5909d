# Ablation (M3, tiny): full ICF without CDCL = MIT + SC.
_base_ = ['../icl_tiny_synthetic_m3.py']
model = dict(cdcl_loss=None)
