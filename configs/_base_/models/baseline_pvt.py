# Baseline AVS model (docs/icf.md, M2, M4, M7): frozen VGGish, PVT-v2-b5, FPN-like pixel neck and the
# bidirectional audio/visual query decoder; BCE + Dice + Focal on the frames that have ground truth.
model = dict(
    type='AVSSegmentor',
    num_classes=1,
    data_preprocessor=dict(
        type='AVSDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375]),
    # Pretrained weights (docs/model_zoo.md: where to get them; the official files or their converted forms
    # both load). Training from scratch instead: --cfg-options model.audio_backbone.init_cfg=None
    # model.visual_backbone.init_cfg=None
    audio_backbone=dict(
        type='AudioBackbone',
        frozen=True,
        out_channels=256,
        # Folder of the on-disk VGGish embedding cache (keyed by the weights and each clip's sound): epochs after
        # the first do not run VGGish. None = VGGish runs every step.
        cache_root=None,
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/vggish-10086976.pth')),
    visual_backbone=dict(
        type='VisualBackbone',
        arch='pvt_v2_b5',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/pvt_v2_b5.pth')),
    neck=dict(
        type='AVSPixelNeck', in_channels=[64, 128, 320, 512], channels=256),
    decoder=dict(
        type='AVQueryDecoder',
        embed_dims=256,
        num_layers=6,
        num_queries=100,
        temporal_attn=True,
        channel_attn=True),
    losses=[
        dict(type='AVSBCELoss', loss_weight=1.0),
        dict(type='AVSDiceLoss', loss_weight=1.0),
        dict(type='AVSFocalLoss', loss_weight=1.0),
    ],
    test_cfg=dict(threshold=0.5))
