# CIFAR-10 in folder form: data/cifar10/{train,val}/<class>/<image>, 10 classes.
_base_ = ['./cls_transfer_3aug.py']
data_root = 'data/cifar10'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
