from .checkpoint_io import (
                            CheckpointReadError,
                            UnsafeCheckpointError,
                            load_checkpoint_file,
                            register_mmengine_safe_globals,
                            use_weights_only_loader,
)

__all__ = ['CheckpointReadError', 'UnsafeCheckpointError', 'load_checkpoint_file',
           'register_mmengine_safe_globals', 'use_weights_only_loader']
