# Ablation (M3, tiny): baseline + SC with the effect loss's Dice on frames with sounding objects only.
_base_ = ['./icl_tiny_synthetic_m3_full_sounding_dice.py']
model = dict(text_encoder=None, text_resampler=None, cdcl_loss=None)
