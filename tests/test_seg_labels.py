"""Label files are read as written (every PNG mode), checked against the classes where they are decoded, and
every shipped segmentation config reads them that way."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import TRANSFORMS, init_default_scope
from PIL import Image

from mmedit_vit.apis import load_run_config
from mmedit_vit.apis.run_config import add_sample_checks
from mmedit_vit.datasets.transforms import BadSampleError, LoadSegLabels

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VALUES = np.array([[0, 1, 2, 3], [7, 100, 149, 255]], dtype=np.uint8)


def load(path, num_classes=256, reduce_zero_label=False, **kwargs):
    """``path`` through the transform as a pipeline builds it (mmseg scope, from its config dict)."""
    init_default_scope('mmseg')
    transform = TRANSFORMS.build(dict(type='LoadSegLabels', num_classes=num_classes, **kwargs))
    results = transform(dict(seg_map_path=str(path), seg_fields=[], reduce_zero_label=reduce_zero_label))
    assert results['seg_fields'] == ['gt_seg_map']
    return results['gt_seg_map']


def palette_image(values: np.ndarray) -> Image.Image:
    image = Image.new('P', values.shape[::-1])
    image.putdata(values.ravel().tolist())
    image.putpalette([(i * 37) % 256 for i in range(768)])  # colours unrelated to the indices
    return image


@pytest.mark.parametrize('mode', ['L', 'P', 'RGB', 'I;16', '1'])
def test_each_mode_round_trips_exactly(mode, tmp_path):
    values = (VALUES > 100).astype(np.uint8) if mode == '1' else VALUES
    if mode == 'L':
        image = Image.fromarray(values, mode='L')
    elif mode == 'P':
        image = palette_image(values)
    elif mode == 'RGB':
        image = Image.fromarray(np.stack([values] * 3, axis=-1))
    elif mode == 'I;16':
        image = Image.fromarray(values.astype(np.uint16))
    else:
        image = Image.fromarray(values.astype(bool))
    path = tmp_path / 'label.png'
    image.save(path)
    assert Image.open(path).mode == mode
    out = load(path)
    assert out.dtype == np.uint8 and np.array_equal(out, values)


def test_16_bit_values_above_255_are_kept(tmp_path):
    values = np.array([[0, 255, 256, 300], [1000, 44, 65535 - 1, 5]], dtype=np.uint16)
    path = tmp_path / 'label16.png'
    Image.fromarray(values).save(path)
    out = load(path, num_classes=65535, ignore_index=65535)
    assert out.dtype == np.uint16 and np.array_equal(out, values)
    assert out[0, 3] == 300  # mmseg's uint8 cast makes it 44


def test_16_bit_rgb_with_equal_channels(tmp_path):
    values = np.array([[0, 300], [1000, 7]], dtype=np.uint16)
    path = str(tmp_path / 'rgb16.png')
    cv2.imwrite(path, np.stack([values] * 3, axis=-1))
    assert Image.open(path).mode == 'RGB'  # Pillow would see only the high bytes
    assert np.array_equal(load(path, num_classes=1001), values)


def test_16_bit_value_300_outside_the_classes_is_refused_with_file_value_and_range(tmp_path):
    path = tmp_path / 'ADE_train_1.png'
    Image.fromarray(np.array([[1, 300], [2, 3]], dtype=np.uint16)).save(path)
    with pytest.raises(BadSampleError) as info:
        load(path, num_classes=150, reduce_zero_label=True)
    message = str(info.value)
    for word in (str(path), '[300]', '1..150', 'class ids 0..149', '0 or 255 (ignored)'):
        assert word in message, message


def test_values_outside_without_reduce_zero_label(tmp_path):
    path = tmp_path / 'l.png'
    Image.fromarray(np.array([[0, 150, 151, 255]], dtype=np.uint8)).save(path)
    with pytest.raises(BadSampleError, match=r"value\(s\) \[150, 151\].*0\.\.149 \(the class ids\) and 255"):
        load(path, num_classes=150)


def test_reduce_zero_label_as_mmseg(tmp_path):
    """0 and 255 ignored, k -> k - 1: mmseg's LoadAnnotations gives the same map for an 8-bit file."""
    from mmseg.datasets.transforms import LoadAnnotations
    path = tmp_path / 'ade.png'
    Image.fromarray(np.array([[0, 1, 2, 150], [255, 75, 0, 1]], dtype=np.uint8)).save(path)
    out = load(path, num_classes=150, reduce_zero_label=True)
    assert np.array_equal(out, [[255, 0, 1, 149], [255, 74, 255, 0]])
    reference = LoadAnnotations()(dict(seg_map_path=str(path), seg_fields=[], reduce_zero_label=True))
    assert np.array_equal(out, reference['gt_seg_map']) and out.dtype == reference['gt_seg_map'].dtype


