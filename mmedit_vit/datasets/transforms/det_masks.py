"""Instance masks decoded at their image's size, or refused with the image named.

mmdet's ``LoadAnnotations`` decodes a COCO RLE mask at the size the RLE states and reshapes the stack to the
image's size: an RLE of the transposed size (W x H) comes out scrambled with no error, another size fails in
numpy without naming the image, and an RLE dict without ``counts`` or ``size`` turns the instance into an
ignored one silently. Polygons are drawn at the image's size by pycocotools and need no check.
"""
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from ...utils.arg_checks import check_bool
from .sample_checks import BadSampleError


def check_rle_sizes(results: dict) -> None:
    """Every RLE mask of ``results['instances']`` has ``counts`` and the image's (height, width) as ``size``."""
    height, width = results['ori_shape'][:2]
    for i, instance in enumerate(results.get('instances', [])):
        mask = instance.get('mask')
        if not isinstance(mask, dict):
            continue
        where = f'image {results.get("img_path")} (id {results.get("img_id")}), instance {i}'
        if mask.get('counts') is None or mask.get('size') is None:
            raise BadSampleError(f'{where}: the RLE mask needs `counts` and `size`, got keys {sorted(mask)}')
        if [int(s) for s in mask['size']] != [height, width]:
            raise BadSampleError(f'{where}: the RLE mask has size {list(mask["size"])} (HxW) but the image is '
                                 f'{height}x{width}; they must match')


@TRANSFORMS.register_module()
class LoadDetAnnotations(BaseTransform):
    """mmdet's ``LoadAnnotations`` (boxes, labels, masks; its other arguments passed on) after
    ``check_rle_sizes``. mmdet is imported when the transform is built, not with the package."""

    def __init__(self, with_bbox: bool = True, with_label: bool = True, with_mask: bool = False,
                 poly2mask: bool = True, **kwargs) -> None:
        for name, flag in (('with_bbox', with_bbox), ('with_label', with_label), ('with_mask', with_mask),
                           ('poly2mask', poly2mask)):
            check_bool(name, flag)
        if kwargs.get('with_seg'):
            raise ValueError('LoadDetAnnotations loads boxes and instance masks; read semantic label maps with '
                             'LoadSegLabels')
        from mmdet.datasets.transforms import LoadAnnotations
        self.with_mask = with_mask
        self.loader = LoadAnnotations(with_bbox=with_bbox, with_label=with_label, with_mask=with_mask,
                                      poly2mask=poly2mask, **kwargs)

    def transform(self, results: dict) -> dict:
        if self.with_mask:
            check_rle_sizes(results)
        return self.loader(results)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.loader!r})'
