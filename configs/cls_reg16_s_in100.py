# Register sweep of the gated-attention proposal: ViT-S with 16 registers on ImageNet-100 (cls_reg4_s_in100.py: 4).
_base_ = ['./cls_reg4_s_in100.py']
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(backbone=dict(num_registers=16))
