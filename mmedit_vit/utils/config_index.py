"""mmengine's index of an installed package's configs, read once per process instead of once per lookup.

For every ``_base_ = ['mmdet::...']`` a config names, mmengine parses the package's whole model index (every
``metafile.yml`` of mmdet: about 50 YAML files, a quarter of a second) to see whether the name is a model
config, before it falls back to the base-config folder. A Mask R-CNN config reaches four such bases, and
``tools/reproduce.py`` or the model index read dozens of configs. The index of an installed package does not
change while a process runs, so it is built once per package folder; every lookup answers as before (the same
entry, or the same ``ValueError`` for a name that is not a model config).
"""
import functools
import os.path as osp
import warnings
from typing import Dict


def cache_config_index() -> None:
    """Replaces ``mmengine.config.utils._get_cfg_metainfo`` by a lookup in an index built once per package."""
    try:
        from mmengine.config import utils
    except ImportError:  # mmengine absent: nothing reads configs
        return
    if getattr(utils._get_cfg_metainfo, 'reads_index_once', False):
        return

    @functools.lru_cache(maxsize=None)
    def configs_of(package_path: str) -> Dict[str, dict]:
        return _read_index(utils, package_path)

    def get_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
        configs = configs_of(package_path)
        if cfg_path not in configs:
            raise ValueError(f'Expected configs: {configs.keys()}, but got {cfg_path}')
        return configs[cfg_path]

    get_cfg_metainfo.reads_index_once = True
    get_cfg_metainfo.original = utils._get_cfg_metainfo
    utils._get_cfg_metainfo = get_cfg_metainfo


def _read_index(utils, package_path: str) -> Dict[str, dict]:
    """What mmengine's ``_get_cfg_metainfo`` reads: config name -> the first model entry that names it."""
    configs: Dict[str, dict] = {}
    for meta_path in utils.load(osp.join(package_path, '.mim', 'model-index.yml'))['Import']:
        for model_cfg in utils.load(osp.join(package_path, '.mim', meta_path))['Models']:
            if 'Config' not in model_cfg:
                warnings.warn(f'There is not `Config` define in {model_cfg}')
                continue
            configs.setdefault(model_cfg['Config'].partition('/')[-1], model_cfg)
    return configs
