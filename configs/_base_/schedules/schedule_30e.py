# 30 epochs (S4 and AVSS in the AVSBench papers), AdamW 2e-5 as in AVSegFormer.
# fused=True: one kernel for all parameters (CUDA and, since torch 2.4, CPU) instead of a loop over the
# parameter tensors; the same AdamW update. On the small CPU configs it takes 10-20 % off a training step
# (docs/benchmark.md).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-5, weight_decay=1e-2, fused=True),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=30, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
