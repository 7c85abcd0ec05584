# Caltech-256 (256 categories + clutter) in folder form: data/caltech256/{train,val}/<class>/<image>, 257 classes.
_base_ = ['./cls_transfer_3aug.py']
data_root = 'data/caltech256'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
