"""What the tools do to a config: load and adapt it for a run, check its files, switch its evaluation,
build its model for analysis and count its complexity. ``tools/*.py`` are argparse wrappers over this."""
from .data_check import DatasetNotFoundError, check_data_roots
from .run_config import LAUNCHERS, adapt_to_device, check_pretrained_files, load_run_config

__all__ = ['DatasetNotFoundError', 'check_data_roots', 'LAUNCHERS', 'adapt_to_device', 'check_pretrained_files',
           'load_run_config']
