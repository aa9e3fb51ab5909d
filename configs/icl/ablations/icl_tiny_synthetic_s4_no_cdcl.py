# Ablation (S4, tiny): ICF without CDCL = MIT + SC; the t-SNE comparison of tools/analysis_tools/tsne.py.
_base_ = ['../icl_tiny_synthetic_s4.py']
model = dict(cdcl_loss=None)
