# Short schedule for the small CPU configs: 8 epochs, AdamW 1e-3, validation every 4 epochs.
_base_ = ['./schedule_30e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=8, by_epoch=True)
]
train_cfg = dict(max_epochs=8, val_interval=4)
