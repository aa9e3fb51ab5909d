# Ablation (M3, tiny): full ICF without SC = MIT + CDCL (CDCL negatives from the batch: no counterfactuals).
_base_ = ['../icl_tiny_synthetic_m3.py']
model = dict(decoder=dict(sc=False), sc_losses=[])
