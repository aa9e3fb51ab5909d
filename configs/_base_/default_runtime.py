# Runtime shared by every mmavs config.
default_scope = 'mmavs'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; tools/train.py switches to gloo on CPU-only machines.
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic writes; old / previous-best checkpoints deleted only after the new one is complete
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # RNG state in every checkpoint and re-established at the next epoch start: resuming is exact
    rng_state=dict(type='RNGStateHook'),
    # draws nothing unless draw=True (tools/test.py --show-dir DIR sets it, with out_dir=DIR)
    visualization=dict(type='AVSVisualizationHook'),
)

vis_backends = [dict(type='LocalVisBackend')]
# frames with ground truth and prediction; binary subsets in one colour, AVSS in the dataset's palette
visualizer = dict(type='AVSLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True, window_size=50)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
