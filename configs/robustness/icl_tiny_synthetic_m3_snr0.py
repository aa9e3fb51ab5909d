# Robustness example (tiny ICF, generated M3 layout): white Gaussian noise at 0 dB SNR in every test clip.
# The noise is mixed into the waveform, so the audio is read from the wav files (LoadClipAudio(source='wav'))
# and AddAudioNoise comes right before it. Use with tools/test.py; tools/analysis_tools/robustness.py runs
# all levels at once (docs/robustness.md).
_base_ = ['../icl/icl_tiny_synthetic_m3.py']
perturbation_seed = 0
test_pipeline = [
    dict(type='LoadClipFrames'),
    dict(type='LoadClipMasks', mode='binary', binarize='legacy'),
    dict(type='AddAudioNoise', kind='gaussian', snr_db=0.0, seed=perturbation_seed, on_silent='keep'),
    dict(type='LoadClipAudio', source='wav', pad_mode='repeat_last'),
    dict(type='ClipResize', scale=(64, 64)),
    dict(type='PackAVSInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
