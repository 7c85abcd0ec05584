"""mmengine's Runner with the loading and saving guarantees this project makes.

- ``load_from`` (tools/test.py) and ``--resume`` load strictly: missing, unexpected or misshapen keys
  stop the run on every rank, naming the keys (mmengine loads them non-strictly, or raises on rank 0
  only and leaves the others waiting);
- the file is read weights-only (``mmedit_vit.utils.use_weights_only_loader``);
- checkpoints are written to a temporary name and renamed, so a file named ``iter_N.pth`` is complete;
- a resumed run takes the seed of the run it continues before anything random is built: mmengine draws a
  seed (the configs set none) and builds the sampler with it, and reads the checkpoint's seed only once
  the sampler exists, so the resumed run would see the samples in another order;
- the checkpoint meta records the seed and the number of processes, the log says where the seed came from;
- ``last_checkpoint`` is resolved in the work dir (``latest_checkpoint``), so a moved work dir resumes;
- two runs built in one process within a second do not share mmengine's per-run instances
  (``unique_timestamp``);
- the data-loader workers stop when ``train()``, ``val()`` or ``test()`` returns (``release_loader_workers``),
  not 5 s per worker later when the garbage collector frees the run;
- the config is formatted (yapf) once per text, not again for the log, the work dir and every checkpoint
  (``format_config_text_once``).
"""
import inspect
import os
import os.path as osp
import re
from typing import Any, Dict, List, Tuple

import torch
from mmengine.dist import master_only
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

from ..converters.vit_checkpoint import CheckpointMismatchError, state_dict_mismatch
from ..utils import read_checkpoint_meta
from .config_text import format_config_text_once
from .hooks.atomic_checkpoint_hook import TMP_SUFFIX
from .latest_checkpoint import latest_checkpoint
from .loader_workers import release_loader_workers
from .run_timestamp import unique_timestamp


def check_state_dict_fits(model: torch.nn.Module, state: Dict[str, torch.Tensor], source: str) -> None:
    """Raises ``CheckpointMismatchError`` naming the keys unless ``state`` fits ``model`` exactly."""
    problems = state_dict_mismatch(model.state_dict(), state)
    if not problems:
        return
    raise CheckpointMismatchError(f'checkpoint {source} does not fit the {type(model).__name__} of this config: '
                                  + '; '.join(problems) + '. Was it trained with this config (size, variant, '
                                  'number of classes)?')


def _revised(state: Dict[str, torch.Tensor], revise_keys: List[Tuple[str, str]]) -> Dict[str, torch.Tensor]:
    for pattern, replacement in revise_keys:
        state = {re.sub(pattern, replacement, k): v for k, v in state.items()}
    return state


@RUNNERS.register_module()
class SafeRunner(Runner):
    """``Runner`` that loads strictly on all ranks, writes checkpoints atomically and resumes with the seed
    of the run it continues (same arguments as ``Runner``)."""

    def __init__(self, *args, **kwargs) -> None:
        bound = inspect.signature(Runner.__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        arguments.pop('self')
        randomness = dict(arguments['randomness'] or {})
        configured = randomness.get('seed')
        self.resume_meta: Dict[str, Any] = {}
        source = 'from the config' if configured is not None else 'drawn (the config sets none)'
        if arguments['resume']:
            if arguments['load_from'] is None:  # resume from the latest: found here, moved work dirs too
                arguments['load_from'] = latest_checkpoint(arguments['work_dir'])
            resume_from = arguments['load_from']
            if resume_from is not None and '://' not in resume_from:
                self.resume_meta = read_checkpoint_meta(resume_from)
            seed = self.resume_meta.get('seed')
            if seed is not None:
                randomness['seed'] = seed
                source = f'of the run being resumed ({resume_from})'
        arguments['randomness'] = randomness
        format_config_text_once()
        super().__init__(**arguments)
        self.logger.info(f'random seed: {self.seed}, {source}')
        if configured is not None and configured != self.seed:
            self.logger.warning(f'the config sets seed {configured}; the resumed run keeps the seed {self.seed} '
                                'it started with')

    def train(self) -> torch.nn.Module:
        try:
            return super().train()
        finally:
            release_loader_workers(self)

    def val(self) -> dict:
        try:
            return super().val()
        finally:
            release_loader_workers(self)

    def test(self) -> dict:
        try:
            return super().test()
        finally:
            release_loader_workers(self)

    def setup_env(self, env_cfg: dict) -> None:
        super().setup_env(env_cfg)
        self._timestamp = unique_timestamp(self._timestamp)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = True,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006  (mmengine's signature)
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        if not isinstance(checkpoint, dict):
            raise CheckpointMismatchError(f'checkpoint {filename} holds a {type(checkpoint).__name__}, '
                                          'not a dict of weights')
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if strict:
            target = model.module if isinstance(model, BaseTTAModel) else model
            check_state_dict_fits(target, _revised(dict(checkpoint.get('state_dict', checkpoint)), revise_keys),
                                  filename)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}' + (' (strict)' if strict else ''))
        return checkpoint

    def resume(self, filename: str, *args, **kwargs) -> None:
        try:
            super().resume(filename, *args, **kwargs)
        except KeyError as err:
            if err.args and err.args[0] in ('meta', 'epoch', 'iter', 'message_hub'):
                raise CheckpointMismatchError(
                    f'cannot resume from {filename}: it has no {err.args[0]!r} entry, so it is a weights-only file '
                    'rather than a training checkpoint written by tools/train.py; start from it with '
                    f'--cfg-options load_from={filename} instead') from err
            raise

    def build_train_loop(self, loop):
        """mmengine's loop; an epoch without a single batch stops here, saying why (mmengine fails later
        inside a parameter scheduler with ``epoch_length ... got 0``)."""
        loop = super().build_train_loop(loop)
        dataloader = getattr(loop, 'dataloader', None)
        if isinstance(loop, EpochBasedTrainLoop) and dataloader is not None and len(dataloader) == 0:
            samples, world = len(dataloader.dataset), self.world_size
            raise ValueError(
                f'an epoch has no batch: the training set has {samples} samples, {samples // world} per process over '
                f'{world} process(es), fewer than train_dataloader.batch_size={dataloader.batch_size} (incomplete '
                f'batches are dropped). Lower the batch size to at most {max(samples // world, 1)} or use more data')
        return loop

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """mmengine's checkpoint (its meta holds the seed), with the number of processes in the meta."""
        bound = inspect.signature(Runner.save_checkpoint).bind(self, out_dir, filename, *args, **kwargs)
        bound.apply_defaults()
        options = {k: v for k, v in bound.arguments.items() if k not in ('self', 'out_dir', 'filename')}
        options['meta'] = dict(options['meta'] or {}, world_size=self.world_size)
        local = '://' not in str(out_dir) and options['backend_args'] is None and options['file_client_args'] is None
        if not local:
            return super().save_checkpoint(out_dir, filename, **options)
        tmp_name = f'.{filename}{TMP_SUFFIX}'
        super().save_checkpoint(out_dir, tmp_name, **options)
        tmp, final = osp.join(out_dir, tmp_name), osp.join(out_dir, filename)
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