def test_reduce_zero_label_does_not_turn_256_into_ignore(tmp_path):
    path = tmp_path / 'ade16.png'
    Image.fromarray(np.array([[0, 1, 256]], dtype=np.uint16)).save(path)
    with pytest.raises(BadSampleError, match=r'\[256\]'):
        load(path, num_classes=150, reduce_zero_label=True)


def test_ignore_index_255_is_allowed_and_other_ignore_index(tmp_path):
    path = tmp_path / 'l.png'
    Image.fromarray(np.array([[0, 3, 255]], dtype=np.uint8)).save(path)
    assert np.array_equal(load(path, num_classes=4), [[0, 3, 255]])
    with pytest.raises(BadSampleError, match=r'\[255\].*0\.\.3 \(the class ids\) and 0 \(ignore_index\)'):
        load(path, num_classes=4, ignore_index=0)


def test_label_map_applied_after_the_check(tmp_path):
    path = tmp_path / 'l.png'
    Image.fromarray(np.array([[0, 1, 2, 255]], dtype=np.uint8)).save(path)
    transform = LoadSegLabels(num_classes=2)
    out = transform(dict(seg_map_path=str(path), seg_fields=[], reduce_zero_label=False,
                         label_map={0: 255, 1: 0, 2: 1}))['gt_seg_map']
    assert np.array_equal(out, [[255, 0, 1, 255]])
    Image.fromarray(np.array([[3]], dtype=np.uint8)).save(path)  # 3 is no old class id either
    with pytest.raises(BadSampleError, match=r'\[3\]'):
        transform(dict(seg_map_path=str(path), seg_fields=[], label_map={0: 255, 1: 0, 2: 1}))


@pytest.mark.parametrize('make,words', [
    (lambda: Image.fromarray(np.array([[[1, 2, 3], [0, 0, 0]]], dtype=np.uint8)),
     ['colour-coded RGB', 'pixel (0, 0) is [1, 2, 3]', 'single-channel label PNG']),
    (lambda: Image.fromarray(np.zeros((2, 2, 4), np.uint8)), ["'RGBA'", 'single-channel label PNG']),
    (lambda: Image.fromarray(np.zeros((2, 2, 2), np.uint8), mode='LA'), ["'LA'"]),
])
def test_colour_and_alpha_files_are_refused(make, words, tmp_path):
    path = tmp_path / 'bad.png'
    make().save(path)
    with pytest.raises(BadSampleError) as info:
        load(path)
    for word in [str(path)] + words:
        assert word in str(info.value)


def test_float_tiff_is_refused(tmp_path):
    path = tmp_path / 'f.tif'
    Image.fromarray(np.zeros((2, 2), np.float32)).save(path)
    with pytest.raises(BadSampleError, match="'F' image"):
        load(path)


def test_size_must_match_the_image(tmp_path):
    path = tmp_path / 'l.png'
    Image.fromarray(np.zeros((2, 3), np.uint8)).save(path)
    transform = LoadSegLabels(num_classes=4)
    with pytest.raises(BadSampleError, match='2x3 .* is 4x3'):
        transform(dict(seg_map_path=str(path), seg_fields=[], img_path='x.jpg', ori_shape=(4, 3)))


def test_image_alone_passes_through():
    """mmseg.apis.inference_model feeds an image with no label file through the test pipeline."""
    assert LoadSegLabels(num_classes=4)(dict(img_path='x.jpg')) == dict(img_path='x.jpg')


def test_dataset_and_loader_must_agree_on_reduce_zero_label(tmp_path):
    path = tmp_path / 'l.png'
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(path)
    with pytest.raises(ValueError, match='reduce_zero_label=False but the dataset has reduce_zero_label=True'):
        LoadSegLabels(num_classes=4, reduce_zero_label=False)(
            dict(seg_map_path=str(path), seg_fields=[], reduce_zero_label=True))


# ---------------------------------------------------------------------------------- shipped configs
SEG_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'segmenter_*.py')) + glob.glob(
    osp.join(ROOT, 'configs', 'upernet_*.py')) + glob.glob(osp.join(ROOT, 'configs', 'demo', 'segmenter_*.py')))
DET_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'maskrcnn_*.py')) + glob.glob(
    osp.join(ROOT, 'configs', 'demo', 'maskrcnn_*.py')))


