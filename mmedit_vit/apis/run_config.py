"""What tools/train.py and tools/test.py do to a config before mmengine's Runner sees it.

One place for the checks and adaptations every task shares (segmentation, detection,
classification): the work_dir default, data and checkpoint files that must exist, and running the
GPU-oriented configs (nccl, SyncBN, DDP on a device) on a machine without CUDA.
"""
import os
import os.path as osp
from typing import Iterator, Optional, Tuple, Union

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

from ..utils import check_compile_mode
from .cfg_options import check_option_keys, replacing_dicts
from .data_check import _leaf_datasets

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
AMP_DTYPES = ('float16', 'bfloat16')


def load_run_config(config: str, work_dir: Optional[str] = None, cfg_options: Optional[dict] = None,
                    launcher: str = 'none') -> Config:
    """Reads ``config``, applies ``--cfg-options`` (keys must exist, see ``check_option_keys``), sets
    ``work_dir`` (default ``work_dirs/<stem>``) and adds the safety hooks and per-sample data checks."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher={launcher!r} is not supported; choose one of {LAUNCHERS}')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        check_option_keys(cfg, cfg_options)
        cfg.merge_from_dict(replacing_dicts(cfg, cfg_options))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    add_safety_hooks(cfg)
    defer_scalar_reads(cfg)
    add_sample_checks(cfg)
    return cfg


SAFETY_HOOKS = ('NonFiniteLossHook', 'RandomStateHook')


def add_safety_hooks(cfg: Config) -> None:
    """Checkpoints written atomically (``AtomicCheckpointHook`` in place of ``CheckpointHook``), random
    states saved for exact resumes, and a stop on a non-finite loss, whatever the config's runtime."""
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint is not None and checkpoint.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        checkpoint['type'] = 'AtomicCheckpointHook'
    hooks = list(cfg.get('custom_hooks') or [])
    present = {h.get('type') for h in hooks}
    hooks += [dict(type=name) for name in SAFETY_HOOKS if name not in present]
    cfg.custom_hooks = hooks


# mmengine's classes -> the same with the logged scalars read back once per logging interval
DEFERRED_TYPES = {'RuntimeInfoHook': 'DeferredRuntimeInfoHook', 'OptimWrapper': 'DeferredLogOptimWrapper',
                  'AmpOptimWrapper': 'DeferredLogAmpOptimWrapper'}


def defer_scalar_reads(cfg: Config) -> None:
    """Losses and the clipped gradient norm stay on the device until an iteration logs, saves or ends an
    epoch (``DeferredRuntimeInfoHook``, ``DeferredLogOptimWrapper``): no host-device sync in between.
    mmengine's classes (also when the config leaves them to the runner's defaults) are swapped; other
    types are kept."""
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = {}
    runtime = cfg.default_hooks.get('runtime_info') or dict(type='RuntimeInfoHook')
    cfg.default_hooks.runtime_info = dict(runtime, type=_deferred(runtime.get('type')))
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and 'optimizer' in wrapper:
        wrapper['type'] = _deferred(wrapper.get('type', 'OptimWrapper'))


def _deferred(name: str) -> str:
    bare = name[len('mmengine.'):] if name.startswith('mmengine.') else name
    return DEFERRED_TYPES.get(bare, name)


def _pipelines(cfg: Config) -> Iterator[list]:
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(split)
        if isinstance(loader, dict) and isinstance(loader.get('dataset'), dict):
            for dataset in _leaf_datasets(loader['dataset']):
                if isinstance(dataset.get('pipeline'), list):
                    yield dataset['pipeline']
    if isinstance(cfg.get('tta_pipeline'), list):
        yield cfg.tta_pipeline


def _label_loader(step: dict, num_classes: Tuple[int, int]) -> dict:
    """mmseg's ``LoadAnnotations`` becomes ``LoadSegLabels`` (values kept as written, checked against the
    decode head's classes); a ``LoadSegLabels`` must agree with the head."""
    classes, ignore_index = num_classes
    if step.get('type') == 'LoadSegLabels':
        if (step.get('num_classes'), step.get('ignore_index', 255)) != num_classes:
            raise ValueError(f"LoadSegLabels(num_classes={step.get('num_classes')}, ignore_index="
                             f"{step.get('ignore_index', 255)}) disagrees with the decode head's "
                             f'num_classes={classes}, ignore_index={ignore_index}')
        return step
    loader = dict(type='LoadSegLabels', num_classes=classes, ignore_index=ignore_index)
    for key in ('reduce_zero_label', 'backend_args'):
        if step.get(key) is not None:
            loader[key] = step[key]
    return loader


