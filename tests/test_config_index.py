"""mmengine's index of mmdet's / mmseg's configs is read once per process, and answers as mmengine's own lookup."""
import pytest
from mmengine.config import Config
from mmengine.config import utils as config_utils
from mmengine.utils import get_installed_path

from mmedit_vit.utils.config_index import cache_config_index

CACHED = config_utils._get_cfg_metainfo  # installed when mmedit_vit is imported
ORIGINAL = CACHED.original


def test_importing_the_project_installs_the_cached_lookup():
    assert CACHED.reads_index_once and ORIGINAL.__module__ == 'mmengine.config.utils'
    cache_config_index()  # a second call keeps the one installed
    assert config_utils._get_cfg_metainfo is CACHED


@pytest.mark.parametrize('package,name', [('mmdet', 'retinanet/retinanet_r18_fpn_1x_coco.py'),
                                          ('mmseg', 'segmenter/segmenter_vit-t_mask_8xb1-160k_ade20k-512x512.py')])
def test_same_entry_and_same_refusal_as_mmengine(package, name):
    path = get_installed_path(package)
    assert CACHED(path, name) == ORIGINAL(path, name) and CACHED(path, name)['Config'].endswith(name)
    for lookup in (CACHED, ORIGINAL):
        with pytest.raises(ValueError, match='but got _base_/default_runtime'):
            lookup(path, '_base_/default_runtime')


def test_the_index_is_read_once(monkeypatch):
    monkeypatch.setattr(config_utils, '_get_cfg_metainfo', ORIGINAL)
    cache_config_index()  # a fresh cache
    reads, load = [], config_utils.load
    monkeypatch.setattr(config_utils, 'load', lambda file, *a, **k: reads.append(file) or load(file, *a, **k))
    path = get_installed_path('mmdet')
    for name in ('retinanet/retinanet_r18_fpn_1x_coco.py', 'retinanet/retinanet_r18_fpn_1x_coco.py', '_base_/x'):
        try:
            config_utils._get_cfg_metainfo(path, name)
        except ValueError:  # a base config: mmengine then reads it from the package's config folder
            pass
    assert len(reads) == len(set(reads)) > 10  # the model index and every metafile once, for three lookups


def test_a_config_with_mmdet_bases_reads_the_same(monkeypatch):
    """The project's Mask R-CNN config (mmdet:: bases) resolves to the same config either way."""
    cached = Config.fromfile('configs/maskrcnn_edit_t_coco.py').to_dict()
    monkeypatch.setattr(config_utils, '_get_cfg_metainfo', ORIGINAL)
    assert Config.fromfile('configs/maskrcnn_edit_t_coco.py').to_dict() == cached
