# Classification runtime of the gated-attention proposal's ImageNet-100 runs: cls_runtime.py plus the
# attention-sink statistics every 10 epochs (Experiment 1: the token L2-norm distribution every 10 epochs;
# Experiment 3: the mean gate score), written to work_dir/sink_stats.jsonl.
_base_ = ['./cls_runtime.py']
custom_hooks = [dict(type='EpochSeedHook'), dict(type='SinkStatsHook', interval=10, by_epoch=True)]
