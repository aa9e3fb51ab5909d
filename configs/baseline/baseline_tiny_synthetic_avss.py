# Small baseline on the generated AVSS-layout set (CPU, minutes).
_base_ = [
    '../_base_/models/baseline_tiny.py', '../_base_/datasets/avss_synthetic.py',
    '../_base_/schedules/schedule_cpu_8e.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=1))
model = _base_.multiclass_model
train_dataloader = dict(batch_size=2)
