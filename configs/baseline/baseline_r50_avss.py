# Baseline on AVSBench-semantic (71 classes), ResNet-50, 224x224, 1 GPU x 4 clips.
_base_ = [
    '../_base_/models/baseline_r50.py', '../_base_/datasets/avss.py',
    '../_base_/schedules/schedule_30e.py', '../_base_/default_runtime.py'
]
model = _base_.multiclass_model
