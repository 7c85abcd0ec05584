"""Training hooks (registered in mmengine's root HOOKS on import)."""
from .sink_stats_hook import SinkStatsHook

__all__ = ['SinkStatsHook']
