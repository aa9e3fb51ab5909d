# Small baseline for CPU runs: ResNet-18, a scaled-down trainable VGGish with batch-normalised embeddings,
# d=64, 2 decoder layers, 8 queries. Same architecture as baseline_r50.py, sized to train from scratch in
# minutes on 2 cores (PVT-v2-b0 learned the audio-visual binding markedly slower from scratch here).
_base_ = ['./baseline_pvt.py', './tiny_sizes.py']
model = _base_.tiny_model
