"""Reseeds every random generator at the start of each training epoch from (seed, epoch).

mmengine does not store random states in checkpoints, so a resumed run would otherwise draw other
augmentations, Mixup/CutMix boxes and drop-path masks than the uninterrupted run. With the state a
function of (seed, epoch), resuming from an epoch checkpoint continues exactly (in the main process,
and in dataloader workers that are not persistent, whose seeds come from the reseeded generator).
"""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner.utils import set_random_seed


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """``set_random_seed(run seed + epoch)`` before each training epoch (ranks differ if configured)."""

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        randomness = getattr(runner, '_randomness_cfg', {}) or {}
        set_random_seed(runner.seed + runner.epoch, deterministic=randomness.get('deterministic', False),
                        diff_rank_seed=randomness.get('diff_rank_seed', False))
