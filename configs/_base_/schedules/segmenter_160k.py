# mmseg's Segmenter schedule: SGD lr 1e-3 (momentum 0.9, no weight decay), poly (power 0.9) to 1e-4 over
# 160k iterations, batch 8 = 8 GPUs x 1 image (`--auto-scale-lr` rescales lr for another total batch).
# Layer-wise lr decay is off (1.0); --cfg-options optim_wrapper.paramwise_cfg.layer_decay_rate=0.65 turns it on
# (block i at lr * rate ** (12 - i), embeddings/[CLS]/registers one step below block 0, the EDIT decoder,
# final norm and the mask transformer head at lr).
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']
optim_wrapper = dict(type='OptimWrapper', constructor='ViTLayerDecayOptimWrapperConstructor',
                     optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0),
                     paramwise_cfg=dict(layer_decay_rate=1.0))
auto_scale_lr = dict(enable=False, base_batch_size=8)
