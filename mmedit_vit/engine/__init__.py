"""Training-side pieces: the runner, its fast-resume loop, hooks and optimiser constructors (registered on import)."""
from .fast_resume_loop import FastResumeIterBasedTrainLoop  # noqa: F401
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
