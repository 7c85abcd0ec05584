# ImageNet-100 (data/imagenet100/{train,val}/<synset>/...; 100 ImageNet classes, ~130k images), the
# DeiT-III pipeline of imagenet1k_3aug.py. Class order: the sorted train folders (val follows them).
_base_ = ['./imagenet1k_3aug.py']
data_root = 'data/imagenet100'
train_dataloader = dict(dataset=dict(data_root=data_root, classes=None))
val_dataloader = dict(dataset=dict(data_root=data_root, classes='train'))
test_dataloader = val_dataloader
