"""Training-side pieces: hooks, optimiser constructors, test loops (registered on import)."""
from .run_config import adapt_to_device, check_pretrained_files, enable_tta, load_run_config
from .optimizers import ViTLayerDecayOptimWrapperConstructor
from .hooks import EpochSeedHook, SinkStatsHook  # noqa: F401  (registered on import)
