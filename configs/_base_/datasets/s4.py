# AVSBench-object S4 (single source), official layout: data_root is the `Single-source` folder.
# Legacy preprocessing: frames and masks at 224x224, the official .pkl log-mels (last example repeated).
# Masks are decoded as the official loaders do (binarize='legacy': PIL convert('1') for S4, and for the
# MS3 config that inherits this pipeline convert('P') / 255); binarize='nonzero' is the value > 0 rule.
_base_ = ['./avsbench_loaders.py']
dataset_type = 'S4Dataset'
data_root = 'data/AVSBench/Single-source'
img_scale = (224, 224)

train_pipeline = [
    dict(type='LoadClipFrames', imdecode_backend='pillow'),
    dict(type='LoadClipMasks', mode='binary', binarize='legacy'),
    dict(type='LoadClipAudio', source='pkl', pad_mode='repeat_last'),
    dict(type='ClipResize', scale=img_scale, backend='pillow'),
    dict(type='PackAVSInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# AVSBench tests S4 with 4 clips per batch: the legacy per-batch F maximum depends on it.
val_evaluator = dict(type='AVSMetric', num_classes=1, legacy_batch_size=4)
test_evaluator = val_evaluator
