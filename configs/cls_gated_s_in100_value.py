# Gated-attention proposal, value gating: the sigmoid gate multiplies V after its projection.
_base_ = ['./cls_gated_s_in100.py']
model = dict(backbone=dict(gate_position='value'))
