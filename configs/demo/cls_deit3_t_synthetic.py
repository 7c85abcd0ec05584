# The DeiT-III-T control of cls_edit_t_synthetic.py: the same data, recipe and schedule, with the plain ViT
# backbone of cls_deit3_t_in1k.py ([CLS] in the sequence, no decoder). tools/demo_classification.py --config.
_base_ = ['./cls_edit_t_synthetic.py']
model = dict(backbone=dict(type='PlainViT'))
