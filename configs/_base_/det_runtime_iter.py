# det_runtime.py for iteration-based schedules: checkpoints every 5000 iterations (the last five and the final
# one kept), logs every 50 iterations (mmdet's projects/ViTDet/configs/lsj-100e_coco-instance.py).
_base_ = './det_runtime.py'
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=5000, save_last=True, max_keep_ckpts=5))
log_processor = dict(by_epoch=False)
