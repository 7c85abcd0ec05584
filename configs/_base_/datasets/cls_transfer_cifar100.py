# CIFAR-100 in folder form: data/cifar100/{train,val}/<class>/<image>, 100 classes.
_base_ = ['./cls_transfer_3aug.py']
data_root = 'data/cifar100'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
