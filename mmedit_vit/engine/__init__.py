"""Training-side pieces: the runner, hooks and optimiser constructors (registered on import)."""
from .hooks import (  # noqa: F401
                    AtomicCheckpointHook,
                    EpochSeedHook,
                    NonFiniteLossHook,
                    RandomStateHook,
                    SinkStatsHook,
                    TrainingDivergedError,
)
from .optimizers import ViTLayerDecayOptimWrapperConstructor  # noqa: F401
from .runner import SafeRunner  # noqa: F401
