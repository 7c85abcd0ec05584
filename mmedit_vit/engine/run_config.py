"""What tools/train.py and tools/test.py do to a config before mmengine's Runner sees it.

One place for the checks and adaptations every task shares (segmentation, detection,
classification): the work_dir default, data and checkpoint files that must exist, and running the
GPU-oriented configs (nccl, SyncBN, DDP on a device) on a machine without CUDA.
"""
import os
import os.path as osp
from typing import Iterator, Optional, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def load_run_config(config: str, work_dir: Optional[str] = None, cfg_options: Optional[dict] = None,
                    launcher: str = 'none') -> Config:
    """Reads ``config``, applies ``--cfg-options`` and sets ``work_dir`` (default ``work_dirs/<stem>``)."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher={launcher!r} is not supported; choose one of {LAUNCHERS}')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def enable_tta(cfg: Config) -> Config:
    """Test-time augmentation (``--tta``): ``tta_pipeline`` feeds ``tta_model``, which wraps the model."""
    for key in ('tta_pipeline', 'tta_model'):
        if cfg.get(key) is None:
            raise ValueError(f'test-time augmentation needs `{key}` in the config; this config has none')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    return cfg


def _pretrained_files(node, path: str = 'model') -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        init_cfg = node.get('init_cfg')
        for item in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
            if isinstance(item, dict) and item.get('type') == 'Pretrained' and item.get('checkpoint'):
                yield f'{path}.init_cfg', item['checkpoint']
        for key, value in node.items():
            if key != 'init_cfg':
                yield from _pretrained_files(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_files(value, f'{path}[{i}]')


def check_pretrained_files(cfg: Config) -> None:
    """Stops before building if an ``init_cfg`` names a local checkpoint that is not there."""
    from mmedit_vit.converters import is_hub_name
    missing = [(where, ckpt) for where, ckpt in _pretrained_files(cfg.get('model', {}))
               if '://' not in ckpt and not is_hub_name(ckpt) and not osp.isfile(ckpt)]
    if not missing:
        return
    lines = ['the pretrained checkpoint this config starts from is missing:']
    lines += [f'  {where}: {ckpt!r}' for where, ckpt in missing]
    lines += [
        'Get one by training the classification config of the same backbone (configs/cls_*), name timm weights '
        'directly (checkpoint=timm/<model>.<tag>, e.g. timm/deit3_small_patch16_224.fb_in1k), or convert a timm / '
        'DeiT-III file with `python tools/convert_timm.py SRC DST` and point the config at it with '
        "--cfg-options model.backbone.init_cfg.checkpoint=DST (EDIT from a timm file also needs "
        "model.backbone.init_cfg.missing_ok=\"['decoder']\"), or train from scratch with "
        '--cfg-options model.backbone.init_cfg=None']
    raise FileNotFoundError('\n'.join(lines))


def _sync_bn_to_bn(node) -> int:
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _sync_bn_to_bn(value)
    return count


def adapt_to_device(cfg: Config) -> Config:
    """Lets a config written for CUDA GPUs run distributed on CPUs (gloo); a no-op where CUDA is.

    mmengine would call ``torch.cuda.set_device`` and wrap the model in DDP with device ids; on a
    CPU machine the process group is started here with gloo, DDP gets no device ids and SyncBN
    (CUDA only) becomes BN. Each change is logged.
    """
    if torch.cuda.is_available() or cfg.get('launcher', 'none') == 'none':
        return cfg
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    reverted = _sync_bn_to_bn(cfg.model)
    if not torch_dist.is_initialized():
        if cfg.launcher != 'pytorch':
            raise RuntimeError(f'launcher={cfg.launcher!r} without CUDA is not supported; use torchrun with '
                               '--launcher pytorch (tools/dist_train.sh)')
        torch_dist.init_process_group(backend='gloo')
    print_log(f'no CUDA device: distributed on CPU with gloo (rank {os.environ.get("RANK")} of '
              f'{os.environ.get("WORLD_SIZE")}), DDP without device ids'
              + (f', {reverted} SyncBN norm config(s) built as BN' if reverted else ''), logger='current')
    return cfg
