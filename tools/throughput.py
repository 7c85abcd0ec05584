"""Training throughput on generated data: images/s, peak memory and model FLOP utilisation (MFU).

Usage: ``python tools/throughput.py --help`` (the command line is ``mmedit_vit.analysis.throughput``)."""
from mmedit_vit.analysis.throughput import main

if __name__ == '__main__':
    main()
