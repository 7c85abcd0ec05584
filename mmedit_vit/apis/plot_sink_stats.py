"""Plot SinkStatsHook's records over training: token-norm percentiles, high-norm count, gate score per layer.

    python tools/plot_sink_stats.py work_dirs/X/sink_stats.jsonl [--out PNG] [--x auto|epoch|iter]

The gated-attention proposal records the token L2-norm distribution every 10 epochs (Experiment 1:
when do high-norm artifacts appear) and the mean gate score (Experiment 3). Train with
``custom_hooks = [dict(type='SinkStatsHook', interval=10, by_epoch=True)]`` and plot the file it writes
into the work_dir. Writes ``--out`` (default: ``sink_stats.png`` beside the file) and prints its size.
"""
import argparse
import os.path as osp


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('jsonl', help="SinkStatsHook's sink_stats.jsonl")
    p.add_argument('--out', help='PNG to write (default: sink_stats.png beside the jsonl)')
    p.add_argument('--x', choices=['auto', 'epoch', 'iter'], default='auto',
                   help='x axis (auto: epochs when every record has its own epoch, else iterations)')
    args = p.parse_args(argv)
    if not osp.isfile(args.jsonl):
        p.error(f'{args.jsonl!r} does not exist')
    if args.out is None:
        args.out = osp.join(osp.dirname(osp.abspath(args.jsonl)), 'sink_stats.png')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmedit_vit.analysis.plots import plot_over_training
    from mmedit_vit.analysis.sink_stats_log import read_sink_stats, sink_stats_series

    series = sink_stats_series(read_sink_stats(args.jsonl), x=args.x)
    size = plot_over_training(series, args.out, title=args.jsonl)
    print(f'wrote {args.out} ({size[0]}x{size[1]} px, {len(series["x"])} records by {series["x_name"]})')
    return dict(series=series, out=args.out, size=size)

