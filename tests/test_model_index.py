"""model-index.yml and configs/<family>/metafile.yaml are what the configs and the paper tables give.

The fast test regenerates every field and counts the parameters and FLOPs of a sample of configs; the slow test
counts every config with the model index's shape counter, which other tests show equal to the full count.
"""
import os.path as osp

import pytest
import yaml

from conftest import ROOT
from mmedit_vit.analysis import paper_tables as paper
from mmedit_vit.apis.model_index import (
    FAMILIES,
    INDEX_FILE,
    PAPER_SOURCE,
    cached_counter,
    differences,
    metafile_path,
    paper_results,
    render,
    top_level_configs,
)

SAMPLE = ('configs/cls_edit_t_in1k.py', 'configs/segmenter_edit_t_ade20k.py', 'configs/upernet_cb_t_ade20k_40k.py')


def committed_models() -> dict:
    models = {}
    for family in FAMILIES:
        with open(osp.join(ROOT, metafile_path(family))) as f:
            for model in yaml.safe_load(f)['Models']:
                models[model['Config']] = model
    return models


def test_index_lists_every_top_level_config_once():
    with open(osp.join(ROOT, INDEX_FILE)) as f:
        assert yaml.safe_load(f)['Import'] == [metafile_path(f) for f in FAMILIES]
    models = committed_models()
    assert sorted(models) == top_level_configs() and len(models) > 150
    for config, model in models.items():
        assert osp.isfile(osp.join(ROOT, config)) and model['Name'] == osp.basename(config)[:-3]
        assert model['Weights'] is None and model['Metadata']['Parameters'] > 5e6
        assert all(r['Source'] == PAPER_SOURCE for r in model['Results'])


def test_metafiles_regenerate_identically_with_a_sample_counted():
    models, count = committed_models(), cached_counter()

    def counter(config):
        if config in SAMPLE:
            return count(config)
        meta = models[config]['Metadata']
        return meta['Parameters'], meta['FLOPs'], tuple(int(v) for v in meta['Input Size'].split('x'))
    assert differences(render(counter)) == []


def test_paper_numbers_come_from_the_paper_tables():
    models = committed_models()
    seg = models['configs/segmenter_edit_b_ade20k.py']['Results'][0]
    assert (seg['Table'], seg['Metrics']['mIoU'], seg['Metrics']['mIoU (ms+flip)']) == ('Table 5', 49.9, 51.5)
    assert paper.EDIT_TABLE5['Seg-B EDIT'] == (49.9, 51.5)
    upernet = models['configs/upernet_deit3_t_ade20k_40k.py']['Results'][0]
    assert upernet['Metrics'] == {'mIoU': paper.CB_TABLE6['ViT-Ti'][0]} and 'layer_scale_init=None' in upernet['Note']
    det = models['configs/maskrcnn_cb_t_coco.py']['Results'][0]
    assert list(det['Metrics'].values()) == list(paper.CB_TABLE7['ViT-Ti + CB'])
    assert models['configs/maskrcnn_cb_t_coco_ms-3x.py']['Results'] == []  # no such run in the papers
    edit_t = {r['Table']: r['Metrics'] for r in models['configs/cls_edit_t_in1k.py']['Results']}
    assert edit_t == {'Table 1': {'Params (M)': 5.82, 'FLOPs (G)': 1.42}, 'Table 3 (a)': {'Top 1 Accuracy': 75.5}}
    assert paper_results('configs/cls_gated_s_in100_value.py') == []
    assert models['configs/cls_edit_b_in21k-ft-in1k.py']['Metadata']['Training Data'] == ['ImageNet-21k',
                                                                                           'ImageNet-1k']


def test_counts_are_those_of_get_flops():
    """The sample's numbers equal ``tools/get_flops.py CONFIG``'s (the EDIT-T classifier: EDIT Table 1)."""
    from mmedit_vit.apis.get_flops import main
    meta = committed_models()['configs/cls_edit_t_in1k.py']['Metadata']
    result = main([osp.join(ROOT, 'configs/cls_edit_t_in1k.py')])
    assert (meta['Parameters'], meta['FLOPs'], meta['Input Size']) == (result['params'], result['flops'], '224x224')
    assert abs(meta['Parameters'] / 5.82e6 - 1) < 0.01 and abs(meta['FLOPs'] / 1.42e9 - 1) < 0.01


