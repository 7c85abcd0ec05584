from .arg_checks import (
    ArgumentTypeError,
    check_arguments,
    check_bool,
    check_choice,
    check_float,
    check_floats,
    check_int,
    check_ints,
)
from .checkpoint_io import (
    CheckpointReadError,
    UnsafeCheckpointError,
    load_checkpoint_file,
    read_checkpoint_meta,
    register_mmengine_safe_globals,
    use_weights_only_loader,
)
from .compile_modes import check_compile_mode

__all__ = ['ArgumentTypeError', 'check_arguments', 'check_bool', 'check_choice', 'check_float', 'check_floats',
           'check_int', 'check_ints', 'CheckpointReadError', 'UnsafeCheckpointError', 'load_checkpoint_file',
           'read_checkpoint_meta', 'register_mmengine_safe_globals', 'use_weights_only_loader', 'check_compile_mode']
