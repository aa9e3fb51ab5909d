# Robustness example (tiny ICF, generated M3 layout): R2-Bench background noise, severity 3 (SNR drawn in
# 15-20 dB), the noise taken from another clip of the split. PerturbedAVSDataset draws the donor clip
# (noise_source='other_clip'); AddAudioNoise(kind='clip') mixes it into the waveform before LoadClipAudio.
_base_ = ['../icl/icl_tiny_synthetic_m3.py']
perturbation_seed = 0
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mode='binary', binarize='legacy'),
    dict(type='AddAudioNoise', kind='clip', severity=3, seed=perturbation_seed, on_silent='keep'),
    dict(type='LoadClipAudio', source='wav', pad_mode='repeat_last'),
    dict(type='ClipResize', scale=(64, 64)),
    dict(type='PackAVSInputs'),
]
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PerturbedAVSDataset',
        seed=perturbation_seed,
        noise_source='other_clip',
        dataset=dict(
            type='MS3Dataset',
            data_root='data/synthetic/Multi-sources',
            split='test',
            test_mode=True,
            with_text=True,
            pipeline=test_pipeline)))
