"""Training-side pieces: hooks, optimiser constructors, test loops (registered on import)."""
from .cfg_options import CfgOptionsAction, check_option_keys
from .run_config import adapt_to_device, build_runner, check_pretrained_files, load_run_config, release
from .optimizers import ViTLayerDecayOptimWrapperConstructor
from .hooks import (AtomicCheckpointHook, EpochSeedHook, NonFiniteLossHook, RandomStateHook,  # noqa: F401
                    SinkStatsHook, TrainingDivergedError)
from .runner import SafeRunner
from .cli import run_tool
