"""Segmentation label files read exactly as written, and checked where they are decoded.

mmseg's ``LoadAnnotations`` casts every decoded label image to ``uint8``: a 16-bit label of 300 reaches
the loss as class 44, without an error. ``LoadSegLabels`` keeps every value of the file and refuses,
naming the file, a value that is not a class id of the dataset.

What a file means, per image mode:

- 1-bit, 8-bit grey (``1``, ``L``), 16-bit grey (``I;16``) and 32-bit integer (``I``): the pixel value is
  the label;
- palette (``P``): the palette index is the label (the colours are only for viewing);
- RGB, 8 or 16 bits per channel: accepted only when the three channels are equal (a grey label map saved
  as RGB); the label is that value. A colour-coded map (channels that differ) is refused, not mapped;
- an alpha channel (``LA``, ``RGBA``), floating-point or other modes: refused.

With ``reduce_zero_label`` (ADE20K), file value 0 ("other") and file value ``ignore_index`` are ignored
and a file value ``k`` in ``1..num_classes`` is class ``k - 1``; without it a file value is the class id
and ``ignore_index`` is ignored. Anything else stops the run.
"""
import io
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import LoadAnnotations as MMCVLoadAnnotations
from mmengine import fileio
from mmengine.registry import TRANSFORMS
from PIL import Image

from ...utils.arg_checks import check_bool, check_int
from .sample_checks import BadSampleError

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
GREY_MODES = ('1', 'L', 'P', 'I;16', 'I;16L', 'I;16B', 'I')
RGB_MODES = ('RGB',)


def _png_header(data: bytes) -> Optional[Tuple[int, int]]:
    """(bit depth, colour type) of a PNG's IHDR chunk; None for other formats."""
    if data[:8] != PNG_SIGNATURE or len(data) < 26:
        return None
    return data[24], data[25]


def decode_label_file(data: bytes, path: str) -> np.ndarray:
    """The label values of an image file, HxW, as stored (see the module docstring for the modes)."""
    header = _png_header(data)
    if header is not None and header[0] == 16 and header[1] in (2, 4, 6):  # Pillow reduces these to 8 bits
        if header[1] != 2:
            raise BadSampleError(f'label file {path} has an alpha channel (16-bit PNG colour type {header[1]}); '
                                 'a single-channel label PNG is expected, one class id per pixel')
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        mode = 'RGB (16-bit)'
    else:
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except (OSError, SyntaxError, ValueError) as err:
            raise BadSampleError(f'label file {path} cannot be read as an image ({err})') from None
        mode = image.mode
        if mode not in GREY_MODES + RGB_MODES:
            raise BadSampleError(
                f'label file {path} is a {mode!r} image; a single-channel label PNG is expected, one class id '
                "per pixel (modes '1', 'L', 'P', 'I;16', 'I'; RGB only with three equal channels)")
        array = np.asarray(image)
    if array.ndim == 3:
        if array.shape[2] != 3 or not (np.array_equal(array[..., 0], array[..., 1])
                                       and np.array_equal(array[..., 0], array[..., 2])):
            y, x = np.argwhere((array[..., 0] != array[..., 1]) | (array[..., 0] != array[..., 2]))[0]
            raise BadSampleError(
                f'label file {path} is a colour-coded {mode} image (pixel ({y}, {x}) is {array[y, x].tolist()}); '
                'a single-channel label PNG is expected, one class id per pixel. RGB label files are read only '
                'when their three channels are equal; convert the colours to class ids first')
        array = array[..., 0]
    if array.dtype == bool:
        array = array.astype(np.uint8)
    return array


