# ICF with a ResNet-50 frame encoder (otherwise as icl_pvt.py).
_base_ = ['./icl_pvt.py', './resnet50_encoder.py']
model = _base_.resnet50_encoder
