# Register sweep of the gated-attention proposal: ViT-S with 16 registers on ImageNet-100 (cls_reg4_s_in100.py: 4).
_base_ = ['./cls_reg4_s_in100.py']
model = dict(backbone=dict(num_registers=16))
