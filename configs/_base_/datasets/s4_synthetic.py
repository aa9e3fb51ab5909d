# Generated S4-layout data (tools/dataset_converters/generate_synthetic_avs.py --subset s4
# --out data/synthetic): the official reader and pipeline, smaller frames for CPU runs.
_base_ = ['./s4.py']
data_root = 'data/synthetic/Single-source'
img_scale = (64, 64)
pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mode='binary', binarize='legacy'),
    dict(type='LoadClipAudio', source='pkl', pad_mode='repeat_last'),
    dict(type='ClipResize', scale=img_scale),
    dict(type='PackAVSInputs'),
]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=pipeline))
test_dataloader = dict(dataset=dict(data_root=data_root, pipeline=pipeline))
