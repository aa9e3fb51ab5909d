# Robustness example (tiny ICF, generated M3 layout): frame mixing, 'empty_gt' variant. In a quarter of the
# test clips half of the frames come from another clip, and their ground truth is all background (their sound
# is not heard). Two AVSMetric: the mixed clips only (prefix 'mixed') and all clips (prefix 'all').
_base_ = ['../icl/icl_tiny_synthetic_m3.py']
perturbation_seed = 0
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PerturbedAVSDataset',
        seed=perturbation_seed,
        frame_mix=dict(fraction=0.25, variant='empty_gt'),
        dataset={{_base_.test_dataloader.dataset}}))
test_evaluator = [
    dict(type='AVSMetric', num_classes=1, legacy_batch_size=4, clips='frame_mixed', prefix='mixed'),
    dict(type='AVSMetric', num_classes=1, legacy_batch_size=4, clips='all', prefix='all'),
]
