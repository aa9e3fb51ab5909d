# Small ICF for CPU runs: the tiny baseline's sizes (ResNet-18, trainable small VGGish, d=64, 2 decoder layers,
# 8 queries) plus MIT with a tiny randomly initialised CLIP-layout text tower (width 64, 2 layers, 4 heads,
# CLIP BPE vocabulary 49408), k^t=4, K=2 counterfactuals, and the paper's loss weights (CDCL temperature 0.5).
_base_ = ['./icl_pvt.py', './tiny_sizes.py']
model = dict(
    _base_.tiny_model,
    decoder=dict(_base_.tiny_model['decoder'], num_counterfactuals=2, latent_dims=32),
    text_encoder=dict(width=64, layers=2, heads=4, embed_dim=64, init_cfg=None),
    text_resampler=dict(num_slots=4, num_heads=4),
    cdcl_loss=dict(
        proj_channels=32,
        # 0.5, not the 0.07 of the paper-scale configs: at 0.07 the contrastive gradients of this from-scratch
        # model are 2-6x the segmentation gradients on the backbones (tools/analysis_tools/loss_gradients.py)
        # and +CDCL lost J on the generated M3 set (docs/icf.md)
        temperature=0.5))
