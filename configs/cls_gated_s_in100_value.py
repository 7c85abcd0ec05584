# Gated-attention proposal, value gating: the sigmoid gate multiplies V after its projection.
_base_ = ['./cls_gated_s_in100.py']
custom_imports = dict(imports=['mmedit_vit'], allow_failed_imports=False)
model = dict(backbone=dict(gate_position='value'))
