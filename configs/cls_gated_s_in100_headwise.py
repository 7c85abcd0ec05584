# Gated-attention proposal, the headwise option: one sigmoid score per head (W_gate is d x heads) instead of
# the proposal's elementwise O * sigmoid(X W_gate + b_gate) (one score per channel, cls_gated_s_in100.py).
_base_ = ['./cls_gated_s_in100.py']
model = dict(backbone=dict(gate='headwise'))