def _is_seg_loader(step) -> bool:
    return isinstance(step, dict) and (step.get('type') == 'LoadSegLabels' or (
        step.get('type') == 'LoadAnnotations' and 'with_bbox' not in step and 'with_mask' not in step))


def _strict_loader(step, num_classes: Optional[Tuple[int, int]], detection: bool):
    """The project's loader in place of mmseg's / mmdet's ``LoadAnnotations`` (other steps unchanged)."""
    if num_classes is not None and _is_seg_loader(step):
        return _label_loader(step, num_classes)
    if detection and isinstance(step, dict) and step.get('type') == 'LoadAnnotations':
        return dict(step, type='LoadDetAnnotations')
    return step


def _insert_checks(pipeline: list, num_classes: Optional[Tuple[int, int]], detection: bool) -> None:
    i = 0
    while i < len(pipeline):
        step = pipeline[i] = _strict_loader(pipeline[i], num_classes, detection)
        kind = step.get('type') if isinstance(step, dict) else None
        if kind == 'TestTimeAug':
            step['transforms'] = [[_strict_loader(t, num_classes, detection) for t in stage]
                                  for stage in step['transforms']]
        previous = pipeline[i - 1].get('type') if i and isinstance(pipeline[i - 1], dict) else None
        if kind == 'LoadImageFromFile' and previous != 'CheckImageFile':
            pipeline.insert(i, dict(type='CheckImageFile'))
            i += 1
        i += 1


def _seg_num_classes(cfg: Config) -> Optional[Tuple[int, int]]:
    """(num_classes, ignore_index) of a segmentation config's decode head; None for other tasks."""
    head = cfg.get('model', {}).get('decode_head')
    if cfg.get('default_scope') != 'mmseg' or head is None:
        return None
    head = head[-1] if isinstance(head, (list, tuple)) else head
    if head.get('num_classes') is None:
        return None
    return head['num_classes'], head.get('ignore_index', 255)


def add_sample_checks(cfg: Config) -> None:
    """Puts ``CheckImageFile`` before every image loading step and reads annotations with the project's
    loaders: label maps with ``LoadSegLabels`` (``mmedit_vit.datasets.transforms.seg_labels``), detection
    annotations with ``LoadDetAnnotations`` (``det_masks``)."""
    num_classes = _seg_num_classes(cfg)
    detection = cfg.get('default_scope') == 'mmdet'
    for pipeline in _pipelines(cfg):
        _insert_checks(pipeline, num_classes, detection)


def build_runner(cfg: Config):
    """``SafeRunner`` (strict loading, atomic checkpoints) from ``cfg``."""
    from ..engine.runner import SafeRunner
    return SafeRunner.from_cfg(cfg)


