# Ablation (M3, tiny): full ICF whose SC branch also uses the semantics of 2 other clips of the batch as
# counterfactuals (real other sounds next to the K generated latents; CounterfactualDecoder step 5, docs/icf.md).
_base_ = ['../icl_tiny_synthetic_m3.py']
model = dict(decoder=dict(batch_counterfactuals=2))
