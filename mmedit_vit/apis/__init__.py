"""What the tools do to a config: load and adapt it for a run, check its files, switch its evaluation,
build its model for analysis and count its complexity. ``tools/*.py`` are argparse wrappers over this."""
from .cfg_options import CfgOptionsAction, check_option_keys
from .cli import run_tool
from .data_check import DatasetNotFoundError, check_data_roots
from .run_config import (
                         AMP_DTYPES,
                         LAUNCHERS,
                         adapt_to_device,
                         apply_speed_options,
                         build_runner,
                         check_pretrained_files,
                         enable_fast_resume,
                         enable_tta,
                         load_run_config,
                         release,
                         resume_latest,
)

__all__ = ['CfgOptionsAction', 'check_option_keys', 'run_tool', 'DatasetNotFoundError', 'check_data_roots',
           'AMP_DTYPES', 'LAUNCHERS', 'adapt_to_device', 'apply_speed_options', 'build_runner',
           'check_pretrained_files', 'enable_fast_resume', 'enable_tta',
           'load_run_config', 'release', 'resume_latest']