FAST = ('segmenter_edit_t_ade20k.py', 'upernet_gated_t_ade20k_40k.py', 'segmenter_edit_t_synthetic_ade20k.py',
        'maskrcnn_edit_t_coco.py')


def configs(paths):
    """Every config; those not in FAST in the slow tier (each takes a second or two to read)."""
    return [pytest.param(p, id=osp.basename(p), marks=() if osp.basename(p) in FAST else pytest.mark.slow)
            for p in paths]


def pipeline_steps(cfg):
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        yield split, cfg[split].dataset.pipeline
    yield 'tta_pipeline', cfg.get('tta_pipeline') or []


def flat(pipeline):
    for step in pipeline:
        if step.get('type') == 'TestTimeAug':
            for stage in step['transforms']:
                yield from stage
        else:
            yield step


def test_config_lists_are_complete():
    assert len(SEG_CONFIGS) == 46 and len(DET_CONFIGS) == 31


@pytest.mark.parametrize('path', configs(SEG_CONFIGS))
def test_every_segmentation_config_reads_labels_with_the_strict_loader(path):
    """The config file itself (not only the tools) names LoadSegLabels, with the decode head's classes."""
    cfg = Config.fromfile(path)
    head = cfg.model.decode_head
    for split, pipeline in pipeline_steps(cfg):
        types = [step['type'] for step in flat(pipeline)]
        assert 'LoadAnnotations' not in types, (split, types)
        loaders = [step for step in flat(pipeline) if step['type'] == 'LoadSegLabels']
        assert len(loaders) == 1, (split, types)
        assert loaders[0]['num_classes'] == head.num_classes == 150
        assert loaders[0].get('ignore_index', 255) == head.get('ignore_index', 255)
        assert loaders[0]['reduce_zero_label'] is True


@pytest.mark.parametrize('path', configs(DET_CONFIGS))
def test_every_detection_config_reads_masks_with_the_strict_loader(path):
    """Masks come from the COCO json (polygons / RLE) through LoadDetAnnotations; no label image is decoded."""
    cfg = Config.fromfile(path)
    for split, pipeline in pipeline_steps(cfg):
        loaders = [step for step in flat(pipeline) if 'Annotations' in step['type']]
        if split != 'tta_pipeline':
            assert [step['type'] for step in loaders] == ['LoadDetAnnotations'], split
            assert loaders[0]['with_mask'] is True and not loaders[0].get('with_seg', False)


def seg_user_config(**loader):
    return Config(dict(
        default_scope='mmseg', model=dict(decode_head=dict(num_classes=19, ignore_index=255)),
        train_dataloader=dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile'), dict(
            type='LoadAnnotations', **loader)])),
        tta_pipeline=[dict(type='LoadImageFromFile'), dict(type='TestTimeAug', transforms=[
            [dict(type='RandomFlip', prob=0.)], [dict(type='LoadAnnotations')]])]))


def test_tools_replace_mmseg_loader_in_a_user_config():
    cfg = seg_user_config(reduce_zero_label=True)
    add_sample_checks(cfg)
    assert cfg.train_dataloader.dataset.pipeline == [
        dict(type='CheckImageFile'), dict(type='LoadImageFromFile'),
        dict(type='LoadSegLabels', num_classes=19, ignore_index=255, reduce_zero_label=True)]
    assert cfg.tta_pipeline[2]['transforms'][1] == [dict(type='LoadSegLabels', num_classes=19, ignore_index=255)]
    pipeline = list(cfg.train_dataloader.dataset.pipeline)
    add_sample_checks(cfg)  # idempotent
    assert cfg.train_dataloader.dataset.pipeline == pipeline


def test_loader_disagreeing_with_the_head_is_refused():
    cfg = seg_user_config()
    cfg.train_dataloader.dataset.pipeline[1] = dict(type='LoadSegLabels', num_classes=150)
    with pytest.raises(ValueError, match='LoadSegLabels\\(num_classes=150.*num_classes=19'):
        add_sample_checks(cfg)


def test_demo_pipelines_after_the_tools(tmp_path):
    init_default_scope('mmseg')
    cfg = load_run_config(osp.join(ROOT, 'configs', 'demo', 'segmenter_edit_t_synthetic_ade20k.py'))
    for split, pipeline in pipeline_steps(cfg):
        if split != 'tta_pipeline':
            assert [s['type'] for s in pipeline][:2] == ['CheckImageFile', 'LoadImageFromFile'], split
