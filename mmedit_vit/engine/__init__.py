"""Training-side pieces: hooks and optimiser constructors (registered on import)."""
from .hooks import EpochSeedHook, SinkStatsHook  # noqa: F401  (registered on import)
from .optimizers import ViTLayerDecayOptimWrapperConstructor  # noqa: F401
