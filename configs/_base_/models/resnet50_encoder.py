# A ResNet-50 frame encoder (torchvision-style stem, BN; torchvision's ImageNet weights, docs/model_zoo.md)
# in place of PVT-v2-b5: a model config merges it (`model = _base_.resnet50_encoder`).
resnet50_encoder = dict(
    visual_backbone=dict(
        _delete_=True,
        type='VisualBackbone',
        arch='resnet50',
        init_cfg=dict(type='Pretrained', checkpoint='pretrained/resnet50-19c8e357.pth')),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
