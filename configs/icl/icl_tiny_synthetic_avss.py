# Small ICF (MIT + SC + CDCL) on the generated AVSS-layout set (71 classes; CPU, minutes).
_base_ = [
    '../_base_/models/icl_tiny.py', '../_base_/datasets/avss_synthetic.py',
    '../_base_/schedules/schedule_cpu_8e.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=1))
model = _base_.multiclass_model
train_dataloader = dict(batch_size=2, dataset=dict(with_text=True))
val_dataloader = dict(dataset=dict(with_text=True))
test_dataloader = dict(dataset=dict(with_text=True))
