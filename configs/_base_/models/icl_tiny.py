# Small ICF for CPU runs: the tiny baseline's sizes (ResNet-18, trainable small VGGish, d=64, 2 decoder layers,
# 8 queries) plus MIT with a tiny randomly initialised CLIP-layout text tower (width 64, 2 layers, 4 heads,
# CLIP BPE vocabulary 49408), k^t=4, K=2 counterfactuals, and the paper's loss weights (CDCL temperature 0.5).
_base_ = ['./baseline_tiny.py']
model = dict(
    type='ICFSegmentor',
    decoder=dict(
        type='CounterfactualDecoder',
        sc=True,
        num_counterfactuals=2,
        latent_dims=32),
    text_encoder=dict(
        type='CLIPCaptionEncoder',
        width=64,
        layers=2,
        heads=4,
        vocab_size=49408,
        context_length=77,
        embed_dim=64,
        frozen=True),
    text_resampler=dict(type='TextResampler', num_slots=4, num_heads=4, num_layers=1),
    text_cache_root=None,
    granularity_embed=True,
    sc_losses=[
        dict(type='CounterfactualEffectLoss', loss_weight=0.2, effect='rectified'),  # see docs/icf.md
        dict(type='OrthogonalityLoss', loss_weight=1.0),
        dict(type='LatentLoss', loss_weight=0.8),
    ],
    cdcl_loss=dict(
        type='CDCLLoss',
        proj_channels=32,
        loss_weight=0.2,
        inter_weights=dict(va=0.4, al=0.3, vl=0.3),
        # 0.5, not the 0.07 of the paper-scale configs: at 0.07 the contrastive gradients of this from-scratch
        # model are 2-6x the segmentation gradients on the backbones (tools/analysis_tools/loss_gradients.py)
        # and +CDCL lost J on the generated M3 set (docs/icf.md)
        temperature=0.5,
        visual_prototype='map'))
