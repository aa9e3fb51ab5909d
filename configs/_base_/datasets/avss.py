# AVSBench-semantic (AVSS): v1s + v1m + v2, 71 classes, clips padded to 10 frames.
# data_root holds metadata.csv and label2idx.json. Legacy preprocessing: train resizes the short side to
# 224 and centre-crops, val/test resize to 224x224; audio from each clip's wav, zero-padded.
_base_ = ['./avsbench_loaders.py']
dataset_type = 'AVSSDataset'
data_root = 'data/AVSBench/AVSS'
label_types = ('v1s', 'v1m', 'v2')

train_pipeline = [
    dict(type='LoadClipFrames', imdecode_backend='pillow'),
    dict(type='LoadClipMasks', mode='palette'),
    dict(type='LoadClipAudio', source='wav', pad_mode='zeros'),
    dict(type='ClipResizeShortSide', short_side=224, center_crop=True, backend='pillow'),
    dict(type='PackAVSInputs'),
]
test_pipeline = [
    dict(type='LoadClipFrames', imdecode_backend='pillow'),
    dict(type='LoadClipMasks', mode='palette'),
    dict(type='LoadClipAudio', source='wav', pad_mode='zeros'),
    dict(type='ClipResize', scale=(224, 224), backend='pillow'),
    dict(type='PackAVSInputs'),
]

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, label_types=label_types, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, label_types=label_types, pipeline=test_pipeline))
test_dataloader = val_dataloader

# AVSS is multi-class: a model config on it merges these settings (`model = _base_.multiclass_model`), which
# replace the binary heads' single class and BCE / Dice / Focal losses by 71 classes and their softmax forms.
num_classes = 71
multiclass_model = dict(
    num_classes=num_classes,
    losses=[
        dict(type='AVSCrossEntropyLoss', loss_weight=1.0),
        dict(type='AVSSoftmaxDiceLoss', loss_weight=1.0),
        dict(type='AVSSoftmaxFocalLoss', loss_weight=1.0),
    ])

val_evaluator = dict(type='AVSMetric', num_classes=num_classes, legacy_batch_size=4)
test_evaluator = val_evaluator
