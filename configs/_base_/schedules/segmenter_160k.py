# mmseg's Segmenter schedule: SGD lr 1e-3 (momentum 0.9, no weight decay), poly (power 0.9) to 1e-4 over
# 160k iterations, batch 8 = 8 GPUs x 1 image (`--auto-scale-lr` rescales lr for another total batch).
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0))
auto_scale_lr = dict(enable=False, base_batch_size=8)
