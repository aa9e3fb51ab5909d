# Baseline AVS model with a ResNet-50 frame encoder (torchvision-style stem, BN).
_base_ = ['./baseline_pvt.py', './resnet50_encoder.py']
model = _base_.resnet50_encoder
