"""Training hooks (registered in mmengine's root HOOKS on import)."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .epoch_seed_hook import EpochSeedHook
from .non_finite_loss_hook import NonFiniteLossHook, TrainingDivergedError
from .progress_hook import ProgressHook
from .random_state_hook import RandomStateHook
from .sink_stats_hook import SinkStatsHook

__all__ = ['AtomicCheckpointHook', 'DeferredRuntimeInfoHook', 'EpochSeedHook', 'NonFiniteLossHook', 'ProgressHook',
           'RandomStateHook', 'SinkStatsHook', 'TrainingDivergedError']
