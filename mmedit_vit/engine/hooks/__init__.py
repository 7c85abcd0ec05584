"""Training hooks (registered in mmengine's root HOOKS on import)."""
from .epoch_seed_hook import EpochSeedHook
from .sink_stats_hook import SinkStatsHook

__all__ = ['EpochSeedHook', 'SinkStatsHook']
