"""Plot SinkStatsHook's records over training: token-norm percentiles, high-norm count, gate score per layer.

    python tools/plot_sink_stats.py work_dirs/X/sink_stats.jsonl [--out PNG] [--x auto|epoch|iter]

The gated-attention proposal records the token L2-norm distribution every 10 epochs (Experiment 1:
when do high-norm artifacts appear) and the mean gate score (Experiment 3). Train with
``custom_hooks = [dict(type='SinkStatsHook', interval=10, by_epoch=True)]`` and plot the file it writes
into the work_dir. Writes ``--out`` (default: ``sink_stats.png`` beside the file) and prints its size.
"""
from mmedit_vit.apis.plot_sink_stats import main

if __name__ == '__main__':
    main()
