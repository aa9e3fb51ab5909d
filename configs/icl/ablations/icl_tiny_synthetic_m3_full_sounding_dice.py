# Ablation (M3, tiny): full ICF with the Dice term of the counterfactual effect loss on frames with sounding
# objects only (CounterfactualEffectLoss(empty_frame_dice=False); docs/icf.md).
_base_ = ['../icl_tiny_synthetic_m3.py']
model = dict(sc_losses=[
    dict(type='CounterfactualEffectLoss', loss_weight=0.2, effect='rectified', empty_frame_dice=False),
    dict(type='OrthogonalityLoss', loss_weight=1.0),
    dict(type='LatentLoss', loss_weight=0.8),
])
