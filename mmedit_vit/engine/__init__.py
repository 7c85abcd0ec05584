"""Training-side pieces: hooks, optimiser constructors, test loops (registered on import)."""
from .run_config import adapt_to_device, check_pretrained_files, load_run_config
from .optimizers import ViTLayerDecayOptimWrapperConstructor
from . import epoch_seed_hook  # noqa: F401  (registers EpochSeedHook)
from .hooks import SinkStatsHook  # noqa: F401  (registers SinkStatsHook)
