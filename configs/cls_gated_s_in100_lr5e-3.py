# Learning-rate sweep of the gated-attention proposal: cls_gated_s_in100.py at lr 5e-3 (default 3e-3).
_base_ = ['./cls_gated_s_in100.py']
optim_wrapper = dict(optimizer=dict(lr=5e-3))