def label_dtype(num_classes: int, ignore_index: int) -> np.dtype:
    """The smallest dtype mmcv's resize / rotate accept that holds every class id and ``ignore_index``."""
    low, high = min(0, ignore_index), max(num_classes - 1, ignore_index)
    for dtype in (np.uint8, np.uint16, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    raise ValueError(f'num_classes={num_classes} and ignore_index={ignore_index} do not fit in int32')


@TRANSFORMS.register_module()
class LoadSegLabels(MMCVLoadAnnotations):
    """mmseg's ``LoadAnnotations`` (``gt_seg_map``, ``seg_fields``, ``reduce_zero_label``, ``label_map``)
    with every value of the file kept and checked against the classes as it is decoded.

    Also refuses a label map whose size differs from its image. A sample without ``seg_map_path`` (an image
    given alone, as ``mmseg.apis.inference_model`` passes it) is left unchanged.

    Args:
        num_classes: classes of the dataset (after ``label_map``); class ids are ``0 .. num_classes - 1``.
        ignore_index: the label the loss and the metric skip (mmseg: 255).
        reduce_zero_label: file value 0 is ignored and ``k`` is class ``k - 1``; None takes the dataset's
            setting (``results['reduce_zero_label']``).
        backend_args: mmengine file backend arguments.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255, reduce_zero_label: Optional[bool] = None,
                 backend_args: Optional[dict] = None) -> None:
        check_int('num_classes', num_classes, min=1)
        check_int('ignore_index', ignore_index)
        check_bool('reduce_zero_label', reduce_zero_label, optional=True)
        super().__init__(with_bbox=False, with_label=False, with_seg=True, with_keypoints=False,
                         backend_args=backend_args)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reduce_zero_label = reduce_zero_label
        self.dtype = label_dtype(num_classes, ignore_index)

    def transform(self, results: dict) -> dict:
        if results.get('seg_map_path') is None:
            return results
        return super().transform(results)

    def _reduce_zero_label(self, results: dict) -> bool:
        dataset = results.get('reduce_zero_label')
        if self.reduce_zero_label is None:
            return bool(dataset)
        if dataset is not None and dataset != self.reduce_zero_label:
            raise ValueError(f'LoadSegLabels reduce_zero_label={self.reduce_zero_label} but the dataset has '
                             f'reduce_zero_label={dataset}; set it on the dataset only')
        return self.reduce_zero_label

    def _allowed(self, reduce: bool, num_ids: int) -> str:
        if reduce:
            return (f'1..{num_ids} (class ids 0..{num_ids - 1} after reduce_zero_label) and 0 or '
                    f'{self.ignore_index} (ignored)')
        return f'0..{num_ids - 1} (the class ids) and {self.ignore_index} (ignore_index)'

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        raw = decode_label_file(fileio.get(path, backend_args=self.backend_args), path)
        image_shape = results.get('ori_shape') or (results['img'].shape[:2] if 'img' in results else None)
        if image_shape is not None and raw.shape != tuple(image_shape[:2]):
            raise BadSampleError(f'label file {path} is {raw.shape[0]}x{raw.shape[1]} (HxW) but its image '
                                 f'{results.get("img_path")} is {image_shape[0]}x{image_shape[1]}; they must match')
        reduce = self._reduce_zero_label(results)
        label_map = results.get('label_map')
        num_ids = max(label_map) + 1 if label_map else self.num_classes  # ids before the dataset's label_map
        values = raw.astype(np.int32 if raw.dtype.itemsize <= 2 else np.int64)  # room for k - 1 and the id
        ignored = values == self.ignore_index
        if reduce:
            ignored |= values == 0
            values -= 1
        bad = ~ignored & ((values < 0) | (values >= num_ids))
        if bad.any():
            found = np.unique(raw[bad])
            raise BadSampleError(
                f'label file {path} has value(s) {found[:10].tolist()}{" ..." if found.size > 10 else ""} that '
                f'are not class ids of the dataset: allowed are {self._allowed(reduce, num_ids)}')
        values[ignored] = self.ignore_index
        if label_map:
            mapped = values.copy()
            for old_id, new_id in label_map.items():
                mapped[values == old_id] = new_id
            values = mapped
        results['gt_seg_map'] = values.astype(self.dtype)
        results.setdefault('seg_fields', []).append('gt_seg_map')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, ignore_index={self.ignore_index}, '
                f'reduce_zero_label={self.reduce_zero_label}, backend_args={self.backend_args})')
