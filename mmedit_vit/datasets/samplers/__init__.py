from .repeat_aug_sampler import RepeatAugSampler

__all__ = ['RepeatAugSampler']
