"""Instance masks: decoded exactly at the image's size (as mmdet does), or refused with the image named."""
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import TRANSFORMS, init_default_scope
from pycocotools import mask as mask_utils

from mmedit_vit.apis.run_config import add_sample_checks
from mmedit_vit.datasets.transforms import BadSampleError

H, W = 6, 10


def drawn_mask() -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[1:4, 2:9] = 1
    mask[4, 0] = 1
    return mask


def results(segmentation) -> dict:
    return dict(img_path='img/7.jpg', img_id=7, ori_shape=(H, W), img_shape=(H, W), instances=[
        dict(bbox=[0, 0, 9, 5], bbox_label=0, ignore_flag=0, mask=segmentation)])


def build(type_name: str):
    init_default_scope('mmdet')
    return TRANSFORMS.build(dict(type=type_name, with_bbox=True, with_mask=True))


def rle(mask: np.ndarray) -> dict:
    encoded = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=list(encoded['size']), counts=encoded['counts'].decode())


@pytest.mark.parametrize('kind', ['rle', 'polygon'])
def test_masks_decode_exactly_as_mmdet(kind):
    segmentation = rle(drawn_mask()) if kind == 'rle' else [[2.0, 1.0, 9.0, 1.0, 9.0, 4.0, 2.0, 4.0]]
    ours = build('LoadDetAnnotations')(results(segmentation))['gt_masks'].masks
    reference = build('LoadAnnotations')(results(segmentation))['gt_masks'].masks
    assert ours.dtype == np.uint8 and set(np.unique(ours)) <= {0, 1}
    assert np.array_equal(ours, reference)
    if kind == 'rle':
        assert np.array_equal(ours[0], drawn_mask())


def test_transposed_rle_is_refused_where_mmdet_scrambles_it():
    transposed = rle(np.ascontiguousarray(drawn_mask().T))  # size [W, H]: same pixel count
    scrambled = build('LoadAnnotations')(results(transposed))['gt_masks'].masks[0]
    assert scrambled.shape == (H, W) and not np.array_equal(scrambled, drawn_mask())  # no error from mmdet
    with pytest.raises(BadSampleError) as info:
        build('LoadDetAnnotations')(results(transposed))
    for word in ('img/7.jpg', 'id 7', 'instance 0', f'size [{W}, {H}]', f'image is {H}x{W}'):
        assert word in str(info.value)


def test_rle_without_size_is_refused():
    with pytest.raises(BadSampleError, match="needs `counts` and `size`, got keys \\['counts'\\]"):
        build('LoadDetAnnotations')(results(dict(counts=rle(drawn_mask())['counts'])))


def test_image_alone_passes():
    out = build('LoadDetAnnotations')(dict(img_path='x.jpg', ori_shape=(H, W)))
    assert len(out['gt_masks']) == 0


def test_semantic_maps_go_to_the_segmentation_loader():
    with pytest.raises(ValueError, match='LoadSegLabels'):
        TRANSFORMS.build(dict(type='LoadDetAnnotations', with_seg=True))


def test_tools_replace_mmdet_loader_in_a_user_config():
    cfg = Config(dict(default_scope='mmdet', train_dataloader=dict(dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True, with_mask=True,
                                             poly2mask=False)]))))
    add_sample_checks(cfg)
    assert cfg.train_dataloader.dataset.pipeline[2] == dict(type='LoadDetAnnotations', with_bbox=True,
                                                            with_mask=True, poly2mask=False)
