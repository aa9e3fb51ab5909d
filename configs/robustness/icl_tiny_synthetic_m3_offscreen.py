# Robustness example (tiny ICF, generated M3 layout): AVSBench-Robust's off-screen sound, every test clip
# heard with another clip's audio (negative audio: nothing on screen sounds). Scored with the false-positive
# rate (NegativeAudioMetric: FPR, FPR_legacy, FPR_offscreen); G-mIoU / G-F need the clean J / F of the same
# model (positive_scores=dict(mIoU=..., F=...), fractions), which tools/analysis_tools/robustness.py fills in.
_base_ = ['../icl/icl_tiny_synthetic_m3.py']
perturbation_seed = 0
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PerturbedAVSDataset',
        seed=perturbation_seed,
        offscreen_audio=True,
        dataset={{_base_.test_dataloader.dataset}}))
test_evaluator = [dict(type='NegativeAudioMetric', legacy_batch_size=4)]
