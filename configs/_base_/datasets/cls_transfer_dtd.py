# DTD (Describable Textures) in folder form: data/dtd/{train,val}/<class>/<image>, 47 classes.
_base_ = ['./cls_transfer_3aug.py']
data_root = 'data/dtd'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