def release(runner=None) -> None:
    """Ends a run cleanly: data loader workers stopped, then the process group destroyed on every rank.

    Leaving both to interpreter exit lets worker and gloo threads be torn down in any order, which
    aborts a rank now and then (``terminate called without an active exception``, SIGABRT).
    """
    if runner is not None:
        for name in ('_train_loop', '_val_loop', '_test_loop'):
            loop = getattr(runner, name, None)
            # the train loop's live iterator, and a persistent-workers loader's own (kept between epochs)
            iterators = [getattr(getattr(loop, 'dataloader_iterator', None), '_iterator', None),
                         getattr(getattr(loop, 'dataloader', None), '_iterator', None)]
            for iterator in iterators:
                if hasattr(iterator, '_shutdown_workers'):
                    iterator._shutdown_workers()
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


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
        if isinstance(node.get('pretrained'), str):  # mmseg / mmdet style: the model hands it to the backbone
            yield f'{path}.pretrained', node['pretrained']
        init_cfg = node.get('init_cfg')
        for item in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
            if isinstance(item, dict) and item.get('type') == 'Pretrained' and item.get('checkpoint'):
                yield f'{path}.init_cfg', item['checkpoint']
        for key, value in node.items():
            if key not in ('init_cfg', 'pretrained'):
                yield from _pretrained_files(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained_files(value, f'{path}[{i}]')


def check_pretrained_files(cfg: Config) -> None:
    """Stops before building if an ``init_cfg`` (or a ``pretrained`` path) names a local checkpoint that is
    not there, or a URL of a scheme other than http(s) (those are downloaded and read weights-only)."""
    from ..converters import is_hub_name
    from ..utils.checkpoint_io import URL_SCHEMES
    sources = list(_pretrained_files(cfg.get('model', {})))
    unreadable = [(where, ckpt) for where, ckpt in sources if '://' in ckpt and not ckpt.startswith(URL_SCHEMES)]
    if unreadable:
        raise ValueError('\n'.join(
            ['a pretrained checkpoint of this config is given by a URL scheme that is not read:']
            + [f'  {where}: {ckpt!r}' for where, ckpt in unreadable]
            + [f'allowed: a local file, an {" or ".join(s.rstrip(":/") for s in URL_SCHEMES)} URL (downloaded once '
               'into $TORCH_HOME/hub/checkpoints, read weights-only) or a hub name (timm/<model>.<tag>, '
               'hf-hub:<org>/<repo>); download the file and give its path']))
    missing = [(where, ckpt) for where, ckpt in sources
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


def resume_latest(cfg: Config) -> Config:
    """``--resume`` without a file: continue from the latest checkpoint in the work_dir (``last_checkpoint``,
    resolved in the work dir, so a moved or copied work dir continues from its own files), or start from the
    beginning (the config's ``load_from`` kept) when there is none yet, as a first run of a resumable job.
    A newest checkpoint that cannot be read (a save cut short) gives way to the newest readable one, named."""
    from ..engine.latest_checkpoint import newest_readable_checkpoint
    latest = newest_readable_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
    if latest is None:
        print_log(f'--resume: no checkpoint in {cfg.work_dir} yet, training starts from the beginning',
                  logger='current')
        cfg.resume = False
    else:
        cfg.resume, cfg.load_from = True, latest
    return cfg


def enable_fast_resume(cfg: Config) -> Config:
    """``--fast-resume``: the iteration-based loop resumes by moving its sampler past the trained batches
    (``FastResumeIterBasedTrainLoop``) instead of loading them again."""
    train_cfg = cfg.get('train_cfg') or {}
    loop = train_cfg.get('type', 'IterBasedTrainLoop' if train_cfg.get('by_epoch') is False else None)
    if loop not in ('IterBasedTrainLoop', 'mmengine.IterBasedTrainLoop'):
        raise ValueError(f'--fast-resume is for iteration-based training (train_cfg type IterBasedTrainLoop), '
                         f'not {loop}: an epoch-based run resumes at an epoch boundary, reading nothing twice')
    train_cfg.pop('by_epoch', None)
    cfg.train_cfg = dict(train_cfg, type='FastResumeIterBasedTrainLoop')
    return cfg


def apply_speed_options(cfg: Config, amp: bool = False, amp_dtype: Optional[str] = None,
                        compile_model: Union[bool, str] = False) -> Config:
    """``--amp`` / ``--amp-dtype`` / ``--compile``: mmengine's ``AmpOptimWrapper(dtype=...)`` and ``compile``.

    float16 keeps mmengine's dynamic loss scaling; bfloat16 has float32's exponent range, so its loss
    scale stays 1 (the scaler still skips steps with non-finite gradients). mmengine's
    ``AmpOptimWrapper`` refuses a CPU, so mixed precision needs CUDA. ``compile`` makes the Runner
    ``torch.compile`` the model's ``train_step`` (inductor; it pays off on a GPU); a mode name
    (``torch._inductor.list_mode_options()``) selects that mode ('reduce-overhead' adds CUDA graphs:
    fewer kernel launches).
    """
    if amp_dtype is not None and amp_dtype not in AMP_DTYPES:
        raise ValueError(f'amp_dtype={amp_dtype!r} is not supported; choose one of {AMP_DTYPES}')
    if amp or amp_dtype is not None:
        if not torch.cuda.is_available():
            raise RuntimeError('--amp / --amp-dtype need a CUDA device; none is available here')
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        amp_types = {'OptimWrapper': 'AmpOptimWrapper', 'AmpOptimWrapper': 'AmpOptimWrapper',
                     'DeferredLogOptimWrapper': 'DeferredLogAmpOptimWrapper',
                     'DeferredLogAmpOptimWrapper': 'DeferredLogAmpOptimWrapper'}
        if wrapper not in amp_types:
            raise ValueError(f'--amp works with optim_wrapper types {sorted(amp_types)}, not {wrapper!r}')
        dtype = amp_dtype or 'float16'
        cfg.optim_wrapper.type = amp_types[wrapper]
        cfg.optim_wrapper.dtype = dtype
        cfg.optim_wrapper.loss_scale = 'dynamic' if dtype == 'float16' else 1.0
    if isinstance(compile_model, str):
        check_compile_mode(compile_model)
    if compile_model in (True, 'default'):
        cfg.compile = True
    elif compile_model:
        cfg.compile = dict(mode=compile_model)
    return cfg
