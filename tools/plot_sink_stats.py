"""Plot SinkStatsHook's records over training: token-norm percentiles, high-norm count, gate score per layer.

Usage: ``python tools/plot_sink_stats.py --help`` (the command line is ``mmedit_vit.apis.plot_sink_stats``)."""
from mmedit_vit.apis.plot_sink_stats import main

if __name__ == '__main__':
    main()
