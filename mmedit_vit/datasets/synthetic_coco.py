"""A small generated instance-segmentation dataset in COCO's on-disk layout, for the demo and the tests.

Each image holds a few non-overlapping objects on a noisy background; every class has its own shape
and colour, so detection and masks are learnable in minutes on a CPU. Files are written exactly
where mmdet's ``CocoDataset`` reads COCO (``train2017/``, ``val2017/``,
``annotations/instances_{train,val}2017.json``), with polygon masks, boxes, areas and ``iscrowd``.

    python -m mmedit_vit.datasets.synthetic_coco data/synthetic_coco --train 64 --val 16
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

# category id -> (name, BGR colour); ids start at 1 as in COCO
CATEGORIES: Dict[int, Tuple[str, Tuple[int, int, int]]] = {
    1: ('square', (40, 40, 210)),
    2: ('disk', (40, 190, 40)),
    3: ('triangle', (210, 90, 30)),
}
CLASSES = tuple(name for name, _ in CATEGORIES.values())
SPLITS = ('train2017', 'val2017')


def _outline(rng: np.random.Generator, category: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """Polygon (K, 2) of one object: a rotated square, a 24-gon disk or a rotated triangle."""
    angle = rng.uniform(0, 2 * np.pi)
    if category == 1:
        corners = angle + np.pi / 4 + np.arange(4) * np.pi / 2
    elif category == 2:
        corners = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    else:
        corners = angle + np.arange(3) * 2 * np.pi / 3
    return np.stack([cx + radius * np.cos(corners), cy + radius * np.sin(corners)], axis=1)


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def render_image(rng: np.random.Generator, size: Tuple[int, int],
                 max_objects: int = 3) -> Tuple[np.ndarray, List[dict]]:
    """One image (uint8 BGR) and its objects as COCO annotation dicts (without ids)."""
    h, w = size
    grey = rng.uniform(90, 170)
    img = np.full((h, w, 3), grey) + rng.normal(0, 10.0, (h, w, 3))
    objects: List[dict] = []
    taken: List[Tuple[float, float, float]] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):  # place without overlap so each mask is exactly its polygon
            radius = rng.uniform(0.1, 0.22) * min(h, w)
            cx, cy = rng.uniform(radius, w - radius), rng.uniform(radius, h - radius)
            if all(np.hypot(cx - x, cy - y) > radius + r + 2 for x, y, r in taken):
                break
        else:
            continue
        taken.append((cx, cy, radius))
        category = int(rng.choice(list(CATEGORIES)))
        points = _outline(rng, category, cx, cy, radius)
        colour = np.asarray(CATEGORIES[category][1], np.float64) * rng.uniform(0.8, 1.2)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
        img[mask > 0] = colour + rng.normal(0, 6.0, (int(mask.sum()), 3))
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        objects.append(dict(
            category_id=category,
            segmentation=[[round(float(v), 2) for v in points.reshape(-1)]],
            bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
            area=round(_polygon_area(points), 2),
            iscrowd=0))
    return np.clip(img, 0, 255).astype(np.uint8), objects


def make_synthetic_coco(root: str, num_train: int = 64, num_val: int = 16, size: Tuple[int, int] = (160, 160),
                        max_objects: int = 3, seed: int = 0) -> str:
    """Writes the dataset under ``root`` (reused if it already holds the same settings); returns root."""
    if num_train < 1 or num_val < 1:
        raise ValueError(f'need at least one image per split, got train={num_train}, val={num_val}')
    if min(size) < 32:
        raise ValueError(f'size={tuple(size)} is too small: each side must be at least 32 pixels')
    if max_objects < 1:
        raise ValueError(f'max_objects={max_objects} must be at least 1')
    settings = dict(num_train=num_train, num_val=num_val, size=list(size), max_objects=max_objects, seed=seed,
                    version=1)
    stamp = osp.join(root, 'synthetic.json')
    if osp.exists(stamp):
        with open(stamp) as f:
            if json.load(f) == settings:
                return root
    rng = np.random.default_rng(seed)
    categories = [dict(id=k, name=name, supercategory='shape') for k, (name, _) in CATEGORIES.items()]
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, count in zip(SPLITS, (num_train, num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for i in range(count):
            img, objects = render_image(rng, size, max_objects)
            image_id = i + 1
            file_name = f'{image_id:012d}.jpg'
            cv2.imwrite(osp.join(root, split, file_name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            images.append(dict(id=image_id, file_name=file_name, height=size[0], width=size[1]))
            for obj in objects:
                annotations.append(dict(obj, id=len(annotations) + 1, image_id=image_id))
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    with open(stamp, 'w') as f:
        json.dump(settings, f)
    return root


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description='Generate a small COCO-format instance-segmentation dataset.')
    parser.add_argument('root', help='output folder (becomes the data_root)')
    parser.add_argument('--train', type=int, default=64, help='training images')
    parser.add_argument('--val', type=int, default=16, help='validation images')
    parser.add_argument('--size', type=int, nargs=2, default=(160, 160), metavar=('H', 'W'))
    parser.add_argument('--max-objects', type=int, default=3, help='objects per image (at most)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    make_synthetic_coco(args.root, args.train, args.val, tuple(args.size), args.max_objects, args.seed)
    print(f'synthetic COCO: {args.train} training and {args.val} validation images in {args.root}')


if __name__ == '__main__':
    main()
