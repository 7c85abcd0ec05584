"""A shorter or longer epoch-based run of the same recipe (the demos' ``--epochs``).

Changing ``max_epochs`` alone would leave the decay where the config put it: six epochs stretched to twelve
would drop the lr at epoch 5 and train seven epochs at a tenth of it. Here what counts to the end of training
moves with it; what comes before (a warm-up) stays.
"""
from mmengine.config import Config


def set_max_epochs(cfg: Config, epochs: int) -> Config:
    """Sets ``train_cfg.max_epochs`` to ``epochs`` and rescales what ends with training, in place.

    - every ``by_epoch`` scheduler that ends at the old last epoch ends at the new one; its ``milestones``
      scale by ``epochs / old`` (rounded, at least one epoch past ``begin``) and a ``T_max`` spanning
      ``begin``-``end`` spans the new range; schedulers ending earlier (warm-ups) are kept, and so is one whose
      ``begin`` the new run never reaches;
    - ``val_interval`` and the checkpoint ``interval`` equal to the old length become the new one.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'epochs={epochs!r}: train at least one epoch')
    train_cfg = cfg.get('train_cfg') or {}
    old = train_cfg.get('max_epochs')
    if not old:
        raise ValueError(f'train_cfg has no max_epochs ({dict(train_cfg)}): not an epoch-based config')
    schedulers = cfg.get('param_scheduler') or []
    for scheduler in [schedulers] if isinstance(schedulers, dict) else schedulers:
        begin = scheduler.get('begin', 0)
        if not scheduler.get('by_epoch', True) or scheduler.get('end') != old or epochs <= begin:
            continue
        if scheduler.get('T_max') == old - begin:
            scheduler['T_max'] = epochs - begin
        if 'milestones' in scheduler:
            scheduler['milestones'] = [max(begin + 1, round(m * epochs / old)) for m in scheduler['milestones']]
        scheduler['end'] = epochs
    train_cfg.max_epochs = epochs
    if train_cfg.get('val_interval') == old:
        train_cfg.val_interval = epochs
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if checkpoint.get('interval') == old:
        checkpoint['interval'] = epochs
    return cfg
