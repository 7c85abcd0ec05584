"""timm's repeated-augmentation sampler (DeiT's RASampler) as an mmengine data sampler."""
from typing import Optional

from mmengine.dist import get_dist_info
from mmengine.registry import DATA_SAMPLERS
from timm.data.distributed_sampler import RepeatAugSampler as TimmRepeatAugSampler

from ...utils.arg_checks import check_bool, check_int


@DATA_SAMPLERS.register_module()
class RepeatAugSampler(TimmRepeatAugSampler):
    """Each image appears ``num_repeats`` times per epoch, the copies spread over the processes.

    timm's sampler with the rank and world size taken from mmengine (it runs without
    ``torch.distributed`` too) and the run's ``seed`` added to the epoch that seeds its shuffle.
    As in DeiT, an epoch keeps ``len(dataset) // selected_round * selected_round / world_size`` indices
    per process (``ceil(len(dataset) / world_size)`` for datasets smaller than ``selected_round``).
    """

    def __init__(self, dataset, shuffle: bool = True, num_repeats: int = 3, selected_round: int = 256,
                 selected_ratio: int = 0, seed: Optional[int] = None) -> None:
        check_bool('shuffle', shuffle)
        check_int('num_repeats', num_repeats, min=1)
        check_int('selected_round', selected_round, min=0)
        check_int('selected_ratio', selected_ratio, min=0)
        check_int('seed', seed, optional=True)
        rank, world_size = get_dist_info()
        super().__init__(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, num_repeats=num_repeats,
                         selected_round=selected_round, selected_ratio=selected_ratio)
        self.seed = seed or 0
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = self.seed + epoch
