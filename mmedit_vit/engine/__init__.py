"""Training-side pieces: the runner, hooks and optimiser constructors (registered on import)."""
from .hooks import (AtomicCheckpointHook, EpochSeedHook, NonFiniteLossHook, RandomStateHook,  # noqa: F401
                    SinkStatsHook, TrainingDivergedError)
from .optimizers import ViTLayerDecayOptimWrapperConstructor  # noqa: F401
from .runner import SafeRunner  # noqa: F401
