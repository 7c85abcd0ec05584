# Oxford Flowers-102 in folder form: data/flowers102/{train,val}/<class>/<image>, 102 classes.
_base_ = ['./cls_transfer_3aug.py']
data_root = 'data/flowers102'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
