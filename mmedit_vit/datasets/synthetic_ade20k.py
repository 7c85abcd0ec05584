"""A small generated dataset in ADE20K's on-disk layout, for the demo and the tests.

Scenes are a background class with a few filled shapes of other classes; every class has its own
colour and texture, so the task is learnable in minutes on a CPU. Files are written exactly where
mmseg's ``ADE20KDataset`` reads them (``images/{training,validation}/*.jpg``,
``annotations/{training,validation}/*.png``) with ADE20K's label convention: 0 is "other"
(ignored after ``reduce_zero_label``), ``k`` is the k-th of the 150 classes.

    python -m mmedit_vit.datasets.synthetic_ade20k data/synthetic_ade20k --train 64 --val 16
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

# ADE20K label value -> (name, BGR colour); the values are those of the real dataset
CLASSES: Dict[int, Tuple[str, Tuple[int, int, int]]] = {
    1: ('wall', (200, 200, 200)),
    2: ('building', (40, 40, 160)),
    3: ('sky', (235, 190, 90)),
    4: ('floor', (60, 110, 150)),
    5: ('tree', (40, 140, 40)),
    7: ('road', (90, 90, 90)),
    10: ('grass', (60, 220, 120)),
    13: ('person', (160, 60, 200)),
}
SPLITS = {'training': 'ADE_train', 'validation': 'ADE_val'}


def _texture(rng: np.random.Generator, shape: Tuple[int, int], colour: Tuple[int, int, int],
             label: int) -> np.ndarray:
    """Class colour with a class-specific stripe frequency, brightness jitter and pixel noise."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = 12.0 * np.sin((xx + yy * (label % 3)) * (0.3 + 0.15 * (label % 4)) + rng.uniform(0, 6.3))
    img = np.asarray(colour, np.float64)[None, None] * rng.uniform(0.85, 1.15)
    img = img + stripes[..., None] + rng.normal(0, 8.0, (h, w, 3))
    return img


def render_scene(rng: np.random.Generator, size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """One image (uint8 BGR) and its label map (uint8, ADE20K values)."""
    h, w = size
    labels = list(CLASSES)
    background = int(rng.choice(labels))
    label_map = np.full((h, w), background, np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        label = int(rng.choice([v for v in labels if v != background]))
        mask = np.zeros((h, w), np.uint8)
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        ry, rx = int(rng.integers(h // 6, h // 3 + 1)), int(rng.integers(w // 6, w // 3 + 1))
        if rng.random() < 0.5:
            cv2.rectangle(mask, (cx - rx, cy - ry), (cx + rx, cy + ry), 1, thickness=-1)
        else:
            cv2.ellipse(mask, (cx, cy), (rx, ry), float(rng.uniform(0, 180)), 0, 360, 1, thickness=-1)
        label_map[mask > 0] = label
    img = np.zeros((h, w, 3), np.float64)
    for label in np.unique(label_map):
        region = label_map == label
        img[region] = _texture(rng, (h, w), CLASSES[int(label)][1], int(label))[region]
    # thin unlabelled seams between regions, as in ADE20K's annotations
    edges = cv2.morphologyEx(label_map, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    label_map[edges & (rng.random((h, w)) < 0.5)] = 0
    return np.clip(img, 0, 255).astype(np.uint8), label_map


def make_synthetic_ade20k(root: str, num_train: int = 64, num_val: int = 16,
                          size: Tuple[int, int] = (128, 160), seed: int = 0) -> str:
    """Writes the dataset under ``root`` (reused if it already holds the same settings)."""
    if num_train < 1 or num_val < 1:
        raise ValueError(f'need at least one image per split, got train={num_train}, val={num_val}')
    settings = dict(num_train=num_train, num_val=num_val, size=list(size), seed=seed, version=1)
    stamp = osp.join(root, 'synthetic.json')
    if osp.exists(stamp):
        with open(stamp) as f:
            if json.load(f) == settings:
                return root
    rng = np.random.default_rng(seed)
    for split, count in (('training', num_train), ('validation', num_val)):
        img_dir, ann_dir = osp.join(root, 'images', split), osp.join(root, 'annotations', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(count):
            img, label_map = render_scene(rng, size)
            name = f'{SPLITS[split]}_{i + 1:08d}'
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(ann_dir, name + '.png'), label_map)
    with open(stamp, 'w') as f:
        json.dump(settings, f)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description='Generate a small ADE20K-format dataset.')
    parser.add_argument('root', help='output folder (becomes the data_root)')
    parser.add_argument('--train', type=int, default=64, help='training images')
    parser.add_argument('--val', type=int, default=16, help='validation images')
    parser.add_argument('--size', type=int, nargs=2, default=(128, 160), metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    make_synthetic_ade20k(args.root, args.train, args.val, tuple(args.size), args.seed)
    print(f'synthetic ADE20K: {args.train} training and {args.val} validation images in {args.root}')


if __name__ == '__main__':
    main()
