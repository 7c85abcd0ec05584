# ADE20K (150 classes) exactly as mmseg reads it: 512x512 crops from images resized to a 512 short side
# (ratio 0.5-2), flip and photometric distortion; single-scale test at (2048, 512); `tools/test.py --tta`
# uses tta_pipeline: ratios 0.5-1.75 and flip.
_base_ = ['mmseg::_base_/datasets/ade20k.py']
