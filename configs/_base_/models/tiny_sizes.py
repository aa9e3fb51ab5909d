# Sizes of the small CPU models: ResNet-18, a scaled-down trainable VGGish with batch-normalised embeddings,
# d=64, 2 decoder layers, 8 queries, no pretrained weights. A model config merges them
# (`model = _base_.tiny_model`).
tiny_model = dict(
    audio_backbone=dict(
        frozen=False,
        channels=(16, 32, 64, 64, 64, 64),
        embed_dims=(256, 256, 128),
        embed_norm_cfg=dict(type='BN1d'),
        out_channels=64,
        init_cfg=None),
    visual_backbone=dict(_delete_=True, type='VisualBackbone', arch='resnet18'),
    neck=dict(
        in_channels=[64, 128, 256, 512],
        channels=64,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        # 64-channel maps of 16x16: channels-last gives nothing here (training step 0.253 vs 0.251 s, A/B in one
        # process), and the plain layout keeps these runs' sums in the order of the earlier releases
        channels_last=False),
    decoder=dict(
        embed_dims=64, num_layers=2, num_queries=8, num_heads=4,
        attn_levels=(3, 2)))
