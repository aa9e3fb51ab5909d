# Data loaders shared by the AVSBench dataset bases: 4 clips per batch, 2 workers, shuffled train split,
# val / test in test mode. The dataset bases that inherit this set type, data_root and the pipelines.
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', test_mode=True))
train_dataloader = dict(
    val_dataloader, sampler=dict(type='DefaultSampler', shuffle=True), dataset=dict(split='train', test_mode=False))
test_dataloader = dict(val_dataloader, dataset=dict(split='test', test_mode=True))