def test_vitdet_configs_are_listed_at_their_fixed_input_size():
    """The ViTDet detectors are counted on the 1024x1024 batch they train and test on (BatchFixedSizePad), as
    their own collection; the parameters are those of the built model."""
    from mmengine.config import Config

    from mmedit_vit.analysis.complexity import count_parameters
    from mmedit_vit.apis.config_complexity import build_config_model
    models = committed_models()
    vitdet = {c: m for c, m in models.items() if osp.basename(c).startswith('vitdet_maskrcnn_')}
    assert len(vitdet) == 14  # 5 variants x 2 sizes, and 4 [CLS]-in-windows sink-study configs
    for config, model in vitdet.items():
        assert model['In Collection'] == 'vitdet_maskrcnn' and model['Results'] == []
        assert model['Metadata']['Input Size'] == '1024x1024' and model['Metadata']['Training Data'] == ['COCO']
    meta = vitdet['configs/vitdet_maskrcnn_edit_s_coco.py']['Metadata']
    assert meta['Parameters'] == count_parameters(build_config_model(
        Config.fromfile(osp.join(ROOT, 'configs/vitdet_maskrcnn_edit_s_coco.py'))))


# ----------------------------------------------------------- every config counted, by the shape counter
def full_and_shape_counts(config: str, shape: tuple = None) -> tuple:
    from mmengine.config import Config

    from mmedit_vit.apis.config_complexity import ShapeCounter, count_config
    cfg = Config.fromfile(osp.join(ROOT, config))
    full, shapes = count_config(cfg, shape), ShapeCounter()(cfg, shape)
    return (full['params'], full['flops'], tuple(full['shape'])), (shapes['params'], shapes['flops'],
                                                                  tuple(shapes['shape']))


@pytest.mark.parametrize('config', SAMPLE + ('configs/cls_reg4_s_in100.py',))
def test_shape_counter_equals_the_full_count(config):
    """The counter of the model index (meta device) gives tools/get_flops.py's numbers: classifiers, Segmenter,
    UperNet."""
    full, shapes = full_and_shape_counts(config)
    assert shapes == full and full[1] > 1e9


@pytest.mark.slow
@pytest.mark.parametrize('config, shape', [
    ('configs/maskrcnn_edit_t_coco.py', None),
    # ViTDet at 512x512 rather than its 1024x1024 (a quarter of the tokens): a 32x32 grid padded to 42x42 windows,
    # the global blocks' relative-position tables resampled from 64 to 32
    ('configs/vitdet_maskrcnn_reg4_s_coco.py', (512, 512))])
def test_shape_counter_equals_the_full_count_for_detectors(config, shape):
    """Detectors: backbone and neck on the meta device, the heads counted for real on random maps of the neck's
    shapes (the proposals depend on values): the same total as running the whole model."""
    full, shapes = full_and_shape_counts(config, shape)
    assert shapes == full


@pytest.mark.slow
def test_metafiles_regenerate_identically_every_config_counted():
    """`python tools/model_index.py --check`: every config's parameters and FLOPs recounted (ViTDet rows
    included), the files equal to the committed ones."""
    import time
    start = time.time()
    assert differences(render(cached_counter())) == []
    print(f'every config counted in {time.time() - start:.0f} s')


def test_vitdet_table_of_the_docs_is_the_model_index():
    """docs/vitdet.md's parameter / FLOP table: the metafile's numbers (counted by the slow test above) and each
    backbone's parameters, counted here on the meta device."""
    import re

    from mmengine.config import Config

    from mmedit_vit.analysis.complexity import count_parameters
    from mmedit_vit.apis.config_complexity import build_on_meta
    models = committed_models()
    with open(osp.join(ROOT, 'docs', 'vitdet.md')) as f:
        rows = re.findall(r'^\| `(configs/vitdet_maskrcnn_[\w-]+\.py)` \| ([\d.]+)M \| ([\d.]+)M \| ([\d.]+) \|$',
                          f.read(), re.M)
    assert len(rows) == 14
    for config, params, backbone, flops in rows:
        meta = models[config]['Metadata']
        assert (params, flops) == (f"{meta['Parameters'] / 1e6:.2f}", f"{meta['FLOPs'] / 1e9:.1f}"), config
        model = build_on_meta(Config.fromfile(osp.join(ROOT, config)))
        assert backbone == f'{count_parameters(model.backbone) / 1e6:.2f}', config
