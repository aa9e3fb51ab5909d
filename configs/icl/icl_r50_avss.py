# ICF (MIT + SC + CDCL) on AVSBench-semantic (71 classes, multi-class losses), ResNet-50, 224x224,
# 1 GPU x 4 clips, 30 epochs; captions required.
_base_ = [
    '../_base_/models/icl_r50.py', '../_base_/datasets/avss.py',
    '../_base_/schedules/schedule_30e.py', '../_base_/default_runtime.py'
]
model = _base_.multiclass_model
train_dataloader = dict(dataset=dict(with_text=True))
val_dataloader = dict(dataset=dict(with_text=True))
test_dataloader = dict(dataset=dict(with_text=True))
